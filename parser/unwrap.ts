/**
 * Container runtimes wrap each line a container writes. Before the access-log format can be matched the
 * wrapper has to come off: CRI (containerd, CRI-O) and Docker's json-file driver.
 */

export interface Unwrapped {
  line: string;
  /** The runtime split a long line (CRI's `P` tag, or a Docker log without its newline); fragments follow. */
  partial: boolean;
  wrapper: 'cri' | 'docker';
}

const STDOUT = Buffer.from(' stdout ');
const STDERR = Buffer.from(' stderr ');

/**
 * `2022-07-22T12:24:12.325744791Z stdout F <line>` in bytes: returns where the inner line starts
 * (negated minus one for a `P` partial fragment), or 0 when the line is not CRI-wrapped.
 */
export function criPayloadStart(buf: Uint8Array, start: number, end: number): number {
  const c0 = buf[start]!;
  if (c0 < 48 || c0 > 57) return 0;
  let sp = start;
  const limit = Math.min(end, start + 40);
  while (sp < limit && buf[sp] !== 32) sp++;
  if (sp - start < 10 || sp + 10 > end) return 0;
  let k = 0;
  while (k < 8 && (buf[sp + k] === STDOUT[k] || buf[sp + k] === STDERR[k])) k++;
  if (k < 8) return 0;
  const tag = buf[sp + 8];
  if ((tag !== 70 && tag !== 80) || buf[sp + 9] !== 32) return 0;
  return tag === 70 ? sp + 10 : -(sp + 10) - 1;
}

export function unwrapCri(line: string): Unwrapped | null {
  const buf = Buffer.from(line.slice(0, 48), 'latin1');
  const at = criPayloadStart(buf, 0, buf.length);
  if (at === 0) return null;
  const payload = at > 0 ? at : -at - 1;
  return { line: line.slice(payload), partial: at < 0, wrapper: 'cri' };
}

/** `{"log":"<line>\n","stream":"stdout","time":"..."}` */
export function unwrapDocker(line: string): Unwrapped | null {
  if (!line.startsWith('{"log":')) return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object') return null;
  const { log, stream, time } = value as Record<string, unknown>;
  if (typeof log !== 'string' || (stream === undefined && time === undefined)) return null;
  const inner = log.endsWith('\n') ? log.slice(0, log.endsWith('\r\n') ? -2 : -1) : log;
  return { line: inner, partial: !log.endsWith('\n'), wrapper: 'docker' };
}

export function unwrap(line: string): Unwrapped | null {
  return unwrapCri(line) ?? unwrapDocker(line);
}
