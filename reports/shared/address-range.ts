/**
 * Address ranges of ServiceEntry `addresses` (an IP or a CIDR) and of destinations, as integer intervals, so
 * that "does this registry entry's network contain that suggested network" and "which part of it does not"
 * are exact: containment, overlap, subtraction, and the CIDRs that spell a remainder.
 *
 * An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, and a prefix of /96 or longer within `::ffff:0:0/96`) is the
 * IPv4 address it maps: dual-stack sockets and the store's IPv6 columns write IPv4 that way, and Envoy
 * matches the two alike. Host bits after the prefix are ignored (`10.0.0.1/8` is `10.0.0.0/8`), as Envoy does.
 */
import { ipToBigInt } from './ip-literal.js';

export interface AddressRange {
  family: 4 | 6;
  /** First and last address, inclusive. */
  first: bigint;
  last: bigint;
}

const MAPPED_PREFIX = 0xffffn; // ::ffff:0:0/96
const bitsOf = (family: 4 | 6) => (family === 4 ? 32 : 128);

/** The range of an IP (`10.0.0.1`, `[::1]`) or a CIDR (`10.0.0.0/8`, `2001:db8::/32`); undefined when neither. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const t = text.trim();
  const slash = t.indexOf('/');
  const ip = ipToBigInt(slash >= 0 ? t.slice(0, slash) : t);
  if (!ip) return undefined;
  let family = ip.family;
  let value = ip.value;
  let prefix = bitsOf(family);
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return undefined;
    prefix = Number(p);
    if (prefix > bitsOf(family)) return undefined;
  }
  if (family === 6 && value >> 32n === MAPPED_PREFIX && prefix >= 96) {
    family = 4;
    value &= 0xffffffffn;
    prefix -= 96;
  }
  const hostBits = BigInt(bitsOf(family) - prefix);
  const first = (value >> hostBits) << hostBits;
  return { family, first, last: first + (1n << hostBits) - 1n };
}

export function rangeContains(outer: AddressRange, inner: AddressRange): boolean {
  return outer.family === inner.family && outer.first <= inner.first && inner.last <= outer.last;
}

export function rangesOverlap(a: AddressRange, b: AddressRange): boolean {
  return a.family === b.family && a.first <= b.last && b.first <= a.last;
}

/** The parts of `range` outside every range of `minus`, in address order (empty when they cover it). */
export function subtractRanges(range: AddressRange, minus: readonly AddressRange[]): AddressRange[] {
  const cuts = minus
    .filter((m) => rangesOverlap(m, range))
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const out: AddressRange[] = [];
  let next = range.first;
  for (const c of cuts) {
    if (c.first > next) out.push({ family: range.family, first: next, last: c.first - 1n });
    if (c.last + 1n > next) next = c.last + 1n;
    if (next > range.last) return out;
  }
  if (next <= range.last) out.push({ family: range.family, first: next, last: range.last });
  return out;
}

/** The union of `ranges` as disjoint ranges, IPv4 first, in address order (overlapping and adjacent ones joined). */
export function mergeRanges(ranges: readonly AddressRange[]): AddressRange[] {
  const sorted = [...ranges].sort((a, b) =>
    a.family !== b.family ? a.family - b.family : a.first < b.first ? -1 : a.first > b.first ? 1 : 0,
  );
  const out: AddressRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && last.family === r.family && r.first <= last.last + 1n) {
      if (r.last > last.last) last.last = r.last;
    } else out.push({ ...r });
  }
  return out;
}

/** The fewest CIDRs spelling `range` exactly (`10.0.0.0-10.0.0.2` → `10.0.0.0/31`, `10.0.0.2/32`). */
export function rangeToCidrs(range: AddressRange): string[] {
  const bits = bitsOf(range.family);
  const out: string[] = [];
  let start = range.first;
  while (start <= range.last) {
    // The largest block aligned at `start` that does not pass the end.
    let size = 0;
    while (size < bits && (start & ((1n << BigInt(size + 1)) - 1n)) === 0n) {
      if (start + (1n << BigInt(size + 1)) - 1n > range.last) break;
      size++;
    }
    out.push(`${formatIp(range.family, start)}/${bits - size}`);
    start += 1n << BigInt(size);
  }
  return out;
}

/** An address in its usual text: dotted IPv4, or IPv6 with the longest run of zero words as `::` (RFC 5952). */
export function formatIp(family: 4 | 6, value: bigint): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const words: number[] = [];
  for (let i = 7; i >= 0; i--) words.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}
