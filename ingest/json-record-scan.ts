/**
 * The fast path for Fluent Bit's `format json` Kafka records: one pass over the bytes finds the top-level
 * keys the consumer needs (the line in `log` or `message`, the `kubernetes` map, the date keys) without
 * building the record as JS objects, and unescapes the line straight into bytes for the parser.
 *
 * It gives up (returns undefined) on anything it does not expect, and the caller falls back to JSON.parse,
 * which also words the error of invalid JSON. Structure is checked (strings, escapes in the line, nesting,
 * separators, nothing after the record); values the consumer does not read are not validated beyond their
 * extent.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * The spans of the last record scanned, in one object the scanner reuses (a record costs no allocation): it
 * is overwritten by the next scan. Spans are byte offsets into the buffer scanned, end exclusive; -1 where
 * the record has no such value.
 */
export class ScannedRecord {
  /** Length of the unescaped line (`log`, else `message`) in the scanner's `line` buffer; -1 without one. */
  lineLength = -1;
  /** Index just after the record's closing brace. */
  end = 0;
  /**
   * From scanNext: keys of the record, its kubernetes map's included, counted as ingest.maxKeysPerRecord
   * counts them (JsonRecordSpans); from scan, the top-level keys alone.
   */
  keys = 0;
  /** The value of `kubernetes` (any JSON value). */
  kubernetesStart = -1;
  kubernetesEnd = -1;
  /** The first key's text between its quotes, and its value (its last, when the key comes again). */
  firstKeyStart = -1;
  firstKeyEnd = -1;
  firstStart = -1;
  firstEnd = -1;
  /** The first key's index in DATE_KEYS when its bytes are one of them; -1 otherwise. */
  firstDateKey = -1;
  /** The last value of each of DATE_KEYS in the record, by its index there (start -1 when absent). */
  readonly dateStarts = new Int32Array(DATE_KEYS.length);
  readonly dateEnds = new Int32Array(DATE_KEYS.length);

  reset(): void {
    this.lineLength = -1;
    this.end = 0;
    this.keys = 0;
    this.kubernetesStart = -1;
    this.kubernetesEnd = -1;
    this.firstKeyStart = -1;
    this.firstKeyEnd = -1;
    this.firstStart = -1;
    this.firstEnd = -1;
    this.firstDateKey = -1;
    const starts = this.dateStarts;
    for (let d = 0; d < starts.length; d++) starts[d] = -1;
  }

  /** The first key (a key without escapes: see plainKeyEnd). */
  firstKey(buf: Buffer): string {
    return buf.toString('utf8', this.firstKeyStart, this.firstKeyEnd);
  }
}

const KEY_LOG = Buffer.from('log');
const KEY_MESSAGE = Buffer.from('message');
const KEY_KUBERNETES = Buffer.from('kubernetes');
/** The date keys whose values a record's spans keep (record-time.ts KNOWN_DATE_KEYS). */
export const DATE_KEYS = ['date', '@timestamp', 'timestamp', 'time'] as const;
const DATE_KEY_BYTES = DATE_KEYS.map((k) => Buffer.from(k));

function isSpace(b: number | undefined): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function skipSpace(buf: Buffer, i: number): number {
  while (i < buf.length && isSpace(buf[i])) i++;
  return i;
}

/** Index of the quote closing the string that opens at `i`, or -1 when it is missing or not valid JSON. */
function stringEnd(buf: Buffer, i: number): number {
  const n = buf.length;
  for (let j = i + 1; j < n; j++) {
    const b = buf[j]!;
    if (b === QUOTE) return j;
    if (b < 0x20) return -1;
    if (b === BACKSLASH) {
      const c = buf[++j];
      if (c === 0x75) {
        if (hex4(buf, j + 1) < 0) return -1;
        j += 4;
      } else if (
        !(
          c === 0x22 ||
          c === 0x5c ||
          c === 0x2f ||
          c === 0x62 ||
          c === 0x66 ||
          c === 0x6e ||
          c === 0x72 ||
          c === 0x74
        )
      ) {
        return -1;
      }
    }
  }
  return -1;
}

