/** Turns a successful scan into an AccessRecord: the allocating path for library users and the CLI. */
import type { CompiledText } from './compile-text.js';
import { splitFlags } from './flags.js';
import { type AccessRecord, emptyRecord, isCanonicalField } from './record.js';
import type { ScanState } from './scan-state.js';

/** The line `buf[start..end)` was scanned into `st`. */
export function materializeText(
  format: string,
  compiled: CompiledText,
  buf: Buffer,
  st: ScanState,
  start: number,
  end: number,
): AccessRecord {
  const record = emptyRecord(format);
  const target = record as unknown as Record<string, unknown>;
  const { off, num } = st;
  // One decode for the whole line instead of one native call per field. When the text has as many characters
  // as the line has bytes, every byte became one character, so byte offsets are character offsets.
  const line = buf.toString('utf8', start, end);
  const oneToOne = line.length === end - start;
  compiled.fields.forEach((f, i) => {
    const a = off[2 * i]!;
    const b = off[2 * i + 1]!;
    const text =
      b - a === 1 && buf[a] === 45
        ? null
        : oneToOne
          ? line.slice(a - start, b - start)
          : buf.toString('utf8', a, b);
    let value: unknown = text;
    if (f.type === 'int') value = Number.isNaN(num[i]!) ? null : num[i];
    if (f.type === 'time') record.start_time_ms = num[i]!;
    if (f.name === 'upstream_cluster' && text?.endsWith(';')) value = text.slice(0, -1);
    if (f.type === 'flags') {
      const list = splitFlags(text);
      record.response_flags_list = list;
      if (f.name === 'response_flags_long' && record.response_flags === null && list.length) {
        record.response_flags = list.join(',');
      }
    }
    if (isCanonicalField(f.name)) target[f.name] = value;
    else (record.extra ??= {})[f.name] = value;
  });
  return record;
}
