/** ClickHouse prints DateTime64 as `2026-11-01 00:00:00.131` (UTC here); reports speak ISO 8601. */
export function isoTime(text: string): string {
  return /^\d{4}-\d{2}-\d{2} /.test(text) ? `${text.replace(' ', 'T')}Z` : text;
}
