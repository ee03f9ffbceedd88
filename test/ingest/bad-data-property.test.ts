/**
 * Property: whatever values a line carries, the real pipeline over real chDB either stores it (and it reads
 * back with the values it was sent) or dead-letters it with a reason; nothing is stored wrapped or changed,
 * nothing is lost, and rows stored + dead letters = lines sent. Generated records go through the text path
 * (Istio TEXT lines with START_TIMEs from year 0000 to 9999 and integers up to 17 digits) and the JSON path
 * (Envoy JSON logs with 1e300, -1, 1.5, 2^60, NaN-ish strings, wrong types, unpaired surrogates, strings of
 * hundreds of kilobytes), mixed in one stream as the `auto` format meets them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE_OPTIONS, IngestPipeline, type LineContext } from '../../ingest/pipeline.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { istioLine } from '../helpers/istio-line.js';

const MIN_MS = Date.parse('1900-01-01T00:00:00.000Z');
const MAX_MS = Date.parse('2299-12-31T23:59:59.999Z');
const MAX = { response_code: 65_535, bytes_sent: Number.MAX_SAFE_INTEGER, duration: 4_294_967_295 };
type IntField = keyof typeof MAX;
const INT_FIELDS = Object.keys(MAX) as IntField[];

/** What a generated line should become: `stored` with these values, `dead`, or either (`undefined`). */
interface Expected {
  id: string;
  line: string;
  stored: boolean | undefined;
  timeMs: number;
  ints: Record<IntField, number | null>;
  path: string;
}

const dir = mkdtempSync(join(tmpdir(), 'egresslens-bad-data-property-'));
let store: ChdbStore;

beforeAll(async () => {
  store = ChdbStore.open(dir);
  await store.migrate();
});
afterAll(async () => {
  await store.close();
});

// ---- generators ------------------------------------------------------------------------------------------

const iso = (min: string, max: string) =>
  fc.date({ min: new Date(min), max: new Date(max), noInvalidDate: true }).map((d) => d.toISOString());

/** Four-digit years only: the TEXT scanner reads YYYY. Mostly near the column's bounds, some anywhere. */
const textTime = fc.oneof(
  iso('1890-01-01T00:00:00.000Z', '1910-01-01T00:00:00.000Z'),
  iso('2290-01-01T00:00:00.000Z', '2310-01-01T00:00:00.000Z'),
  iso('0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'),
  iso('2020-01-01T00:00:00.000Z', '2030-01-01T00:00:00.000Z'),
  fc.constantFrom(
    '1899-12-31T23:59:59.999Z',
    '1900-01-01T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
    '2299-12-31T23:59:59.999Z',
    '2300-01-01T00:00:00.000Z',
    '0001-01-01T00:00:00.000Z',
  ),
);

/** Non-negative integers as TEXT prints them: up to 17 digits (the scanner takes 15). */
const textInt = fc.oneof(
  fc.integer({ min: 0, max: 600 }),
  fc.constantFrom(65_535, 65_536, 70_000, 4_294_967_295, 4_294_967_296, 999_999_999_999_999, 1e15, 1e16),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);

const textCase = fc.record({
  ts: textTime,
  code: textInt,
  bytesOut: textInt,
  duration: textInt,
  path: fc.stringMatching(/^\/[a-z0-9._~-]{0,30}$/),
});

/** Values an Envoy JSON log may carry where an integer belongs. */
const jsonInt = fc.oneof(
  fc.integer({ min: 0, max: 70_000 }),
  fc.constantFrom(1e300, -1, 1.5, 1e30, 2 ** 53, 2 ** 60, 70_000, 4_294_967_296, -0, 1e21, 5e-324),
  fc.constantFrom(
    'NaN',
    'Infinity',
    '-Infinity',
    '-',
    '',
    '42',
    '070000',
    '1e3',
    '1.5',
    ' 7',
    '9'.repeat(16),
  ),
  fc.constantFrom(null, true, false, {}, [], [1]),
  fc.double(),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);

const jsonTime = fc.oneof(
  textTime,
  iso('-000100-01-01T00:00:00.000Z', '+020000-01-01T00:00:00.000Z'),
  fc.constantFrom('+275760-09-13T00:00:00.000Z', '1899-12-31T23:59:59Z', '2299-12-31T23:59:59.999+00:00'),
);