/**
 * Index of the quote closing the key that opens at `i`; -1 when it is missing, has a control byte, or has an
 * escape: a key spelt with escapes (`"l\\u006fg"`) is left to JSON.parse, which reads it as the key it
 * spells, so every key compared here by its bytes is the key itself.
 */
function plainKeyEnd(buf: Buffer, i: number): number {
  const n = buf.length;
  for (let j = i + 1; j < n; j++) {
    const b = buf[j]!;
    if (b === QUOTE) return j;
    if (b < 0x20 || b === BACKSLASH) return -1;
  }
  return -1;
}

/** Past the digits from `k`, up to `end`. */
function digitsEnd(buf: Buffer, k: number, end: number): number {
  while (k < end && buf[k]! >= 0x30 && buf[k]! <= 0x39) k++;
  return k;
}

/** True for a JSON number token. */
function isNumber(buf: Buffer, start: number, end: number): boolean {
  let k = start;
  if (buf[k] === 0x2d) k++;
  if (buf[k] === 0x30) k++;
  else {
    const to = digitsEnd(buf, k, end);
    if (to === k) return false;
    k = to;
  }
  if (buf[k] === 0x2e) {
    const to = digitsEnd(buf, k + 1, end);
    if (to === k + 1) return false;
    k = to;
  }
  if (buf[k] === 0x65 || buf[k] === 0x45) {
    k++;
    if (buf[k] === 0x2b || buf[k] === 0x2d) k++;
    const to = digitsEnd(buf, k, end);
    if (to === k) return false;
    k = to;
  }
  return k === end;
}

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/**
 * Index just after the value starting at `i`, or -1 when it is not valid JSON. Strings and scalars are
 * checked here; objects and arrays only for their extent (`checkNested` parses them to check them).
 */
function valueEnd(buf: Buffer, i: number): number {
  const c = buf[i];
  if (c === QUOTE) {
    const q = stringEnd(buf, i);
    return q < 0 ? -1 : q + 1;
  }
  if (c === LBRACE || c === LBRACKET) {
    let depth = 0;
    let j = i;
    while (j < buf.length) {
      const b = buf[j]!;
      if (b === QUOTE) {
        const q = stringEnd(buf, j);
        if (q < 0) return -1;
        j = q + 1;
        continue;
      }
      if (b === LBRACE || b === LBRACKET) depth++;
      else if (b === RBRACE || b === RBRACKET) {
        depth--;
        if (depth === 0) return j + 1;
      }
      j++;
    }
    return -1;
  }
  let j = i;
  while (j < buf.length) {
    const b = buf[j]!;
    if (b === COMMA || b === RBRACE || b === RBRACKET || isSpace(b)) break;
    j++;
  }
  if (j === i) return -1;
  if (c === 0x74) return keyIs(buf, i, j, TRUE) ? j : -1;
  if (c === 0x66) return keyIs(buf, i, j, FALSE) ? j : -1;
  if (c === 0x6e) return keyIs(buf, i, j, NULL) ? j : -1;
  return isNumber(buf, i, j) ? j : -1;
}

/** An object or array value is parsed to check it (rare in Fluent Bit records besides `kubernetes`). */
function checkNested(buf: Buffer, start: number, end: number): boolean {
  const c = buf[start];
  if (c !== LBRACE && c !== LBRACKET) return true;
  try {
    JSON.parse(buf.toString('utf8', start, end));
    return true;
  } catch {
    return false;
  }
}

function sameBytes(buf: Buffer, a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (buf[a + k] !== buf[b + k]) return false;
  return true;
}

function keyIs(buf: Buffer, start: number, end: number, key: Buffer): boolean {
  if (end - start !== key.length) return false;
  for (let k = 0; k < key.length; k++) if (buf[start + k] !== key[k]) return false;
  return true;
}

/**
 * What a record's `kubernetes` map adds to the record's limits, for records that repeat a map scanned before:
 * its keys and array elements, and the deepest level of the map a container opens at (the map itself at 0).
 */
export interface HintShape {
  keys: number;
  level: number;
}

