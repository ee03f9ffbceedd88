/**
 * egresslens/parser: Envoy and Istio access-log lines to records.
 *
 *   const parser = compile('auto');          // or 'istio', 'envoy', 'json', or an Envoy format string
 *   const r = parser.parse(line);            // never throws
 *   if (isParseFailure(r)) console.error(r.error, r.offset); else console.log(r.upstream_cluster);
 */
import { AutoParser } from './auto-parser.js';
import { parseJsonLine } from './json-line.js';
import { findPreset, PRESETS } from './presets.js';
import { type AccessRecord, ParseFailure } from './record.js';
import { TextParser } from './text-parser.js';
import { cutToolPrefix, unwrapJsonWrapper } from './unwrap.js';

export { AutoParser } from './auto-parser.js';
export { splitFlags } from './flags.js';
export { FormatStringError } from './format-string.js';
export { parseJsonLine, recordFromObject } from './json-line.js';
export { PRESETS, type Preset } from './presets.js';
export type { AccessRecord } from './record.js';
export { INT_FIELDS, isParseFailure, ParseFailure, STRING_FIELDS } from './record.js';
export { ScanState } from './scan-state.js';
export { TextParser } from './text-parser.js';
export {
  criPayloadStart,
  cutToolPrefix,
  rfc3339Ms,
  unwrap,
  unwrapCri,
  unwrapDocker,
  unwrapJsonWrapper,
} from './unwrap.js';

export interface Parser {
  /** A preset name, `json`, `auto` or `custom`. */
  readonly name: string;
  /** A record, or a ParseFailure with the reason and offset; never throws. */
  parse(line: string | Uint8Array): AccessRecord | ParseFailure;
}

export const presetNames: readonly string[] = PRESETS.map((p) => p.name);

/** `spec` is `auto`, `json`, a preset name, or an Envoy format string (anything containing `%`). */
export function compile(spec: string): Parser {
  const inner = compileInner(spec);
  return {
    name: inner.name,
    parse(line) {
      const buf =
        typeof line === 'string'
          ? Buffer.from(line, 'utf8')
          : Buffer.from(line.buffer, line.byteOffset, line.byteLength);
      let end = buf.length;
      while (end > 0 && (buf[end - 1] === 10 || buf[end - 1] === 13)) end--;
      try {
        const result = inner.parseBytes(buf, 0, end);
        // JSON offsets are counted on the decoded text, where each invalid UTF-8 byte became three bytes.
        if (result instanceof ParseFailure && result.offset > end)
          return new ParseFailure(result.error, end, result.raw);
        return result;
      } catch (err) {
        // A parser bug must not take the caller down: the line is kept with the reason.
        return new ParseFailure(`internal parser error: ${(err as Error).message}`, 0, buf.toString('utf8'));
      }
    },
  };
}

/**
 * A fixed format that also reads its lines behind a tool prefix or inside a JSON logging wrapper; a record
 * without START_TIME takes the wrapper's time.
 */
function unwrapping(text: TextParser): BytesParser {
  const withTime = (record: AccessRecord | ParseFailure, timeMs: number | undefined) => {
    if (!(record instanceof ParseFailure) && record.start_time_ms === null && timeMs !== undefined) {
      record.start_time_ms = timeMs;
      record.start_time = new Date(timeMs).toISOString();
    }
    return record;
  };
  return {
    name: text.name,
    parseBytes(buf, start, end) {
      const direct = text.parseBytes(buf, start, end);
      if (!(direct instanceof ParseFailure)) return direct;
      const cut = cutToolPrefix(buf, start, end, false);
      if (cut) {
        const behind = text.parseBytes(buf, cut.start, end);
        if (!(behind instanceof ParseFailure)) return withTime(behind, cut.timeMs);
      }
      if (buf[start] === 123) {
        const wrapped = unwrapJsonWrapper(buf.toString('utf8', start, end));
        if (wrapped) {
          const inner = Buffer.from(wrapped.line, 'utf8');
          const record = text.parseBytes(inner, 0, inner.length);
          if (!(record instanceof ParseFailure)) return withTime(record, wrapped.timeMs);
        }
      }
      return direct;
    },
  };
}

interface BytesParser {
  name: string;
  parseBytes(buf: Buffer, start: number, end: number): AccessRecord | ParseFailure;
}

function compileInner(spec: string): BytesParser {
  if (spec === 'auto') return new AutoParser();
  if (spec === 'json')
    return { name: 'json', parseBytes: (buf, s, e) => parseJsonLine(buf.toString('utf8', s, e)) };
  const preset = findPreset(spec);
  if (preset) return unwrapping(new TextParser(preset.name, preset.format));
  if (spec.includes('%')) return unwrapping(new TextParser('custom', spec));
  throw new Error(
    `unknown format ${JSON.stringify(spec)}: use auto, json, one of ${presetNames.join(', ')}, or an Envoy format string`,
  );
}