/** Strings of every kind, unpaired surrogates and 100-300 KB ones included, and values of other types. */
const jsonString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\ud800', 'a\udc00', '\udbff\udfff', '\u0000', '-', '', 'é漢😀', '"\\\n\t'),
  fc.integer({ min: 100_000, max: 300_000 }).map((n) => '/'.padEnd(n, 'x')),
  fc.constantFrom(null, 42, 1e300, true, { a: 1 }, ['x']),
);

const jsonCase = fc.record({
  start_time: jsonTime,
  response_code: jsonInt,
  bytes_sent: jsonInt,
  duration: jsonInt,
  path: jsonString,
});

/** Lines that should be stored, with in-range values up to the bounds, so both outcomes are common. */
const plausibleText = fc.record({
  ts: iso('1900-01-01T00:00:00.000Z', '2299-12-31T23:59:59.999Z'),
  code: fc.integer({ min: 0, max: 65_535 }),
  bytesOut: fc.integer({ min: 0, max: 999_999_999_999_999 }),
  duration: fc.integer({ min: 0, max: 4_294_967_295 }),
  path: fc.stringMatching(/^\/[a-z0-9._~-]{0,30}$/),
});
const plausibleJson = fc.record({
  start_time: iso('1900-01-01T00:00:00.000Z', '2299-12-31T23:59:59.999Z'),
  response_code: fc.oneof(fc.integer({ min: 0, max: 65_535 }), fc.constantFrom(null, '-', '404')),
  bytes_sent: fc.oneof(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.constant(null)),
  duration: fc.integer({ min: 0, max: 4_294_967_295 }),
  path: fc.oneof(fc.string(), fc.constantFrom('é漢😀', '\udbff\udfff', '"\\\n\t')),
});

const anyCase = fc.oneof(
  textCase.map((c) => ({ kind: 'text' as const, c })),
  jsonCase.map((c) => ({ kind: 'json' as const, c })),
  plausibleText.map((c) => ({ kind: 'text' as const, c })),
  plausibleJson.map((c) => ({ kind: 'json' as const, c })),
);

// ---- the oracle: what each line should become, from the column types alone ---------------------------------

const inTime = (ms: number) => ms >= MIN_MS && ms <= MAX_MS;
const isWellFormed = (s: string) => (s as unknown as { isWellFormed(): boolean }).isWellFormed();

function expectText(id: string, c: TextCase): Expected {
  const line = istioLine({
    ts: c.ts,
    method: 'GET',
    path: c.path,
    code: c.code,
    bytesOut: c.bytesOut,
    duration: c.duration,
    requestId: id,
  });
  const ints = { response_code: c.code, bytes_sent: c.bytesOut, duration: c.duration };
  const fits = INT_FIELDS.every((f) => String(ints[f]).length <= 15 && ints[f] <= MAX[f]);
  const timeMs = Date.parse(c.ts);
  return { id, line, stored: fits && inTime(timeMs), timeMs, ints, path: c.path };
}
type TextCase = { ts: string; code: number; bytesOut: number; duration: number; path: string };

function jsonIntValue(v: unknown, max: number): { ok: boolean | undefined; value: number | null } {
  if (v === null || v === '-' || v === '') return { ok: true, value: null };
  if (typeof v === 'number') return { ok: Number.isInteger(v) && v >= 0 && v <= max, value: v };
  if (typeof v === 'string' && /^\d{1,15}$/.test(v)) return { ok: Number(v) <= max, value: Number(v) };
  return { ok: false, value: null };
}

function expectJson(id: string, c: JsonCase): Expected {
  const line = JSON.stringify({ ...c, method: 'GET', request_id: id });
  // What the line says once parsed: JSON.stringify already turned -0 into 0, NaN into null and so on.
  const sent = JSON.parse(line) as Record<string, unknown>;
  let stored: boolean | undefined = true;
  const ints = {} as Record<IntField, number | null>;
  for (const f of INT_FIELDS) {
    const { ok, value } = jsonIntValue(sent[f], MAX[f]);
    ints[f] = value;
    if (ok === false) stored = false;
  }
  const p = sent['path'];
  const path = p === null || p === '-' || p === '' ? '' : typeof p === 'string' ? p : JSON.stringify(p);
  if (!isWellFormed(path)) stored = false;
  const timeMs = Date.parse(String(sent['start_time']));
  if (Number.isNaN(timeMs))
    stored = undefined; // not an ISO form this oracle reads; either way is fine
  else if (!inTime(timeMs)) stored = false;
  return { id, line, stored, timeMs, ints, path };
}
type JsonCase = {
  start_time: string;
  response_code: unknown;
  bytes_sent: unknown;
  duration: unknown;
  path: unknown;
};