export class JsonRecordScanner {
  /** The unescaped line of the last record scanned. */
  line: Buffer = Buffer.allocUnsafe(1 << 16);
  /** Where in `line` the last record's line starts. */
  lineAt = 0;
  /**
   * A `kubernetes` value seen before. Records of one pod repeat it byte for byte, and a complete JSON value
   * found again at the start of a value ends where it ended before, so it need not be scanned again.
   */
  kubernetesHint: Buffer | undefined;
  /** The hint's shape, for scanNext's limits; set with the hint when known. */
  hintShape: HintShape | undefined;
  /** Set by scanNext: only scalars and the hinted kubernetes map are taken, anything nested gives up. */
  private flat = false;
  private maxKeys = Number.POSITIVE_INFINITY;

  /** The spans of a record that is one JSON object; undefined when the bytes are anything else. */
  scan(buf: Buffer): ScannedRecord | undefined {
    if (this.line.length < buf.length)
      this.line = Buffer.allocUnsafe(Math.max(buf.length, this.line.length * 2));
    this.lineAt = 0;
    this.flat = false;
    const rec = this.scanObject(buf, skipSpace(buf, 0));
    if (!rec || skipSpace(buf, rec.end) !== buf.length) return undefined;
    return rec;
  }

  /**
   * The record that is the JSON object starting at `buf[start]` of a body of many, with its end; undefined
   * for anything else, to be scanned for limits and read the general way. Only flat records are taken:
   * scalar values, and a `kubernetes` map equal to the hint, whose shape is known, so the record's keys and
   * depth are known without scanning anything nested. The line is unescaped into `line` (a buffer at least
   * as long as the body) at `lineAt`. Past `maxKeys` (ingest.maxKeysPerRecord) it gives up at once, for the
   * general path to refuse the record.
   */
  scanNext(
    buf: Buffer,
    start: number,
    line: Buffer,
    lineAt: number,
    maxKeys: number,
  ): ScannedRecord | undefined {
    const own = this.line;
    this.line = line;
    this.lineAt = lineAt;
    this.maxKeys = maxKeys;
    this.flat = true;
    try {
      return this.scanObject(buf, start);
    } finally {
      this.line = own;
      this.lineAt = 0;
      this.flat = false;
    }
  }

  private readonly rec = new ScannedRecord();

