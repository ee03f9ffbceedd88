/**
 * Records from the JSON bodies Fluent Bit sends: one array of records (`format json`), or records back to back,
 * with or without newlines between them (`json_stream`, `json_lines`).
 *
 * The bytes are scanned for structure before anything is parsed, so the limits hold without building values:
 * a record count over `maxRecords` or a record with too many keys is refused after reading only as far as the
 * offending record, and structural errors carry their byte offset. A record read with JSON.parse is parsed on
 * its own; its errors (bad escapes, numbers, control characters) are mapped to byte offsets too.
 */
import { BodyError } from '../body-error.js';

export interface JsonRecordLimits {
  maxRecords: number;
  /** Map keys at any depth plus array elements inside one record. */
  maxKeysPerRecord: number;
  /** Deepest nesting of objects and arrays inside one record. */
  maxDepth: number;
}

/** Byte range of one record in the body, end exclusive. */
export interface JsonSpan {
  start: number;
  end: number;
}

const SPACE = 0x20;
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const MINUS = 0x2d;

const OBJECT = 1;
const ARRAY = 2;

const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const NULL = Buffer.from('null');

/** JSON.parse of record number `index`, its errors worded with their byte offset in the body. */
export function parseJsonRecord(buf: Buffer, span: JsonSpan, index: number): unknown {
  const text = buf.toString('utf8', span.start, span.end);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw jsonParseError(err as Error, text, span.start, index);
  }
}

/**
 * Byte ranges of the records, one at a time: the elements of the top-level array when the body starts with `[`,
 * otherwise each top-level value (BodyError 413 past `maxRecords`, 400 for structural errors and limits). A
 * caller can pause between them: `next()` is undefined at the end, and
 * `skipGap()` crosses whitespace between records a bounded stretch at a time (a body may be 64 MB of newlines).
 */
export class JsonRecordSpans {
  private readonly scanner: Scanner;
  private pos: number;
  private inArray = false;
  private started = false;
  private count = 0;
  private done = false;

  constructor(
    private readonly buf: Buffer,
    limits: JsonRecordLimits,
  ) {
    this.scanner = new Scanner(buf, limits);
    this.pos = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  }

  /** Skips at most `maxBytes` of whitespace; true when it stopped at that bound (more may follow). */
  skipGap(maxBytes: number): boolean {
    if (this.done) return false;
    const limit = Math.min(this.buf.length, this.pos + maxBytes);
    this.pos = this.scanner.skipWs(this.pos, limit);
    return this.pos === limit && limit < this.buf.length;
  }

  /**
   * Where the next record starts, when the body is records back to back (json_lines, json_stream) and one is
   * left; undefined otherwise. A caller that reads that record itself hands its end to accept().
   */
  nextStart(): number | undefined {
    if (!this.started) this.begin();
    if (this.done || this.inArray) return undefined;
    const start = this.scanner.skipWs(this.pos);
    return start < this.buf.length ? start : undefined;
  }

  /** The record from nextStart() up to `end` was read by the caller: counted (413 past maxRecords), passed. */
  accept(end: number): void {
    this.scanner.checkRecordCount(this.count);
    this.count++;
    this.pos = end;
  }

  /** Whether the body is one array of records; an empty array ends it. */
  private begin(): void {
    this.started = true;
    const pos = this.scanner.skipWs(this.pos);
    if (this.buf[pos] !== LBRACKET) return;
    this.inArray = true;
    this.pos = this.scanner.skipWs(pos + 1);
    if (this.buf[this.pos] === RBRACKET) {
      this.pos++;
      this.finishArray();
    }
  }

  next(): JsonSpan | undefined {
    if (!this.started) this.begin();
    if (this.done) return undefined;
    const { buf, scanner } = this;
    const start = scanner.skipWs(this.pos);
    if (!this.inArray && start >= buf.length) {
      this.done = true;
      return undefined;
    }
    scanner.checkRecordCount(this.count);
    const end = scanner.scanValue(start, this.count);
    this.count++;
    this.pos = end;
    if (this.inArray) {
      const pos = scanner.skipWs(end);
      const c = buf[pos];
      if (c === COMMA) {
        this.pos = pos + 1;
      } else if (c === RBRACKET) {
        this.pos = pos + 1;
        this.finishArray();
      } else {
        throw scanner.unexpected(pos, "',' or ']' after a record of the array");
      }
    }
    return { start, end };
  }

  private finishArray(): void {
    this.done = true;
    const pos = this.scanner.skipWs(this.pos);
    if (pos < this.buf.length) throw this.scanner.unexpected(pos, 'end of body after the array of records');
  }
}

/**
 * Keys and elements of one JSON value as the limits count them, and the deepest level a container opens at
 * (the value itself at 0); undefined when `buf` is not exactly one JSON value.
 */
export function jsonShape(buf: Buffer): { keys: number; level: number } | undefined {
  const scanner = new Scanner(buf, {
    maxRecords: 1,
    maxKeysPerRecord: Number.POSITIVE_INFINITY,
    maxDepth: Number.POSITIVE_INFINITY,
  });
  try {
    const end = scanner.scanValue(0, 0);
    if (scanner.skipWs(end) !== buf.length) return undefined;
  } catch {
    return undefined;
  }
  return { keys: scanner.keys, level: scanner.level };
}

