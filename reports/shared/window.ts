/**
 * The time window of a report: `since`/`until` as durations back from now (`24h`, `7d`) or ISO times;
 * `since` may also be `all` (everything stored, e.g. a file of last month's logs) and `until` `now`.
 */

export interface ReportWindow {
  sinceMs: number;
  untilMs: number;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export class WindowError extends Error {
  override name = 'WindowError';
}

/** `24h` → ms; an ISO time → epoch ms; anything else is an error naming the value. */
function pointInTime(text: string, now: number, what: string): number {
  if (what === 'since' && text.trim() === 'all') return 0;
  if (what === 'until' && text.trim() === 'now') return now + 1;
  const duration = /^(\d+)([smhdw])$/.exec(text.trim());
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = Date.parse(text);
    if (!Number.isNaN(t)) return t;
  }
  throw new WindowError(
    `${what} must be a duration like 30m, 24h, 7d${what === 'since' ? ', all' : ''} or an ISO time like 2026-11-01T12:00Z, not ${JSON.stringify(text)}`,
  );
}

export function parseWindow(
  since: string | undefined,
  until: string | undefined,
  now = Date.now(),
): ReportWindow {
  const sinceMs = pointInTime(since ?? '24h', now, 'since');
  const untilMs = until ? pointInTime(until, now, 'until') : now + 1;
  if (sinceMs >= untilMs) {
    throw new WindowError(
      `since (${new Date(sinceMs).toISOString()}) must be before until (${new Date(untilMs).toISOString()})`,
    );
  }
  return { sinceMs, untilMs };
}

/** The SQL condition for a window, with the bound parameters it needs. */
export const WINDOW_SQL =
  'start_time >= fromUnixTimestamp64Milli({since_ms:Int64}) AND start_time < fromUnixTimestamp64Milli({until_ms:Int64})';

export function windowParams(w: ReportWindow): { since_ms: number; until_ms: number } {
  return { since_ms: Math.floor(w.sinceMs), until_ms: Math.ceil(w.untilMs) };
}
