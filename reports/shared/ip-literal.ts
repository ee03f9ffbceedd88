/**
 * IP literals: telling them from hostnames, their family, and whether a CIDR (a ServiceEntry `addresses` item)
 * contains one. Pure: `node:net` is only used for its parser.
 */
import { isIP } from 'node:net';

/** `[::1]` → `::1`; a zone (`fe80::1%eth0`) is dropped. */
export function bareIp(text: string): string {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  return s.toLowerCase();
}

/** 4, 6, or 0 when `text` is not an IP literal (brackets and zones allowed). */
export function ipFamily(text: string): 0 | 4 | 6 {
  const ip = bareIp(text);
  // A hostname has neither a colon nor only digits and dots: no need for node's (regular-expression) parser,
  // which the reports otherwise run on every one of tens of thousands of names.
  if (!ip.includes(':') && !/^[0-9.]+$/.test(ip)) return 0;
  const f = isIP(ip);
  return f === 4 ? 4 : f === 6 ? 6 : 0;
}

export function isIpLiteral(text: string): boolean {
  return ipFamily(text) !== 0;
}

/** The address as a 32- or 128-bit integer, or undefined when it is not an IP literal. */
export function ipToBigInt(text: string): { family: 4 | 6; value: bigint } | undefined {
  const ip = bareIp(text);
  const family = ipFamily(ip);
  if (family === 4) return { family, value: v4ToBigInt(ip) };
  if (family !== 6) return undefined;
  let head = ip;
  let tailWords: number[] = [];
  const lastColon = ip.lastIndexOf(':');
  const tail = ip.slice(lastColon + 1);
  if (tail.includes('.')) {
    const v4 = v4ToBigInt(tail);
    tailWords = [Number(v4 >> 16n), Number(v4 & 0xffffn)];
    head = ip.slice(0, lastColon + 1);
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const [left = '', right] = head.split('::');
  const leftWords = left === '' ? [] : left.split(':').map((h) => Number.parseInt(h, 16));
  const rightWords =
    right === undefined || right === '' ? [] : right.split(':').map((h) => Number.parseInt(h, 16));
  const fill = 8 - leftWords.length - rightWords.length - tailWords.length;
  const words = [
    ...leftWords,
    ...new Array<number>(right === undefined ? 0 : fill).fill(0),
    ...rightWords,
    ...tailWords,
  ];
  let value = 0n;
  for (const w of words) value = (value << 16n) | BigInt(w);
  return { family, value };
}

function v4ToBigInt(ip: string): bigint {
  let value = 0n;
  for (const part of ip.split('.')) value = (value << 8n) | BigInt(Number.parseInt(part, 10));
  return value;
}

/** Whether `cidr` (`1.2.3.0/24`, `2001:db8::/32`, or a bare IP meaning /32 or /128) contains `ip`. */
export function cidrContains(cidr: string, ip: string): boolean {
  const slash = cidr.indexOf('/');
  const net = ipToBigInt(slash >= 0 ? cidr.slice(0, slash) : cidr);
  const addr = ipToBigInt(ip);
  if (net === undefined || addr === undefined || net.family !== addr.family) return false;
  const bits = net.family === 4 ? 32 : 128;
  const prefix = slash >= 0 ? Number(cidr.slice(slash + 1)) : bits;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) return false;
  const shift = BigInt(bits - prefix);
  return net.value >> shift === addr.value >> shift;
}

/** The single-address CIDR of an IP: `/32` for IPv4, `/128` for IPv6. */
export function hostCidr(ip: string): string {
  const bare = bareIp(ip);
  return ipFamily(bare) === 6 ? `${bare}/128` : `${bare}/32`;
}