class Scanner {
  private readonly stack: number[] = [];
  /** Of the last value scanned: its keys and elements, and the deepest level a container opened at. */
  keys = 0;
  level = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly limits: JsonRecordLimits,
  ) {}

  /** Past the whitespace at `pos`, stopping at `limit` at the latest. */
  skipWs(pos: number, limit = this.buf.length): number {
    const buf = this.buf;
    while (pos < limit) {
      const c = buf[pos];
      if (c !== SPACE && c !== LF && c !== CR && c !== TAB) return pos;
      pos++;
    }
    return pos;
  }

  checkRecordCount(count: number): void {
    if (count >= this.limits.maxRecords)
      throw new BodyError(
        413,
        `body has more than ${this.limits.maxRecords} records (limit ingest.maxRecords)`,
      );
  }

  /** End of the value starting at `pos` (record number `index`, for messages). */
  scanValue(pos: number, index: number): number {
    const { buf, stack } = this;
    const { maxKeysPerRecord, maxDepth } = this.limits;
    stack.length = 0;
    let keys = 0;
    let level = 0;
    for (;;) {
      // A value starts here.
      pos = this.skipWs(pos);
      const c = buf[pos];
      if (c === LBRACE || c === LBRACKET) {
        if (stack.length > level) level = stack.length;
        if (stack.length >= maxDepth) {
          throw new BodyError(
            400,
            `record ${index} is nested more than ${maxDepth} levels deep (byte ${pos}; limit ingest.maxDepth)`,
          );
        }
        const close = c === LBRACE ? RBRACE : RBRACKET;
        pos = this.skipWs(pos + 1);
        if (buf[pos] !== close) {
          stack.push(c === LBRACE ? OBJECT : ARRAY);
          if (++keys > maxKeysPerRecord) throw this.tooManyKeys(index);
          if (c === LBRACE) pos = this.scanKey(pos);
          continue;
        }
        pos++;
      } else if (c === QUOTE) {
        pos = this.skipString(pos);
      } else if (c === MINUS || (c !== undefined && c >= 0x30 && c <= 0x39)) {
        pos = this.skipNumber(pos);
      } else if (c === 0x74) {
        pos = this.literal(pos, TRUE);
      } else if (c === 0x66) {
        pos = this.literal(pos, FALSE);
      } else if (c === 0x6e) {
        pos = this.literal(pos, NULL);
      } else {
        throw this.unexpected(pos, 'a JSON value');
      }
      // The value ended: close containers until one continues with ','.
      for (;;) {
        const top = stack[stack.length - 1];
        if (top === undefined) {
          this.keys = keys;
          this.level = level;
          return pos;
        }
        pos = this.skipWs(pos);
        const d = buf[pos];
        if (d === COMMA) {
          if (++keys > maxKeysPerRecord) throw this.tooManyKeys(index);
          pos = top === OBJECT ? this.scanKey(this.skipWs(pos + 1)) : pos + 1;
          break;
        }
        if (d === (top === OBJECT ? RBRACE : RBRACKET)) {
          stack.pop();
          pos++;
          continue;
        }
        throw this.unexpected(pos, top === OBJECT ? "',' or '}'" : "',' or ']'");
      }
    }
  }

  /** A key and its colon; returns the position after the colon. */
  private scanKey(pos: number): number {
    if (this.buf[pos] !== QUOTE) throw this.unexpected(pos, 'a double-quoted property name');
    pos = this.skipWs(this.skipString(pos));
    if (this.buf[pos] !== COLON) throw this.unexpected(pos, "':' after a property name");
    return pos + 1;
  }

  /** Past the closing quote of the string opening at `pos`. Escapes and control characters are JSON.parse's job. */
  private skipString(pos: number): number {
    const buf = this.buf;
    let from = pos + 1;
    for (;;) {
      const q = buf.indexOf(QUOTE, from);
      if (q < 0) throw new BodyError(400, `invalid JSON at byte ${pos}: unterminated string`);
      let b = q - 1;
      while (b > pos && buf[b] === BACKSLASH) b--;
      if ((q - 1 - b) % 2 === 0) return q + 1;
      from = q + 1;
    }
  }

  /** Past the number at `pos`; its exact syntax is JSON.parse's job. */
  private skipNumber(pos: number): number {
    const buf = this.buf;
    pos++;
    for (;;) {
      const c = buf[pos];
      if (c === undefined) return pos;
      if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS)
        pos++;
      else return pos;
    }
  }

  private literal(pos: number, word: Buffer): number {
    const end = pos + word.length;
    if (end > this.buf.length || this.buf.compare(word, 0, word.length, pos, end) !== 0) {
      throw this.unexpected(pos, 'a JSON value');
    }
    return end;
  }

  private tooManyKeys(index: number): BodyError {
    return new BodyError(
      400,
      `record ${index} has more than ${this.limits.maxKeysPerRecord} keys (limit ingest.maxKeysPerRecord)`,
    );
  }

  unexpected(pos: number, expected: string): BodyError {
    const c = this.buf[pos];
    const found = c === undefined ? 'end of body' : describeByte(c);
    return new BodyError(400, `invalid JSON at byte ${pos}: expected ${expected}, found ${found}`);
  }
}

function describeByte(c: number): string {
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `byte 0x${c.toString(16).padStart(2, '0')}`;
}

/** JSON.parse's message with its character position turned into a byte offset in the body. */
function jsonParseError(err: Error, text: string, start: number, index: number): BodyError {
  const m = /^(.*?)(?: in JSON)? at position (\d+)/s.exec(err.message);
  if (!m) return new BodyError(400, `invalid JSON in record ${index} (byte ${start}): ${err.message}`);
  const byte = start + Buffer.byteLength(text.slice(0, Number(m[2])));
  return new BodyError(400, `invalid JSON at byte ${byte} (record ${index}): ${m[1]}`);
}
