/**
 * The row encoder's column checks: every value either fits its column (and reads back from real chDB as the
 * same value, boundaries included) or the row is refused with a reason naming the field, value and range.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isTextMatch, LineDecoder } from '../../ingest/line-decoder.js';
import { parseJsonLine } from '../../parser/json-line.js';
import { type AccessRecord, isParseFailure } from '../../parser/record.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { ACCESS_LOG_LIMITS, columnTypes, limitOf } from '../../store/column-limits.js';
import {
  NEEDS_RECORD_PATH,
  ROW_ADDED,
  ROW_REJECTED,
  RowEncoder,
  type RowSource,
} from '../../store/row-encoder.js';
import { ACCESS_LOG_INSERT_COLUMNS, MIGRATIONS } from '../../store/schema.js';
import { istioLine } from '../helpers/istio-line.js';

const source: RowSource = {
  source: 'test',
  namespace: 'ns',
  pod: 'pod',
  container: 'c',
  workload: 'w',
  node: 'n',
};
const decoder = new LineDecoder('istio');

/** Encodes one text line; returns the outcome and the encoder. */
function scan(line: string, fallbackMs = 1_700_000_000_000) {
  const enc = new RowEncoder(1 << 16);
  const buf = Buffer.from(line);
  const r = decoder.decode(buf, 0, buf.length);
  if (!isTextMatch(r)) throw new Error(`line did not scan: ${line}`);
  const outcome = enc.addScan(r, buf, r.state, source, false, 0, buf.length, fallbackMs);
  return { outcome, enc };
}

function record(obj: Record<string, unknown>): AccessRecord {
  const r = parseJsonLine(JSON.stringify(obj));
  if (isParseFailure(r)) throw new Error(r.error);
  return r;
}

const dir = mkdtempSync(join(tmpdir(), 'egresslens-row-encoder-'));
let store: ChdbStore;

beforeAll(async () => {
  store = ChdbStore.open(dir);
  await store.migrate();
});
afterAll(async () => {
  await store.close();
});
beforeEach(async () => {
  await store.command('TRUNCATE TABLE access_log');
});

async function insert(enc: RowEncoder): Promise<void> {
  await store.insert({
    table: 'access_log',
    body: enc.take(),
    format: 'JSONCompactEachRow',
    columns: ACCESS_LOG_INSERT_COLUMNS,
  });
}

async function readBack() {
  return store.query<{
    request_id: string;
    t: string;
    response_code: number | null;
    bytes_sent: string | null;
    duration: number | null;
  }>(
    'SELECT request_id, toString(toUnixTimestamp64Milli(start_time)) AS t, response_code, bytes_sent, duration FROM access_log ORDER BY request_id',
  );
}

describe('column limits come from the DDL', () => {
  it('reads each insert column type from store/schema.ts', () => {
    expect(ACCESS_LOG_LIMITS.get('start_time')).toMatchObject({ kind: 'time', type: "DateTime64(3, 'UTC')" });
    expect(ACCESS_LOG_LIMITS.get('response_code')).toMatchObject({ kind: 'int', max: 65_535 });
    expect(ACCESS_LOG_LIMITS.get('duration')).toMatchObject({ kind: 'int', max: 4_294_967_295 });
    expect(ACCESS_LOG_LIMITS.get('bytes_sent')).toMatchObject({ kind: 'int', max: Number.MAX_SAFE_INTEGER });
    expect(ACCESS_LOG_LIMITS.get('raw')).toMatchObject({ kind: 'string' });
    const ddl = MIGRATIONS[0]!.statements({})[0]!;
    expect(columnTypes(ddl).get('upstream_service_time')).toBe('Nullable(UInt32)');
  });

  it('knows DateTime as 1970..2106 and refuses a type it does not know', () => {
    expect(limitOf('DateTime')).toMatchObject({ minMs: 0, maxMs: 4_294_967_295_000 });
    expect(limitOf('Nullable(Int8)')).toMatchObject({ min: -128, max: 127 });
    expect(() => limitOf('Float64')).toThrow(/does not know the column type Float64/);
  });
});