  private scanObject(buf: Buffer, i: number): ScannedRecord | undefined {
    if (buf[i] !== LBRACE) return undefined;
    i = skipSpace(buf, i + 1);
    if (buf[i] === RBRACE) return undefined;
    const rec = this.rec;
    rec.reset();
    let lineKey: Buffer | undefined;
    let first = true;
    for (;;) {
      if (buf[i] !== QUOTE) return undefined;
      const keyEnd = plainKeyEnd(buf, i);
      if (keyEnd < 0) return undefined;
      const keyStart = i + 1;
      i = skipSpace(buf, keyEnd + 1);
      if (buf[i] !== COLON) return undefined;
      const start = skipSpace(buf, i + 1);
      let end: number;
      let dateKey = -1;
      const isLog = keyIs(buf, keyStart, keyEnd, KEY_LOG);
      const isMessage = !isLog && keyIs(buf, keyStart, keyEnd, KEY_MESSAGE);
      if ((isLog || isMessage) && buf[start] === QUOTE && lineKey !== KEY_LOG) {
        if (lineKey === (isLog ? KEY_LOG : KEY_MESSAGE)) return undefined; // duplicate keys: JSON.parse decides
        end = this.unescapeLine(buf, start);
        if (end < 0) return undefined;
        lineKey = isLog ? KEY_LOG : KEY_MESSAGE;
        rec.lineLength = this.lineBytes;
      } else if (!isLog && !isMessage && keyIs(buf, keyStart, keyEnd, KEY_KUBERNETES)) {
        const hint = this.kubernetesHint;
        const hinted =
          hint &&
          start + hint.length <= buf.length &&
          buf.compare(hint, 0, hint.length, start, start + hint.length) === 0;
        if (hinted && (!this.flat || this.hintShape)) end = start + hint.length;
        else if (this.flat) return undefined;
        else end = valueEnd(buf, start);
        if (end < 0) return undefined;
        if (this.flat) rec.keys += this.hintShape!.keys;
        rec.kubernetesStart = start;
        rec.kubernetesEnd = end;
      } else {
        if ((isLog && lineKey === KEY_LOG) || (isMessage && lineKey === KEY_MESSAGE)) return undefined; // duplicate keys: JSON.parse decides
        if (this.flat && (buf[start] === LBRACE || buf[start] === LBRACKET)) return undefined;
        end = valueEnd(buf, start);
        if (end < 0 || !checkNested(buf, start, end)) return undefined;
        if (!isLog && !isMessage && keyEnd - keyStart <= 10) {
          for (let d = 0; d < DATE_KEY_BYTES.length; d++) {
            if (keyIs(buf, keyStart, keyEnd, DATE_KEY_BYTES[d]!)) {
              dateKey = d;
              rec.dateStarts[d] = start;
              rec.dateEnds[d] = end;
              break;
            }
          }
        }
      }
      if (first) {
        first = false;
        rec.firstKeyStart = keyStart;
        rec.firstKeyEnd = keyEnd;
        rec.firstStart = start;
        rec.firstEnd = end;
        rec.firstDateKey = dateKey;
      } else if (
        keyEnd - keyStart === rec.firstKeyEnd - rec.firstKeyStart &&
        sameBytes(buf, rec.firstKeyStart, keyStart, keyEnd - keyStart)
      ) {
        // The first key again: JSON.parse keeps its place and this value.
        rec.firstStart = start;
        rec.firstEnd = end;
      }
      if (++rec.keys > this.maxKeys && this.flat) return undefined;
      i = skipSpace(buf, end);
      if (buf[i] === COMMA) {
        i = skipSpace(buf, i + 1);
        continue;
      }
      if (buf[i] === RBRACE) break;
      return undefined;
    }
    rec.end = i + 1;
    return rec;
  }

  /**
   * Unescapes the string opening at `buf[q]` into `line` and records its length; returns the index after the
   * closing quote, or -1 for an invalid escape, a control byte or a missing quote. Envoy lines are mostly
   * runs of plain bytes between `\"`: those are copied eight bytes at a time, through DataViews, while no
   * byte of the eight is a quote, a backslash or below 0x20 (word tests exact for "any such byte", so a
   * word that has one is left to the byte loop, which decides). Bytes of 0x80 and up (UTF-8) are copied as
   * they are, as the byte loop does.
   */
  private unescapeLine(buf: Buffer, q: number): number {
    const out = this.line;
    const n = buf.length;
    const at = this.lineAt;
    const inView = this.inViews.of(buf);
    const inBase = buf.byteOffset;
    const outView = this.outViews.of(out);
    const outBase = out.byteOffset;
    const wordsEnd = n - 8;
    const outWordsEnd = out.length - 8;
    let o = at;
    let p = q + 1;
    for (;;) {
      while (p <= wordsEnd && o <= outWordsEnd) {
        const x = inView.getInt32(inBase + p, true);
        const y = inView.getInt32(inBase + p + 4, true);
        if ((hasSpecialByte(x) | hasSpecialByte(y)) !== 0) break;
        outView.setInt32(outBase + o, x, true);
        outView.setInt32(outBase + o + 4, y, true);
        p += 8;
        o += 8;
      }
      // At most a word's worth of bytes, one at a time, up to the byte that stopped the words.
      const stop = Math.min(p + 8, n);
      let b = 0;
      while (p < stop && (b = buf[p]!) !== QUOTE && b !== BACKSLASH && b >= 0x20) {
        out[o++] = b;
        p++;
      }
      if (p === stop) {
        if (p === n) return -1;
        continue;
      }
      if (b === QUOTE) {
        this.lineBytes = o - at;
        return p + 1;
      }
      if (b !== BACKSLASH) return -1;
      const c = buf[p + 1];
      p += 2;
      switch (c) {
        case 0x22:
        case 0x5c:
        case 0x2f:
          out[o++] = c;
          break;
        case 0x6e:
          out[o++] = 0x0a;
          break;
        case 0x74:
          out[o++] = 0x09;
          break;
        case 0x72:
          out[o++] = 0x0d;
          break;
        case 0x62:
          out[o++] = 0x08;
          break;
        case 0x66:
          out[o++] = 0x0c;
          break;
        case 0x75: {
          let cp = hex4(buf, p);
          if (cp < 0) return -1;
          p += 4;
          if (cp >= 0xd800 && cp <= 0xdbff && buf[p] === BACKSLASH && buf[p + 1] === 0x75) {
            const lo = hex4(buf, p + 2);
            if (lo >= 0xdc00 && lo <= 0xdfff) {
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
              p += 6;
            }
          }
          if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // a lone surrogate, as JSON.parse then UTF-8 gives
          o = writeUtf8(out, o, cp);
          break;
        }
        default:
          return -1;
      }
    }
  }

