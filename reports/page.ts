/**
 * Paging of list answers: every report returns one page (`limit` items from `offset`) of a list whose full
 * length the engine counts, so an answer always says how much it left out (`total`, `truncated`).
 */

export const DEFAULT_LIMIT = 1_000;
/** The largest page a request may ask for: bounds the rows the engine returns and JS renders. */
export const MAX_LIMIT = 100_000;
/** The largest offset accepted (a page beyond any realistic list). */
export const MAX_OFFSET = 10_000_000;

export interface PageRequest {
  limit?: number;
  offset?: number;
}

export interface Page {
  limit: number;
  offset: number;
}

/** What every list answer carries about its page. */
export interface ListInfo {
  /** Items in the whole list (all pages). */
  total: number;
  /** The answer holds fewer items than `total`. */
  truncated: boolean;
  limit: number;
  offset: number;
}

export function pageOf(req: PageRequest = {}): Page {
  const limit = Math.min(Math.max(1, Math.floor(req.limit ?? DEFAULT_LIMIT)), MAX_LIMIT);
  const offset = Math.min(Math.max(0, Math.floor(req.offset ?? 0)), MAX_OFFSET);
  return { limit, offset };
}

export function listInfo(page: Page, returned: number, total: number): ListInfo {
  return { total, truncated: returned < total, limit: page.limit, offset: page.offset };
}

/** `"1000 of 52318 destinations (from #2001)"` for YAML and table headers. */
export function nOfM(info: ListInfo, returned: number, what: string): string {
  const from = info.offset > 0 ? ` (from #${info.offset + 1})` : '';
  const more = info.truncated ? '; use limit and offset (--limit, --offset) for the rest' : '';
  return `${returned} of ${info.total} ${what}${from}${more}`;
}

/** The page of an in-memory list (for lists that exist whole only after JS grouping, e.g. suggestions). */
export function slicePage<T>(items: readonly T[], page: Page): T[] {
  return items.slice(page.offset, page.offset + page.limit);
}