describe('text path (addScan)', () => {
  it('stores the range boundaries exactly, pre-1970 times included', async () => {
    const enc = new RowEncoder(1 << 16);
    const cases = [
      { ts: '1900-01-01T00:00:00.000Z', code: 65535, duration: 4294967295, bytesOut: 999999999999999 },
      { ts: '2299-12-31T23:59:59.999Z', code: 0, duration: 0, bytesOut: 0 },
      { ts: '1969-07-20T20:17:40.123Z', code: 200, duration: 5, bytesOut: 10 },
    ];
    cases.forEach((c, i) => {
      const buf = Buffer.from(istioLine({ ...c, method: 'GET', requestId: `r${i}` }));
      const r = decoder.decode(buf, 0, buf.length);
      if (!isTextMatch(r)) throw new Error('no scan');
      expect(enc.addScan(r, buf, r.state, source, false, 0, buf.length, 0)).toBe(ROW_ADDED);
    });
    await insert(enc);
    const rows = await readBack();
    expect(
      rows.map((r) => [r.request_id, Number(r.t), r.response_code, Number(r.bytes_sent), r.duration]),
    ).toEqual(cases.map((c, i) => [`r${i}`, Date.parse(c.ts), c.code, c.bytesOut, c.duration]));
  });

  it.each([
    [
      '1899-12-31T23:59:59.999Z',
      /^start_time "1899-12-31T23:59:59.999Z" .*outside .*1900-01-01T00:00:00.000Z\.\.2299-12-31T23:59:59.999Z/,
    ],
    ['2300-01-01T00:00:00.000Z', /^start_time "2300-01-01T00:00:00.000Z"/],
    ['0001-01-01T00:00:00.000Z', /^start_time "0001-01-01T00:00:00.000Z"/],
    ['9999-12-31T23:59:59.999Z', /^start_time "9999-12-31T23:59:59.999Z"/],
  ])('refuses START_TIME %s', (ts, reason) => {
    const { outcome, enc } = scan(istioLine({ ts, method: 'GET' }));
    expect(outcome).toBe(ROW_REJECTED);
    expect(enc.rejection).toMatch(reason);
    expect(enc.rows).toBe(0);
    expect(enc.bytes).toBe(0);
  });

  it.each([
    [
      { code: 70000 },
      /^response_code "70000" is outside its column's range \(Nullable\(UInt16\): 0\.\.65535/,
    ],
    [{ duration: 4294967296 }, /^duration "4294967296" .*Nullable\(UInt32\): 0\.\.4294967295/],
    [{ upstreamServiceTime: 99999999999 }, /^upstream_service_time "99999999999"/],
  ])('refuses an integer its column cannot hold: %o', (fields, reason) => {
    const { outcome, enc } = scan(istioLine({ ts: '2024-01-01T00:00:00.000Z', method: 'GET', ...fields }));
    expect(outcome).toBe(ROW_REJECTED);
    expect(enc.rejection).toMatch(reason);
    expect(enc.bytes).toBe(0);
  });

  it('a refused row leaves the rows before it intact', async () => {
    const enc = new RowEncoder(1 << 16);
    for (const [i, code] of [200, 70000, 404].entries()) {
      const buf = Buffer.from(
        istioLine({ ts: '2024-01-01T00:00:00.000Z', method: 'GET', code, requestId: `r${i}` }),
      );
      const r = decoder.decode(buf, 0, buf.length);
      if (!isTextMatch(r)) throw new Error('no scan');
      enc.addScan(r, buf, r.state, source, false, 0, buf.length, 0);
    }
    expect(enc.rows).toBe(2);
    await insert(enc);
    expect((await readBack()).map((r) => [r.request_id, r.response_code])).toEqual([
      ['r0', 200],
      ['r2', 404],
    ]);
  });

  it("checks the shipper's timestamp when the format has no START_TIME", () => {
    const custom = new LineDecoder('%REQ(:AUTHORITY)% %RESPONSE_CODE%');
    for (const [ms, ok] of [
      [1_700_000_000_000, true],
      [-2_208_988_800_001, false],
      [1e14, false],
      [1_700_000_000_000.5, false],
      [Number.NaN, false],
    ] as const) {
      const enc = new RowEncoder(1 << 12);
      const buf = Buffer.from('example.com 200');
      const r = custom.decode(buf, 0, buf.length);
      if (!isTextMatch(r)) throw new Error('no scan');
      const outcome = enc.addScan(r, buf, r.state, source, false, 0, buf.length, ms);
      expect(outcome === NEEDS_RECORD_PATH ? 'record path' : outcome).toBe(ok ? ROW_ADDED : ROW_REJECTED);
      if (!ok) expect(enc.rejection).toMatch(/^start_time \(the shipper's timestamp, .*\) is outside/);
    }
  });
});

describe('record path (addRecord)', () => {
  const base = { start_time: '2024-01-01T00:00:00.000Z', response_code: 200, request_id: 'x' };

  it.each([
    [{ response_code: 1e300 }, /^response_code 1e\+300 is outside its column's range \(Nullable\(UInt16\)/],
    [{ response_code: 70000 }, /^response_code 70000 /],
    [{ bytes_sent: 1e30 }, /^bytes_sent 1e\+30 .*Nullable\(UInt64\): 0\.\.9007199254740991/],
    [{ bytes_sent: 2 ** 60 }, /^bytes_sent 1152921504606847000 /],
    [{ duration: 2 ** 32 }, /^duration 4294967296 /],
    [
      { start_time: '1899-12-31T23:59:59Z' },
      /^start_time "1899-12-31T23:59:59Z" \(1899-12-31T23:59:59.000Z\) is outside/,
    ],
    [{ start_time: '+010000-01-01T00:00:00.000Z' }, /^start_time "\+010000-01-01T00:00:00.000Z"/],
  ])('refuses %o', (fields, reason) => {
    const enc = new RowEncoder(1 << 12);
    expect(enc.addRecord(record({ ...base, ...fields }), source, null, 0)).toBe(false);
    expect(enc.rejection).toMatch(reason);
    expect(enc.bytes).toBe(0);
  });

  it('refuses values the parser would not hand over but another record source might', () => {
    const enc = new RowEncoder(1 << 12);
    const good = record(base);
    const cases: Array<[Partial<Record<string, unknown>>, RegExp]> = [
      [{ response_code: -1 }, /^response_code -1 is outside/],
      [{ response_code: 1.5 }, /^response_code 1.5 is outside/],
      [{ response_code: Number.NaN }, /^response_code NaN is outside/],
      [{ duration: Number.POSITIVE_INFINITY }, /^duration Infinity is outside/],
      [{ bytes_sent: '12' }, /^bytes_sent "12" is outside/],
      [{ path: '/a\ud800b' }, /^path "\/a\\ud800b" holds an unpaired UTF-16 surrogate/],
      [{ path: 42 }, /^path 42 is not a string/],
      [{ start_time_ms: 1.5 }, /^start_time .* is outside/],
      [{ extra: { big: 10n } }, /^extra fields cannot be written as JSON/],
    ];
    for (const [patch, reason] of cases) {
      expect(enc.addRecord({ ...good, ...patch } as AccessRecord, source, null, 0)).toBe(false);
      expect(enc.rejection).toMatch(reason);
    }
    expect(enc.addRecord(good, source, '{"bad":"\ud800"}', 0)).toBe(false);
    expect(enc.rejection).toMatch(/the line holds an unpaired UTF-16 surrogate/);
    expect(enc.addRecord(good, { ...source, pod: 'p\udc00' }, null, 0)).toBe(false);
    expect(enc.rejection).toMatch(/^k8s_pod "p\\udc00" is not a well-formed string/);
    expect(enc.bytes).toBe(0);
  });

  it('stores the boundaries exactly', async () => {
    const enc = new RowEncoder(1 << 12);
    const rows = [
      {
        ...base,
        request_id: 'a',
        start_time: '1900-01-01T00:00:00.000Z',
        response_code: 65535,
        bytes_sent: Number.MAX_SAFE_INTEGER,
        duration: 4294967295,
      },
      {
        ...base,
        request_id: 'b',
        start_time: '2299-12-31T23:59:59.999Z',
        response_code: 0,
        bytes_sent: 0,
        duration: 0,
      },
    ];
    for (const r of rows) expect(enc.addRecord(record(r), source, null, 0)).toBe(true);
    await insert(enc);
    expect(
      (await readBack()).map((r) => [
        r.request_id,
        Number(r.t),
        r.response_code,
        Number(r.bytes_sent),
        r.duration,
      ]),
    ).toEqual(
      rows.map((r) => [r.request_id, Date.parse(r.start_time), r.response_code, r.bytes_sent, r.duration]),
    );
  });
});
