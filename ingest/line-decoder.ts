/**
 * Picks the parser for a line: a fixed TEXT format, JSON, or auto-detection. The TEXT fast path leaves
 * the scan in the parser's state for the row encoder; everything else yields a record object.
 */
import { type AccessRecord, AutoParser, ParseFailure, parseJsonLine, TextParser } from '../parser/index.js';
import { findPreset } from '../parser/presets.js';

export class LineDecoder {
  private readonly auto: AutoParser | undefined;
  private readonly text: TextParser | undefined;
  private readonly json: boolean;

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
    if (this.text)
      return this.text.scan(buf, start, end)
        ? this.text
        : this.text.failure(buf, start, end, this.text.state);
    if (this.json) return parseJsonLine(buf.toString('utf8', start, end));
    const auto = this.auto!;
    if (buf[start] === 91) {
      const matched = auto.matchText(buf, start, end);
      if (matched) return matched;
    }
    return auto.parseBytes(buf, start, end);
  }
}

export function isTextMatch(r: TextParser | AccessRecord | ParseFailure): r is TextParser {
  return r instanceof TextParser;
}

export function isFailure(r: TextParser | AccessRecord | ParseFailure): r is ParseFailure {
  return r instanceof ParseFailure;
}
