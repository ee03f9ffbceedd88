/**
 * What each access_log insert column can hold, read from the DDL in store/schema.ts so the row encoder's
 * checks follow the schema: a column whose type this file does not know fails at load, not at insert.
 *
 * ClickHouse does not refuse an out-of-range value on insert: 70000 in a UInt16 is stored as 4464, 2^64 in a
 * UInt64 as 0, a DateTime64 tick before 1900 as whatever the calendar code makes of it. So the encoder
 * checks against these ranges itself.
 */
import { ACCESS_LOG_INSERT_COLUMNS, MIGRATIONS } from './schema.js';

export type ColumnLimit =
  | { kind: 'time'; type: string; minMs: number; maxMs: number }
  | { kind: 'int'; type: string; min: number; max: number }
  | { kind: 'string'; type: string };

/** DateTime64's documented range: [1900-01-01 00:00:00, 2299-12-31 23:59:59.99999999]. */
export const DATETIME64_MIN_MS = Date.UTC(1900, 0, 1);
export const DATETIME64_MAX_MS = Date.UTC(2300, 0, 1) - 1;
/** DateTime (seconds in a UInt32): [1970-01-01 00:00:00, 2106-02-07 06:28:15]. */
export const DATETIME_MAX_MS = 4_294_967_295_000;

/**
 * 64-bit columns are capped at 2^53 - 1: beyond it a JavaScript number (which is what JSON.parse and the
 * msgpack decoder give) no longer carries every integer, so the value stored would not be the value sent.
 */
const INT_RANGES: Record<string, [number, number]> = {
  UInt8: [0, 255],
  UInt16: [0, 65_535],
  UInt32: [0, 4_294_967_295],
  UInt64: [0, Number.MAX_SAFE_INTEGER],
  Int8: [-128, 127],
  Int16: [-32_768, 32_767],
  Int32: [-2_147_483_648, 2_147_483_647],
  Int64: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** `Nullable(UInt16)` → `UInt16`, `LowCardinality(String)` → `String`. */
function innerType(type: string): string {
  const m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(type);
  return m?.[1] ? innerType(m[1]) : type;
}

export function limitOf(type: string): ColumnLimit {
  const inner = innerType(type);
  if (inner === 'String') return { kind: 'string', type };
  if (/^DateTime64\(/.test(inner))
    return { kind: 'time', type, minMs: DATETIME64_MIN_MS, maxMs: DATETIME64_MAX_MS };
  if (/^DateTime(\(|$)/.test(inner)) return { kind: 'time', type, minMs: 0, maxMs: DATETIME_MAX_MS };
  const range = INT_RANGES[inner];
  if (range) return { kind: 'int', type, min: range[0], max: range[1] };
  throw new Error(`store/column-limits.ts does not know the column type ${type}`);
}

/** `name Type …` lines of a CREATE TABLE statement, the type up to CODEC/DEFAULT/MATERIALIZED or the comma. */
export function columnTypes(createTable: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const line of createTable.split('\n')) {
    const m = /^ {2}([a-z_][a-z0-9_]*) (.+?)(?: CODEC\(| DEFAULT | MATERIALIZED |,?$)/.exec(line);
    if (m?.[1] && m[2]) types.set(m[1], m[2].trim());
  }
  return types;
}

function accessLogLimits(): Map<string, ColumnLimit> {
  const ddl = MIGRATIONS.flatMap((m) => m.statements({})).find((s) =>
    s.startsWith('CREATE TABLE IF NOT EXISTS access_log '),
  );
  if (!ddl) throw new Error('store/schema.ts has no access_log table');
  const types = columnTypes(ddl);
  const limits = new Map<string, ColumnLimit>();
  for (const col of ACCESS_LOG_INSERT_COLUMNS) {
    const type = types.get(col);
    if (!type) throw new Error(`access_log has no column ${col} in store/schema.ts`);
    limits.set(col, limitOf(type));
  }
  return limits;
}

/** Every column the ingest path writes, with what it can hold. */
export const ACCESS_LOG_LIMITS: ReadonlyMap<string, ColumnLimit> = accessLogLimits();

export function isoOrMs(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/** `DateTime64(3, 'UTC'): 1900-01-01T00:00:00.000Z..2299-12-31T23:59:59.999Z`, for reasons. */
export function describeLimit(limit: ColumnLimit): string {
  if (limit.kind === 'time') return `${limit.type}: ${isoOrMs(limit.minMs)}..${isoOrMs(limit.maxMs)}`;
  if (limit.kind === 'int') return `${limit.type}: ${limit.min}..${limit.max}`;
  return limit.type;
}