// ---- the property -------------------------------------------------------------------------------------------

let run = 0;
/** Over all runs, so the property is known to have exercised both outcomes and both paths. */
const seen = { stored: 0, dead: 0, text: 0, json: 0, engineRefused: 0 };

async function sendThrough(cases: Array<{ kind: 'text'; c: TextCase } | { kind: 'json'; c: JsonCase }>) {
  run++;
  await store.command('TRUNCATE TABLE access_log');
  await store.command('TRUNCATE TABLE dead_letters');
  const expected = cases.map((k, i) => {
    const id = `id-${String(run).padStart(4, '0')}-${String(i).padStart(4, '0')}`;
    return k.kind === 'text' ? expectText(id, k.c) : expectJson(id, k.c);
  });
  const pipeline = new IngestPipeline(store, {
    ...DEFAULT_PIPELINE_OPTIONS,
    format: 'auto',
    batchRows: 7,
    flushIntervalMs: 20,
    retryBaseMs: 10,
    retryMaxMs: 50,
    tokenPrefix: `property-${run}`,
  });
  const ctx: LineContext = {
    source: { source: 'property', namespace: 'ns', pod: 'pod', container: 'c', workload: 'w', node: 'n' },
    origin: `run ${run}`,
  };
  const buf = Buffer.from(expected.map((e) => `${e.line}\n`).join(''));
  for (let start = 0; start < buf.length; ) {
    const nl = buf.indexOf(10, start);
    pipeline.appendLine(buf, start, nl, ctx);
    start = nl + 1;
  }
  await pipeline.flush();
  await pipeline.close();

  const rows = await store.query<{
    request_id: string;
    t: string;
    response_code: number | null;
    bytes_sent: string | null;
    duration: number | null;
    path: string;
  }>(
    `SELECT request_id, toString(toUnixTimestamp64Milli(start_time)) AS t, response_code, bytes_sent, duration, path
     FROM access_log`,
  );
  const dead = await store.query<{ reason: string; raw: string }>('SELECT reason, raw FROM dead_letters');

  expect(rows.length + dead.length).toBe(expected.length);
  expect(pipeline.stats.storedRows + pipeline.stats.deadLetters).toBe(expected.length);
  expect(pipeline.stats.insertErrors).toBe(0);
  const byId = new Map(rows.map((r) => [r.request_id, r]));
  expect(byId.size).toBe(rows.length);
  for (const d of dead) expect(d.reason.length).toBeGreaterThan(0);
  seen.stored += rows.length;
  seen.dead += dead.length;
  seen.engineRefused += dead.filter((d) => d.reason.startsWith('the store refused')).length;
  for (const k of cases) seen[k.kind]++;
  for (const e of expected) {
    const row = byId.get(e.id);
    const letters = dead.filter((d) => d.raw.includes(e.id));
    expect((row ? 1 : 0) + letters.length, e.line.slice(0, 300)).toBe(1);
    if (e.stored !== undefined)
      expect(row !== undefined, `${e.line.slice(0, 300)} ${letters[0]?.reason}`).toBe(e.stored);
    if (!row) continue;
    expect(Number(row.t), e.line.slice(0, 300)).toBe(e.timeMs);
    expect(row.response_code).toBe(e.ints.response_code);
    expect(row.bytes_sent === null ? null : Number(row.bytes_sent)).toBe(e.ints.bytes_sent);
    expect(row.duration).toBe(e.ints.duration);
    expect(row.path === e.path, `path of ${e.id}`).toBe(true);
  }
}

describe('any line is stored as sent or dead-lettered with a reason', () => {
  it('text and JSON lines with extreme values, through the real pipeline and chDB insert', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(anyCase, { minLength: 1, maxLength: 25 }), (cases) => sendThrough(cases)),
      { numRuns: 40, endOnFailure: true },
    );
    expect(seen.stored).toBeGreaterThan(50);
    expect(seen.dead).toBeGreaterThan(50);
    expect(seen.text).toBeGreaterThan(50);
    expect(seen.json).toBeGreaterThan(50);
    // The encoder's checks leave the engine nothing to refuse.
    expect(seen.engineRefused).toBe(0);
  });
});
