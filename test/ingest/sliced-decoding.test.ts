/**
 * The msgpack header scanner agrees with the encoder on where every value ends (all types: ints, floats, str,
 * bin, ext, nested maps and arrays), and counts depth and elements the way the limits mean them; decoding a
 * body in slices gives exactly what decoding it in one go gives.
 */
import { gzipSync } from 'node:zlib';
import { ExtData, encode } from '@msgpack/msgpack';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BodyError } from '../../ingest/body-error.js';
import type { DecodedEntry } from '../../ingest/decoded-entry.js';
import { decodeBody, decodeBodySliced } from '../../ingest/http/fluent-bit-body.js';
import { MsgpackScanner } from '../../ingest/msgpack-scan.js';
import { sliceBudget } from '../../ingest/work-slices.js';
import { generatedLines } from '../helpers/lines.js';

const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.integer(),
      fc
        .bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n })
        .map((b) => (b >= -(1n << 53n) && b < 1n << 53n ? Number(b) : b)),
      fc.double(),
      fc.string({ maxLength: 300 }),
      fc.uint8Array({ maxLength: 300 }),
      fc.boolean(),
      fc.constant(null),
      fc
        .tuple(fc.integer({ min: 1, max: 100 }), fc.uint8Array({ maxLength: 300 }))
        .map(([t, d]) => new ExtData(t, d)),
    ),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(fc.string({ maxLength: 10 }), tie('value'), { maxKeys: 20 }),
  ),
})).value;

function depthAndElements(v: unknown, depth = 0): { depth: number; elements: number } {
  if (Array.isArray(v)) {
    let d = depth + 1;
    let n = v.length;
    for (const x of v) {
      const r = depthAndElements(x, depth + 1);
      d = Math.max(d, r.depth);
      n += r.elements;
    }
    return { depth: v.length ? d : depth, elements: n };
  }
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array) && !(v instanceof ExtData)) {
    return depthAndElements(Object.values(v), depth);
  }
  return { depth, elements: 0 };
}

describe('MsgpackScanner', () => {
  it('finds the end of any value, and refuses exactly what is deeper or wider than the limits', () => {
    fc.assert(
      fc.property(
        value,
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 0, max: 60 }),
        (v, maxDepth, maxElements) => {
          const bytes = encode(v, { useBigInt64: true });
          const scanner = new MsgpackScanner(bytes);
          expect(scanner.valueEnd(0, 0, { maxDepth: 1000, maxElements: 1_000_000 })).toBe(bytes.length);
          const { depth, elements } = depthAndElements(v);
          expect(scanner.elements).toBe(elements);
          let refused: unknown;
          try {
            scanner.valueEnd(0, 0, { maxDepth, maxElements });
          } catch (err) {
            refused = err;
          }
          if (depth > maxDepth || elements > maxElements) expect(refused).toBeInstanceOf(BodyError);
          else expect(refused).toBeUndefined();
        },
      ),
      { numRuns: 500 },
    );
  });

  it('a value cut anywhere is refused as cut short, never read past the end', () => {
    fc.assert(
      fc.property(value, fc.nat(), (v, at) => {
        const bytes = encode(v, { useBigInt64: true });
        const cut = bytes.subarray(0, at % bytes.length);
        expect(() => new MsgpackScanner(cut).valueEnd(0, 0, { maxDepth: 1000, maxElements: 1e6 })).toThrow(
          BodyError,
        );
      }),
      { numRuns: 300 },
    );
  });
});

/** An entry with its line as text: lines read without JSON.parse point into a buffer shared by the body. */
function asText(e: DecodedEntry): DecodedEntry {
  if (!e.bytes) return e;
  const { bytes, start, end, ...rest } = e;
  return { ...rest, line: bytes.toString('utf8', start ?? 0, end ?? bytes.length) };
}

describe('sliced decoding', () => {
  const limits = { maxDecodedBytes: 64 << 20, maxRecords: 100_000, maxKeysPerRecord: 1000, maxDepth: 64 };
  const lines = generatedLines(3000, 5).map((g) => g.line);
  const bodies: Array<[string, Buffer]> = [
    ['text/plain', Buffer.from(`${lines.join('\n\n')}\n`)],
    [
      'application/x-ndjson',
      Buffer.from(lines.map((l) => JSON.stringify({ log: l, kubernetes: { pod_name: 'p' } })).join('\n')),
    ],
    ['application/json', Buffer.from(JSON.stringify(lines.map((l) => ({ date: 1.5, log: l }))))],
    ['application/msgpack', Buffer.concat(lines.map((l, i) => encode([i, { log: l, n: [i, { a: i }] }])))],
  ];

  it('gives the same entries as decoding in one go, pausing after every step', async () => {
    for (const [type, body] of bodies) {
      const whole = decodeBody(body, { contentType: type, limits });
      // sliceMs 0: a pause at every yield.
      const sliced = await decodeBodySliced(body, {
        contentType: type,
        limits,
        budget: sliceBudget(60_000, undefined, 0),
      });
      expect(sliced.map(asText), type).toEqual(whole.map(asText));
      expect(whole.length, type).toBe(3000);
    }
  });

  it("a gzip body decodes to the same entries whatever its trailer's size field says (it only sizes the buffer)", async () => {
    const [type, body] = bodies[1]!;
    const whole = decodeBody(body, { contentType: type, limits });
    const gz = gzipSync(body);
    const withSize = (isize: number) => {
      const copy = Buffer.from(gz);
      copy.writeUInt32LE(isize >>> 0, copy.length - 4);
      return copy;
    };
    // Two members: the trailer read is the second's, far smaller than the whole.
    const half = body.indexOf(10, body.length >> 1) + 1;
    const members = Buffer.concat([gzipSync(body.subarray(0, half)), gzipSync(body.subarray(half))]);
    const variants: Array<[string, Buffer, boolean]> = [
      ['exact', gz, true],
      ['two members', members, true],
      ['too small', withSize(1), false],
      ['zero', withSize(0), false],
      ['too large', withSize(0xffffffff), false],
    ];
    for (const [name, gzBody, valid] of variants) {
      const decoded = await decodeBodySliced(gzBody, {
        contentType: type,
        contentEncoding: 'gzip',
        limits,
        budget: sliceBudget(60_000),
      }).catch((e: unknown) => e);
      // zlib checks ISIZE after inflating: a lying one fails the body as corrupt (400), never truncates it.
      if (valid) expect((decoded as DecodedEntry[]).map(asText), name).toEqual(whole.map(asText));
      else expect((decoded as BodyError).status, name).toBe(400);
    }
  });

  it('a gzip bomb whose trailer claims a small size is still cut at maxDecodedBytes (413)', async () => {
    const bomb = gzipSync(Buffer.alloc(8 << 20), { level: 1 });
    bomb.writeUInt32LE(100, bomb.length - 4);
    const err = await decodeBodySliced(bomb, {
      contentType: 'application/x-ndjson',
      contentEncoding: 'gzip',
      limits: { ...limits, maxDecodedBytes: 1 << 20 },
      budget: sliceBudget(60_000),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyError);
    expect((err as BodyError).status).toBe(413);
  });

  it('past its deadline a body is refused with 413 naming ingest.maxDecodeMs', async () => {
    const [type, body] = bodies[0]!;
    const err = await decodeBodySliced(body, {
      contentType: type,
      limits,
      budget: sliceBudget(0, undefined, 0),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BodyError);
    expect((err as BodyError).status).toBe(413);
    expect((err as BodyError).message).toMatch(/longer than 0 ms \(limit ingest\.maxDecodeMs\)/);
  });
});
