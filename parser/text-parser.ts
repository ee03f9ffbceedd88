/** A parser for one TEXT format: the compiled scanner plus the record-building path around it. */
import { type CompiledText, compileText } from './compile-text.js';
import { materializeText } from './materialize.js';
import { type AccessRecord, ParseFailure } from './record.js';
import { ScanState } from './scan-state.js';

export class TextParser {
  readonly compiled: CompiledText;
  /** Where `scan` leaves its results unless given another state. */
  readonly state: ScanState;

  constructor(
    readonly name: string,
    readonly format: string,
  ) {
    this.compiled = compileText(format);
    this.state = new ScanState(this.compiled.fields.length);
  }

  /** The hot path: scans `buf[start..end)` into `this.state`; no allocation. */
  scan(buf: Uint8Array, start: number, end: number): boolean {
    return this.compiled.scan(buf, start, end, this.state);
  }

  /** The same into a state of the caller's. */
  scanInto(buf: Uint8Array, start: number, end: number, state: ScanState): boolean {
    return this.compiled.scan(buf, start, end, state);
  }

  parseBytes(buf: Buffer, start: number, end: number): AccessRecord | ParseFailure {
    if (!this.compiled.scan(buf, start, end, this.state)) return this.failure(buf, start, end, this.state);
    return materializeText(this.name, this.compiled, buf, this.state, start, end);
  }

  parse(line: string): AccessRecord | ParseFailure {
    const buf = Buffer.from(line, 'utf8');
    return this.parseBytes(buf, 0, buf.length);
  }

  /** The failure for the last scan; its offset is relative to the line. */
  failure(buf: Buffer, start: number, end: number, state: ScanState): ParseFailure {
    const reason = this.compiled.reasons[state.failCode] ?? 'no match';
    return new ParseFailure(reason, Math.max(0, state.failAt - start), buf.toString('utf8', start, end));
  }
}
