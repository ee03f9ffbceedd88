/**
 * The fast scanner for Fluent Bit JSON records agrees with JSON.parse: same line bytes, same kubernetes map,
 * and it never accepts what JSON.parse refuses (no broker needed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonRecordScanner } from '../../ingest/json-record-scan.js';

function viaJsonParse(text: string): { line: string | undefined; kubernetes: unknown } | 'invalid' {
  let record: unknown;
  try {
    record = JSON.parse(text);
  } catch {
    return 'invalid';
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) return 'invalid';
  const r = record as Record<string, unknown>;
  const line = typeof r.log === 'string' ? r.log : typeof r.message === 'string' ? r.message : undefined;
  return { line, kubernetes: r.kubernetes };
}

function viaScanner(text: string): { line: string | undefined; kubernetes: unknown } | undefined {
  const scanner = new JsonRecordScanner();
  const buf = Buffer.from(text);
  const rec = scanner.scan(buf);
  if (!rec) return undefined;
  // The kubernetes map is checked by its caller, which parses each distinct map once (and falls back).
  let k: unknown;
  try {
    k =
      rec.kubernetesStart >= 0
        ? (JSON.parse(buf.toString('utf8', rec.kubernetesStart, rec.kubernetesEnd)) as unknown)
        : undefined;
  } catch {
    return undefined;
  }
  return {
    line: rec.lineLength >= 0 ? scanner.line.toString('utf8', 0, rec.lineLength) : undefined,
    kubernetes: k,
  };
}

const record = fc.record(
  {
    '@timestamp': fc.oneof(fc.double({ min: 0, max: 2e9, noNaN: true }), fc.string()),
    log: fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: 'grapheme' }),
      fc.constant('[x] "GET / HTTP/1.1" 200\n'),
      fc.integer(),
    ),
    message: fc.string(),
    stream: fc.constantFrom('stdout', 'stderr'),
    kubernetes: fc.oneof(
      fc.dictionary(
        fc.string(),
        fc.oneof(fc.string(), fc.integer(), fc.dictionary(fc.string(), fc.string())),
      ),
      fc.constant(null),
    ),
    other: fc.jsonValue(),
  },
  { requiredKeys: [] },
);

describe('JSON record scanner', () => {
  it('finds the same line and kubernetes map as JSON.parse', () => {
    fc.assert(
      fc.property(record, fc.boolean(), (r, spaced) => {
        const text = JSON.stringify(r, null, spaced ? 1 : undefined);
        const expected = viaJsonParse(text);
        const got = viaScanner(text);
        if (got === undefined) return; // the general path takes it
        expect(expected).not.toBe('invalid');
        expect(got).toEqual(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('takes the usual Fluent Bit record, escapes and all', () => {
    const log = '[2025-11-24T16:00:00.123Z] "GET /a?b=c HTTP/1.1" 200 - "-" "ua \\"q\\" é ☃ 𝄞"\n';
    const text = JSON.stringify({
      '@timestamp': 1764000000.123,
      log,
      stream: 'stdout',
      kubernetes: { pod_name: 'p', labels: { app: 'a' } },
    });
    expect(viaScanner(text)).toEqual(viaJsonParse(text));
    expect(viaScanner(text.replace('é', '\\u00e9').replace('𝄞', '\\ud834\\udd1e'))).toEqual(
      viaJsonParse(text),
    );
  });

  it('never accepts what JSON.parse refuses', () => {
    const base = JSON.stringify({
      '@timestamp': 1764000000.5,
      log: 'a "b" c\n',
      kubernetes: { pod_name: 'p', n: [1, 2, { x: true }] },
      n: -1.5e3,
    });
    fc.assert(
      fc.property(
        fc.nat(base.length),
        fc.nat(base.length),
        fc.string({ maxLength: 3 }),
        (at, cut, insert) => {
          const text = base.slice(0, at) + insert + base.slice(Math.min(base.length, at + (cut % 4)));
          const got = viaScanner(text);
          if (got !== undefined) expect(viaJsonParse(text)).toEqual(got);
        },
      ),
      { numRuns: 5000 },
    );
    for (const bad of [
      '{"log":"a\\x"}',
      '{"log":"a\u0001"}',
      '{"log":"a", "n": 01}',
      '{"log":"a", "n": tru}',
      '{"log":"a", "o": {"a" 1}}',
      '{"log":"a"} x',
      '{"log":"a",}',
    ]) {
      expect(viaJsonParse(bad)).toBe('invalid');
      expect(viaScanner(bad)).toBeUndefined();
    }
  });

  it('leaves duplicate line keys to JSON.parse', () => {
    expect(viaScanner('{"log":"a","log":"b"}')).toBeUndefined();
    expect(viaScanner('{"message":"a","log":"b"}')).toEqual({ line: 'b', kubernetes: undefined });
    expect(viaScanner('{"log":"b","message":"a"}')).toEqual({ line: 'b', kubernetes: undefined });
    expect(viaScanner('{"log":1,"message":"a"}')).toEqual({ line: 'a', kubernetes: undefined });
  });

  it('leaves keys spelt with escapes to JSON.parse, which reads them as the keys they spell', () => {
    for (const text of [
      '{"log":"b","l\\u006fg":"a"}',
      '{"l\\u006fg":"a"}',
      '{"log":"b","kubern\\u0065tes":{"pod_name":"p"}}',
      '{"log":"b","d\\u0061te":"900000000"}',
    ]) {
      expect(viaJsonParse(text)).not.toBe('invalid');
      expect(viaScanner(text)).toBeUndefined();
    }
  });
});

/**
 * The line is copied eight bytes at a time between escapes: every kind of byte and escape, at every offset
 * from the record's start and from the 8-byte words, gives the bytes JSON.parse then UTF-8 would, raw bytes
 * (invalid UTF-8 included) copied as they are, and every refusal stays a refusal.
 */
