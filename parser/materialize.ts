/** Turns a successful scan into an AccessRecord: the allocating path for library users and the CLI. */
import type { CompiledText } from './compile-text.js';
import { splitFlags } from './flags.js';
import { type AccessRecord, emptyRecord, isCanonicalField } from './record.js';
import type { ScanState } from './scan-state.js';

export function materializeText(
  format: string,
  compiled: CompiledText,
  buf: Buffer,
  st: ScanState,
): AccessRecord {
  const record = emptyRecord(format);
  const target = record as unknown as Record<string, unknown>;
  const { off, num } = st;
  compiled.fields.forEach((f, i) => {
    const a = off[2 * i]!;
    const b = off[2 * i + 1]!;
    const text = b - a === 1 && buf[a] === 45 ? null : buf.toString('utf8', a, b);
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
