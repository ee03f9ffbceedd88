/**
 * Why an insert failed: because of the rows it carried (`data`: the same rows will fail on every retry, so
 * the batch is split until the offending rows are isolated and dead-lettered) or because of the store
 * (`outage`: connection refused, store closed, timeout, memory limit, credentials …, so the batch waits and
 * is retried whole, and intake slows down instead of losing anything).
 *
 * The decision uses ClickHouse's error code, never the message wording (except for one code, below). Both
 * backends carry it: chDB throws `Code: N. DB::Exception: …` text; the server backend throws
 * ClickHouseServerError with a numeric `code`, and @clickhouse/client's own ClickHouseError carries it as a
 * numeric string. Anything without a code, or with a code not listed here, counts as an outage: wrongly
 * retrying a bad row stalls intake until a data code is added here, while wrongly splitting during a real
 * outage would dead-letter good rows, which cannot be undone by waiting.
 */
import { StoreConfigError, StoreUnavailableError } from './store.js';

export type InsertErrorKind = 'data' | 'outage';

/**
 * Codes (src/Common/ErrorCodes.cpp) that an INSERT … FORMAT JSONEachRow / JSONCompactEachRow raises while
 * parsing or converting the rows it was given: each says "this text is not a value of that column".
 */
export const DATA_ERROR_CODES: ReadonlyMap<number, string> = new Map([
  [6, 'CANNOT_PARSE_TEXT'],
  [7, 'INCORRECT_NUMBER_OF_COLUMNS'],
  [25, 'CANNOT_PARSE_ESCAPE_SEQUENCE'], // e.g. an unpaired \ud800 in a JSON string
  [26, 'CANNOT_PARSE_QUOTED_STRING'],
  [27, 'CANNOT_PARSE_INPUT_ASSERTION_FAILED'], // e.g. 1e+300 where an integer column expects digits
  [32, 'ATTEMPT_TO_READ_AFTER_EOF'], // a row cut short
  [33, 'CANNOT_READ_ALL_DATA'],
  [38, 'CANNOT_PARSE_DATE'],
  [41, 'CANNOT_PARSE_DATETIME'],
  [53, 'TYPE_MISMATCH'],
  [69, 'ARGUMENT_OUT_OF_BOUND'],
  [70, 'CANNOT_CONVERT_TYPE'],
  [72, 'CANNOT_PARSE_NUMBER'], // e.g. -1 for an unsigned column
  [117, 'INCORRECT_DATA'],
  [130, 'CANNOT_READ_ARRAY_FROM_TEXT'],
  [131, 'TOO_LARGE_STRING_SIZE'],
  [248, 'INVALID_PARTITION_VALUE'],
  [321, 'VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE'],
  [349, 'CANNOT_INSERT_NULL_IN_ORDINARY_COLUMN'],
  [376, 'CANNOT_PARSE_UUID'],
  [407, 'DECIMAL_OVERFLOW'],
  [441, 'CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING'],
  [467, 'CANNOT_PARSE_BOOL'],
]);

/**
 * 252 TOO_MANY_PARTS is also "Too many partitions for single INSERT block": the batch's rows span more months
 * than max_partitions_per_insert_block (100). That is the rows' doing (halves span fewer months), while the
 * same code for too many active parts is an overload that waiting cures; only the message tells them apart.
 * The server backend retries 252 itself and then reports StoreUnavailableError with the message inside.
 */
const TOO_MANY_PARTITIONS = /Too many partitions for single INSERT block/;

/** The ClickHouse error code an error carries, if any. */
export function clickHouseErrorCode(err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number' && Number.isInteger(code)) return code;
  if (typeof code === 'string' && /^\d{1,4}$/.test(code)) return Number(code);
  // chDB (and pre-20.x server bodies): "Code: 27. DB::Exception: …" or "Code: 27, e.displayText() = …".
  const m = /^Code: (\d{1,4})[.,]/.exec(err.message);
  return m?.[1] ? Number(m[1]) : undefined;
}

export function insertErrorKind(err: unknown): InsertErrorKind {
  if (!(err instanceof Error)) return 'outage';
  if (TOO_MANY_PARTITIONS.test(err.message)) return 'data';
  if (err instanceof StoreUnavailableError || err instanceof StoreConfigError) return 'outage';
  const code = clickHouseErrorCode(err);
  return code !== undefined && DATA_ERROR_CODES.has(code) ? 'data' : 'outage';
}

/** The engine's reason in one line: its message up to the row dump, without the stack or version suffix. */
export function engineReason(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const firstLine = text.split('\n', 1)[0] ?? '';
  const code = clickHouseErrorCode(err);
  const name = code !== undefined ? DATA_ERROR_CODES.get(code) : undefined;
  const line = firstLine.replace(/\s*\(version [^)]*\)\s*$/, '').replace(/:\s*$/, '');
  const shown = line.length > 500 ? `${line.slice(0, 500)}…` : line;
  return name && !shown.includes(name) ? `${shown} (${name})` : shown;
}