describe('JSON record scanner, line copied by words', () => {
  const raw = (...bytes: number[]) => Buffer.from(bytes);
  const pieces: Array<{ json: Buffer; line: Buffer | 'invalid' }> = [
    { json: Buffer.from('a'), line: Buffer.from('a') },
    { json: Buffer.from('abcdefghij'), line: Buffer.from('abcdefghij') },
    { json: Buffer.from('\\"'), line: Buffer.from('"') },
    { json: Buffer.from('\\\\'), line: Buffer.from('\\') },
    { json: Buffer.from('\\/'), line: Buffer.from('/') },
    { json: Buffer.from('\\n\\t\\r\\b\\f'), line: Buffer.from('\n\t\r\b\f') },
    { json: Buffer.from('\\u00e9\\u20AC'), line: Buffer.from('é€') },
    { json: Buffer.from('\\ud834\\udd1e'), line: Buffer.from('𝄞') },
    { json: Buffer.from('\\ud800x'), line: Buffer.from('\ufffdx') },
    { json: Buffer.from('\\udc00'), line: Buffer.from('\ufffd') },
    { json: Buffer.from('é☃𝄞'), line: Buffer.from('é☃𝄞') },
    { json: raw(0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f), line: raw(0x20, 0x21, 0x23, 0x5b, 0x5d, 0x7f) },
    { json: raw(0x80, 0xff, 0xc3), line: raw(0x80, 0xff, 0xc3) },
    { json: raw(0x01), line: 'invalid' },
    { json: raw(0x1f), line: 'invalid' },
    { json: raw(0x0a), line: 'invalid' },
    { json: Buffer.from('\\x'), line: 'invalid' },
    { json: Buffer.from('\\u12g4'), line: 'invalid' },
  ];

  it('copies what the byte loop copied and refuses what it refused, at every offset', () => {
    fc.assert(
      fc.property(
        fc.nat(15),
        fc.array(fc.nat(pieces.length - 1), { maxLength: 12 }),
        fc.nat(15),
        (pad, picks, tail) => {
          const chosen = picks.map((i) => pieces[i]!);
          const body = Buffer.concat([
            Buffer.from(`${' '.repeat(pad)}{"log":"`),
            ...chosen.map((p) => p.json),
            Buffer.from(`${'z'.repeat(tail)}","n":1}`),
          ]);
          const invalid = chosen.some((p) => p.line === 'invalid');
          const expected = invalid
            ? undefined
            : Buffer.concat([...chosen.map((p) => p.line as Buffer), Buffer.from('z'.repeat(tail))]);
          const scanner = new JsonRecordScanner();
          const rec = scanner.scan(body);
          if (!expected) {
            expect(rec).toBeUndefined();
            return;
          }
          expect(rec).toBeDefined();
          expect(scanner.line.subarray(0, rec!.lineLength)).toEqual(expected);
          // The same record among others, its line written near the end of a shared line buffer.
          const many = Buffer.concat([Buffer.from('{"log":"x"}\n'), body]);
          const line = Buffer.alloc(many.length);
          const at = line.length - expected.length;
          const next = scanner.scanNext(many, 12 + pad, line, at, 100);
          expect(next?.end).toBe(many.length);
          expect(line.subarray(at, at + next!.lineLength)).toEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses a line whose closing quote is missing, whatever its length', () => {
    const scanner = new JsonRecordScanner();
    for (let n = 0; n < 40; n++) {
      expect(scanner.scan(Buffer.from(`{"log":"${'a'.repeat(n)}`))).toBeUndefined();
      expect(scanner.scan(Buffer.from(`{"log":"${'a'.repeat(n)}\\`))).toBeUndefined();
      expect(scanner.scan(Buffer.from(`{"log":"${'a'.repeat(n)}\\u00`))).toBeUndefined();
    }
  });
});

/**
 * The record's date read from the scanner's spans (numbers parsed from their bytes, the first key's value,
 * the known date keys' last values) is the date entryFromRecord finds in the JSON.parse'd record.
 */
describe('JSON record reader, record date', () => {
  const dateKey = fc.constantFrom('date', '@timestamp', 'timestamp', 'time', 'ts', 'd\\u0061te', '__proto__');
  const number = fc.oneof(
    fc.double({ min: -1e20, max: 1e20, noNaN: true }),
    fc.integer({ min: 0, max: 2 ** 53 }),
    fc.double({ min: 9e8, max: 5e9, noNaN: true }).map((x) => Math.round(x * 1e6) / 1e6),
    fc.bigInt({ min: 0n, max: 10n ** 19n }),
    fc.constantFrom('1764000000.123', '-0', '0.1', '1e3', '1764000000123456789', '17640000001234567.5'),
  );
  const value = fc.oneof(
    number.map((n) => (typeof n === 'string' ? n : JSON.stringify(typeof n === 'bigint' ? Number(n) : n))),
    number.map((n) => JSON.stringify(String(n))),
    fc.constantFrom('"2025-11-24T16:00:00.5Z"', '"2018-05-30 09:39:52.000681"', 'null', 'true', '"x"', '{}'),
  );

  it('agrees with entryFromRecord', async () => {
    const { JsonRecordReader } = await import('../../ingest/json-record-reader.js');
    const { entryFromRecord } = await import('../../ingest/record-entry.js');
    const reader = new JsonRecordReader();
    fc.assert(
      fc.property(fc.array(fc.tuple(dateKey, value), { maxLength: 4 }), fc.boolean(), (pairs, lineFirst) => {
        const members = pairs.map(([k, v]) => `"${k}":${v}`);
        if (lineFirst) members.unshift('"log":"a line"');
        else members.push('"log":"a line"');
        const text = `{${members.join(',')}}`;
        const got = reader.read(Buffer.from(text));
        if (!got) return; // the general path takes it
        expect(got.timeMs).toBe(entryFromRecord(JSON.parse(text)).timeMs);
      }),
      { numRuns: 5000 },
    );
  });
});
