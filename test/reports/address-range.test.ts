/** Address ranges of ServiceEntry `addresses`: containment, subtraction and the CIDRs of a remainder. */
import { isIP } from 'node:net';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AddressRange,
  formatIp,
  mergeRanges,
  parseAddressRange,
  rangeContains,
  rangesOverlap,
  rangeToCidrs,
  subtractRanges,
} from '../../reports/shared/address-range.js';

const r = (text: string): AddressRange => {
  const range = parseAddressRange(text);
  if (!range) throw new Error(`not an address range: ${text}`);
  return range;
};
const contains = (outer: string, inner: string) => rangeContains(r(outer), r(inner));

describe('parseAddressRange', () => {
  it.each([
    ['10.20.0.0/16', 4, 0x0a140000n, 0x0a14ffffn],
    ['10.20.1.5', 4, 0x0a140105n, 0x0a140105n],
    ['10.20.1.5/32', 4, 0x0a140105n, 0x0a140105n],
    ['10.20.1.5/8', 4, 0x0a000000n, 0x0affffffn], // host bits ignored, as Envoy does
    ['0.0.0.0/0', 4, 0n, 0xffffffffn],
    ['::/0', 6, 0n, (1n << 128n) - 1n],
    ['2001:db8::1/128', 6, (0x20010db8n << 96n) | 1n, (0x20010db8n << 96n) | 1n],
    ['[2001:db8::1]', 6, (0x20010db8n << 96n) | 1n, (0x20010db8n << 96n) | 1n],
    ['::ffff:10.20.1.5', 4, 0x0a140105n, 0x0a140105n], // IPv4-mapped is IPv4
    ['::ffff:10.20.0.0/112', 4, 0x0a140000n, 0x0a14ffffn],
    ['::ffff:a14:105', 4, 0x0a140105n, 0x0a140105n],
    ['::ffff:0:0/96', 4, 0n, 0xffffffffn],
  ] as const)('%s', (text, family, first, last) => {
    expect(parseAddressRange(text)).toEqual({ family, first, last });
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/-1', 'example.com', '10.0.0.0/8/8', ''])(
    '%s is not a range',
    (text) => {
      expect(parseAddressRange(text)).toBeUndefined();
    },
  );

  it('a mapped prefix shorter than /96 stays IPv6 (it holds more than IPv4)', () => {
    expect(r('::ffff:0:0/95').family).toBe(6);
  });
});

describe('containment', () => {
  it.each([
    ['10.20.0.0/16', '10.20.1.0/24', true],
    ['10.20.0.0/16', '10.21.1.0/24', false],
    ['10.20.1.0/24', '10.20.0.0/16', false],
    ['10.20.0.0/16', '10.20.1.5', true],
    ['0.0.0.0/0', '203.0.113.0/24', true],
    ['10.20.1.5/32', '10.20.1.5', true],
    ['10.20.1.5/32', '10.20.1.6', false],
    ['2001:db8::/32', '2001:db8:1::/48', true],
    ['2001:db8::/32', '2001:db9::/48', false],
    ['2001:db8::1/128', '2001:db8::1', true],
    ['::/0', '2001:db8::/64', true],
    ['::/0', '10.0.0.0/8', false], // families are apart: ::/0 is IPv6 only
    ['0.0.0.0/0', '::1', false],
    ['10.20.0.0/16', '::ffff:10.20.3.4', true],
    ['::ffff:10.20.0.0/112', '10.20.3.0/24', true],
  ])('%s ⊇ %s: %s', (outer, inner, expected) => {
    expect(contains(outer, inner)).toBe(expected);
  });

  it('overlap is symmetric and implied by containment', () => {
    expect(rangesOverlap(r('10.0.0.0/25'), r('10.0.0.0/24'))).toBe(true);
    expect(rangesOverlap(r('10.0.0.0/24'), r('10.0.0.0/25'))).toBe(true);
    expect(rangesOverlap(r('10.0.0.0/25'), r('10.0.0.128/25'))).toBe(false);
  });
});

describe('subtraction and CIDRs', () => {
  const rest = (from: string, minus: string[]) => subtractRanges(r(from), minus.map(r)).flatMap(rangeToCidrs);

  it.each([
    ['52.0.1.0/24', ['52.0.1.0/25'], ['52.0.1.128/25']],
    ['52.0.1.0/24', ['52.0.1.128/25'], ['52.0.1.0/25']],
    ['52.0.1.0/24', ['52.0.0.0/16'], []],
    ['52.0.1.0/24', ['52.0.1.0/25', '52.0.1.128/25'], []],
    [
      '52.0.1.0/24',
      ['52.0.1.5'],
      [
        '52.0.1.0/30',
        '52.0.1.4/32',
        '52.0.1.6/31',
        '52.0.1.8/29',
        '52.0.1.16/28',
        '52.0.1.32/27',
        '52.0.1.64/26',
        '52.0.1.128/25',
      ],
    ],
    ['52.0.1.0/24', ['10.0.0.0/8', '2001:db8::/32'], ['52.0.1.0/24']],
    ['0.0.0.0/0', ['0.0.0.0/1'], ['128.0.0.0/1']],
    ['2001:db8::/64', ['2001:db8::/65'], ['2001:db8:0:0:8000::/65']],
    ['::/0', ['::/1'], ['8000::/1']],
    ['2001:db8::/127', ['2001:db8::1'], ['2001:db8::/128']],
  ])('%s minus %j = %j', (from, minus, expected) => {
    expect(rest(from, minus)).toEqual(expected);
  });

  it('merges overlapping and adjacent ranges, keeping the families apart', () => {
    const merged = mergeRanges(
      ['10.0.0.128/25', '2001:db8::/64', '10.0.0.0/25', '10.0.1.0/24', '10.0.0.5'].map(r),
    );
    expect(merged.flatMap(rangeToCidrs)).toEqual(['10.0.0.0/23', '2001:db8::/64']);
    expect(mergeRanges([r('10.0.0.0/24'), r('10.0.2.0/24')]).flatMap(rangeToCidrs)).toEqual([
      '10.0.0.0/24',
      '10.0.2.0/24',
    ]);
  });

  it('formats IPv6 as RFC 5952 (longest zero run, first on ties, none for a single zero word)', () => {
    const v = (text: string) => r(text).first;
    expect(formatIp(6, v('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(formatIp(6, v('2001:db8:0:1:1:1:1:1'))).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIp(6, 0n)).toBe('::');
    expect(formatIp(6, 1n)).toBe('::1');
    expect(formatIp(6, (1n << 128n) - 1n)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(formatIp(4, 0xffffffffn)).toBe('255.255.255.255');
  });

  it('property: the rest and the parts subtracted make up the range, without overlap (IPv4 and IPv6)', () => {
    const v4 = fc
      .tuple(fc.nat(0xffffffff), fc.integer({ min: 20, max: 32 }))
      .map(([a, n]) => ({ v: BigInt(a), n, f: 4 as const }));
    const v6 = fc
      .tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 116, max: 128 }))
      .map(([a, n]) => ({ v: a, n, f: 6 as const }));
    const cidr = (x: { v: bigint; n: number; f: 4 | 6 }) => `${formatIp(x.f, x.v)}/${x.n}`;
    for (const gen of [v4, v6]) {
      fc.assert(
        fc.property(
          gen,
          fc.array(fc.nat(1023), { maxLength: 4 }),
          fc.array(fc.integer({ min: 0, max: 10 }), { maxLength: 4 }),
          (base, offsets, sizes) => {
            const bits = base.f === 4 ? 32 : 128;
            const range = r(cidr({ ...base, n: bits - 10 }));
            const minus = offsets.map((o, i) => {
              const size = sizes[i] ?? 0;
              const start = range.first + ((BigInt(o) >> BigInt(size)) << BigInt(size));
              return r(`${formatIp(base.f, start)}/${bits - size}`);
            });
            const rest = subtractRanges(range, minus);
            const cidrs = rest.flatMap(rangeToCidrs).map(r);
            // every address of the range is in exactly one of: the rest, or some subtracted range
            for (let a = range.first; a <= range.last; a += 1n) {
              const inRest = cidrs.filter((c) => c.first <= a && a <= c.last).length;
              const inMinus = minus.some((m) => m.first <= a && a <= m.last);
              expect(inRest).toBe(inMinus ? 0 : 1);
            }
            for (const c of cidrs) expect(isIP(formatIp(c.family, c.first))).toBe(base.f);
          },
        ),
        { numRuns: 30 },
      );
    }
  });
});
