/** The two ways user SQL fails that are the caller's doing, not the server's. */

/** The query checker refused a construct; `code` names the rule, `reason` says what is not allowed, in one line. */
export class QueryRefusedError extends Error {
  override name = 'QueryRefusedError';
  constructor(
    readonly code: RefusalCode,
    readonly reason: string,
  ) {
    super(reason);
  }
}

export type RefusalCode =
  | 'not-a-select'
  | 'output-clause'
  | 'settings'
  | 'table-not-allowed'
  | 'table-function'
  | 'function-not-allowed'
  | 'construct-not-allowed'
  | 'unverifiable';

/**
 * The engine rejected the user's SQL: a syntax error, an unknown column or function, a type error, throwIf, a limit
 * exceeded. `message` is the engine's own message, one line, without the code prefix and version suffix.
 */
export class UserQueryError extends Error {
  override name = 'UserQueryError';
  constructor(
    message: string,
    /** The ClickHouse error code (62 syntax, 47 unknown identifier, 159 timeout …), when known. */
    readonly engineCode: number | undefined,
  ) {
    super(message);
  }
}

/**
 * ClickHouse error codes that say the server, not the query, is in trouble; anything else the engine says about a
 * user's query is the user's to fix.
 */
export const SERVER_FAULT_CODES: ReadonlySet<number> = new Set([
  1, // UNSUPPORTED_METHOD
  49, // LOGICAL_ERROR
  76, // CANNOT_OPEN_FILE
  173, // CANNOT_ALLOCATE_MEMORY
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  210, // NETWORK_ERROR
  236, // ABORTED
  1001, // STD_EXCEPTION
]);

/** "Code: 62. DB::Exception: Code: 62. DB::Exception: Syntax error … (SYNTAX_ERROR) (version 26.7)" → parts. */
export function engineErrorOf(message: string): { code: number | undefined; text: string } | undefined {
  const m = /Code: (\d+)[.,]/.exec(message);
  if (!m && !message.includes('DB::Exception')) return undefined;
  let text = message.split('\n')[0]!;
  // chDB repeats the prefix; old servers write "e.displayText() = DB::Exception: …".
  text = text.replace(/^(?:\s*Code: \d+[.,]\s*(?:e\.displayText\(\) = )?DB::Exception:\s*)+/, '');
  text = text
    .replace(/,?\s*e\.what\(\) = .*$/, '')
    .replace(/\s*\(version [^)]*\)\.?/g, '')
    .replace(/\s*\([A-Z][A-Z0-9_]{2,}\)\.?\s*$/, '')
    .replace(/\.?\s*:?\s*In scope SELECT formatQuery\(.*$/, '')
    .trim();
  if (text.length > 500) text = `${text.slice(0, 500)}…`;
  return { code: m ? Number(m[1]) : undefined, text: text || 'the engine rejected the query' };
}