  /**
   * DataViews over the whole ArrayBuffer of the input and of the line buffer, kept while the same buffers
   * come back (every record of a body; a body's subarrays share its ArrayBuffer), so a record costs no
   * allocation. release() drops them, so the scanner does not keep a body alive once it is read.
   */
  private readonly inViews = new BufferView();
  private readonly outViews = new BufferView();

  /** Forgets the buffers of the last body scanned (see inViews). */
  release(): void {
    this.inViews.release();
    this.outViews.release();
  }

  private lineBytes = 0;
}

/**
 * Non-zero when one of the four bytes of `x` is a quote, a backslash or below 0x20; zero otherwise. Each
 * term is the classic test for "some byte is zero" (of x ^ 0x22.., x ^ 0x5c..) or "some byte is below 0x20"
 * (of x), exact as a yes/no answer: a byte that does not match sets its top bit only through a borrow from
 * a lower byte, which only a matching byte starts.
 */
function hasSpecialByte(x: number): number {
  const quote = x ^ 0x22222222;
  const backslash = x ^ 0x5c5c5c5c;
  return (
    (((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | ((x - 0x20202020) & ~x)) &
    0x80808080
  );
}

function hex4(buf: Buffer, at: number): number {
  if (at + 4 > buf.length) return -1;
  let v = 0;
  for (let k = 0; k < 4; k++) {
    const c = buf[at + k]!;
    const d =
      c >= 0x30 && c <= 0x39
        ? c - 0x30
        : c >= 0x61 && c <= 0x66
          ? c - 0x57
          : c >= 0x41 && c <= 0x46
            ? c - 0x37
            : -1;
    if (d < 0) return -1;
    v = (v << 4) | d;
  }
  return v;
}

function writeUtf8(out: Buffer, o: number, cp: number): number {
  if (cp < 0x80) out[o++] = cp;
  else if (cp < 0x800) {
    out[o++] = 0xc0 | (cp >> 6);
    out[o++] = 0x80 | (cp & 0x3f);
  } else if (cp < 0x10000) {
    out[o++] = 0xe0 | (cp >> 12);
    out[o++] = 0x80 | ((cp >> 6) & 0x3f);
    out[o++] = 0x80 | (cp & 0x3f);
  } else {
    out[o++] = 0xf0 | (cp >> 18);
    out[o++] = 0x80 | ((cp >> 12) & 0x3f);
    out[o++] = 0x80 | ((cp >> 6) & 0x3f);
    out[o++] = 0x80 | (cp & 0x3f);
  }
  return o;
}

/** A DataView over a Buffer's whole ArrayBuffer, made again only when a buffer over another ArrayBuffer comes. */
class BufferView {
  private view: DataView | undefined;
  /** The buffer last given: the same object again needs no look at its ArrayBuffer. */
  private buf: Buffer | undefined;

  of(buf: Buffer): DataView {
    const v = this.view;
    if (v !== undefined && (buf === this.buf || v.buffer === buf.buffer)) {
      this.buf = buf;
      return v;
    }
    this.buf = buf;
    return (this.view = new DataView(buf.buffer));
  }

  release(): void {
    this.view = undefined;
    this.buf = undefined;
  }
}
