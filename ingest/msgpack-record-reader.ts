/**
 * The fast path for Fluent Bit's usual msgpack event, `[[EventTime, {}], record]` (or `[EventTime, record]`)
 * whose record holds the line in `log` (or `message`), scalar fields and the `kubernetes` map: the line is
 * taken as the bytes it was sent as (msgpack strings are UTF-8 already, nothing to unescape), the map is
 * compared byte for byte with the previous record's and decoded only when it changes, and no JS object is
 * built for the record. Anything else (integer timestamps, group markers, nested fields besides the map,
 * extension values, binary strings, repeated keys) gives up, and the caller decodes the event the general
 * way, which also words its errors. The caller has checked the event's limits with the header scanner.
 */
import type { DecodedEntry, SourceMeta } from './decoded-entry.js';
import { EMPTY_META, metaFromKubernetes } from './kubernetes-meta.js';
import type { MsgpackScanner } from './msgpack-scan.js';
import { RepeatedMap } from './repeated-map.js';

const NO_LIMITS = { maxDepth: Number.POSITIVE_INFINITY, maxElements: Number.POSITIVE_INFINITY };
const KEY_LOG = Buffer.from('log');
const KEY_MESSAGE = Buffer.from('message');
const KEY_KUBERNETES = Buffer.from('kubernetes');
const KEY_PROTO = Buffer.from('__proto__');

export class MsgpackRecordReader {
  private readonly maps = new RepeatedMap<SourceMeta>();

  /** `decodeMap` decodes a kubernetes map the way the general path does (throws when it would refuse it). */
  constructor(private readonly decodeMap: (bytes: Uint8Array) => unknown) {}

  /** The entry for the event `buf[start..end)`, or undefined to decode it the general way. */
  read(buf: Buffer, start: number, end: number, scanner: MsgpackScanner): DecodedEntry | undefined {
    let p = start;
    if (buf[p] !== 0x92) return undefined;
    p++;
    // [EventTime, metadata] with empty metadata (Fluent Bit 2.1+), or a bare EventTime (forward).
    const nested = buf[p] === 0x92;
    if (nested) p++;
    if (buf[p] !== 0xd7 || buf[p + 1] !== 0x00 || p + 10 > end) return undefined;
    const seconds = buf.readUInt32BE(p + 2);
    const nanoseconds = buf.readUInt32BE(p + 6);
    if (seconds >= 0xfffffffe) return undefined; // a group marker
    p += 10;
    if (nested) {
      if (buf[p] !== 0x80) return undefined;
      p++;
    }
    // The record: a map of str keys.
    let keys: number;
    const m = buf[p]!;
    if (m >= 0x80 && m <= 0x8f) {
      keys = m & 0x0f;
      p++;
    } else if (m === 0xde) {
      keys = (buf[p + 1]! << 8) | buf[p + 2]!;
      p += 3;
    } else {
      return undefined;
    }
    let log = -1;
    let logEnd = -1;
    let message = -1;
    let messageEnd = -1;
    let kubernetes = -1;
    let kubernetesEnd = -1;
    for (let k = 0; k < keys; k++) {
      const keyStart = strStart(buf, p);
      if (keyStart < 0) return undefined;
      const keyEnd = keyStart + strLength(buf, p);
      p = keyEnd;
      if (p >= end) return undefined;
      if (is(buf, keyStart, keyEnd, KEY_LOG) || is(buf, keyStart, keyEnd, KEY_MESSAGE)) {
        const isLog = keyEnd - keyStart === 3;
        if ((isLog ? log : message) >= 0) return undefined; // repeated: the general path decides
        const s = strStart(buf, p);
        if (s < 0) return undefined;
        const e = s + strLength(buf, p);
        if (isLog) {
          log = s;
          logEnd = e;
        } else {
          message = s;
          messageEnd = e;
        }
        p = e;
      } else if (is(buf, keyStart, keyEnd, KEY_KUBERNETES)) {
        if (kubernetes >= 0) return undefined;
        kubernetes = p;
        p = kubernetesEnd = scanner.valueEnd(p, 0, NO_LIMITS);
      } else {
        if (is(buf, keyStart, keyEnd, KEY_PROTO)) return undefined;
        p = scalarEnd(buf, p);
        if (p < 0) return undefined;
      }
      if (p > end) return undefined;
    }
    if (p !== end) return undefined;
    const lineStart = log >= 0 ? log : message;
    let lineEnd = log >= 0 ? logEnd : messageEnd;
    if (lineStart < 0) return undefined;
    while (lineEnd > lineStart && (buf[lineEnd - 1] === 10 || buf[lineEnd - 1] === 13)) lineEnd--;
    let meta: SourceMeta;
    if (kubernetes >= 0) {
      const found = this.metaOf(buf, kubernetes, kubernetesEnd);
      if (!found) return undefined;
      meta = found;
    } else {
      meta = { ...EMPTY_META };
    }
    return {
      bytes: buf,
      start: lineStart,
      end: lineEnd,
      meta,
      timeMs: seconds * 1000 + Math.floor(nanoseconds / 1e6),
    };
  }

  /** The meta of the map at `buf[start..end)`: the previous record's when the bytes are the same. */
  private metaOf(buf: Buffer, start: number, end: number): SourceMeta | undefined {
    const same = this.maps.same(buf, start, end);
    if (same) return same;
    let value: unknown;
    try {
      value = this.decodeMap(buf.subarray(start, end));
    } catch {
      return undefined;
    }
    const meta = metaFromKubernetes(value);
    this.maps.remember(buf, start, end, meta);
    return meta;
  }
}

/** Where the payload of the str at `buf[p]` starts; -1 when it is not a str. */
function strStart(buf: Buffer, p: number): number {
  const b = buf[p]!;
  if (b >= 0xa0 && b <= 0xbf) return p + 1;
  if (b === 0xd9) return p + 2;
  if (b === 0xda) return p + 3;
  if (b === 0xdb) return p + 5;
  return -1;
}

/** The payload length of the str at `buf[p]` (strStart checked it is one). */
function strLength(buf: Buffer, p: number): number {
  const b = buf[p]!;
  if (b <= 0xbf) return b & 0x1f;
  if (b === 0xd9) return buf[p + 1]!;
  if (b === 0xda) return (buf[p + 1]! << 8) | buf[p + 2]!;
  return buf.readUInt32BE(p + 1);
}

/** Past the nil, boolean, number or str at `buf[p]`; -1 for anything else (containers, bin, ext). */
function scalarEnd(buf: Buffer, p: number): number {
  const b = buf[p]!;
  if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) return p + 1;
  const s = strStart(buf, p);
  if (s >= 0) return s + strLength(buf, p);
  switch (b) {
    case 0xcc:
    case 0xd0:
      return p + 2;
    case 0xcd:
    case 0xd1:
      return p + 3;
    case 0xca:
    case 0xce:
    case 0xd2:
      return p + 5;
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return p + 9;
    default:
      return -1;
  }
}

function is(buf: Buffer, start: number, end: number, key: Buffer): boolean {
  if (end - start !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (buf[start + k] !== key[k]) return false;
  return true;
}
