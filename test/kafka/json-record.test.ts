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
    k = rec.kubernetes
      ? (JSON.parse(buf.toString('utf8', rec.kubernetes.start, rec.kubernetes.end)) as unknown)
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
});
