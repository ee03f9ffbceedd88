/**
 * Picks the parser for a line: a fixed TEXT format, JSON, or auto-detection. The TEXT fast path leaves
 * the scan in the parser's state for the row encoder; everything else yields a record object.
 */
import { type AccessRecord, AutoParser, ParseFailure, parseJsonLine, TextParser } from '../parser/index.js';
import { findPreset } from '../parser/presets.js';
import { cutToolPrefix, unwrapJsonWrapper } from '../parser/unwrap.js';

export class LineDecoder {
  private readonly auto: AutoParser | undefined;
  private readonly text: TextParser | undefined;
  private readonly json: boolean;
  /** The time a wrapper or tool prefix of the last line carried: the row's time when its format has none. */
  wrapperTimeMs: number | undefined;

  constructor(readonly spec: string) {
    this.json = spec === 'json';
    if (spec === 'auto') this.auto = new AutoParser();
    else if (!this.json) {
      const preset = findPreset(spec);
      this.text = preset ? new TextParser(preset.name, preset.format) : new TextParser('custom', spec);
    }
  }

  /** A TextParser whose state holds the scan of `buf[start..end)`, or a record, or why it failed. */
  decode(buf: Buffer, start: number, end: number): TextParser | AccessRecord | ParseFailure {
    this.wrapperTimeMs = undefined;
    if (this.text) {
      if (this.text.scan(buf, start, end)) return this.text;
      const failure = this.text.failure(buf, start, end, this.text.state); // before another scan replaces the state
      return this.behindWrapper(this.text, buf, start, end) ?? failure;
    }
    if (this.json) return parseJsonLine(buf.toString('utf8', start, end));
    const auto = this.auto!;
    if (buf[start] === 91) {
      const matched = auto.matchText(buf, start, end);
      if (matched) return matched;
    }
    const result = auto.parseBytes(buf, start, end);
    this.wrapperTimeMs = auto.wrapperTimeMs;
    return result;
  }

  /**
   * A custom or preset format behind a tool prefix or inside a JSON logging wrapper: parsed to a record (the
   * scan's offsets would point into the unwrapped text, not `buf`). Undefined when that does not match either.
   */
  private behindWrapper(text: TextParser, buf: Buffer, start: number, end: number): AccessRecord | undefined {
    const cut = cutToolPrefix(buf, start, end, false);
    if (cut && text.scan(buf, cut.start, end)) {
      this.wrapperTimeMs = cut.timeMs;
      return text.parseBytes(buf, cut.start, end) as AccessRecord;
    }
    if (buf[start] !== 123) return undefined;
    const wrapped = unwrapJsonWrapper(buf.toString('utf8', start, end));
    if (!wrapped) return undefined;
    const inner = Buffer.from(wrapped.line, 'utf8');
    if (!text.scan(inner, 0, inner.length)) return undefined;
    this.wrapperTimeMs = wrapped.timeMs;
    return text.parseBytes(inner, 0, inner.length) as AccessRecord;
  }
}

export function isTextMatch(r: TextParser | AccessRecord | ParseFailure): r is TextParser {
  return r instanceof TextParser;
}

export function isFailure(r: TextParser | AccessRecord | ParseFailure): r is ParseFailure {
  return r instanceof ParseFailure;
}
