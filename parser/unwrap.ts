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

/**
 * Prefixes that tools print before each line when people copy logs from them; `auto` (and a custom format)
 * looks behind them for the Envoy line. Each pattern is anchored and bounded, and is tried only after the
 * line failed as it is, so unprefixed lines never pay for them.
 */
const RFC3339 = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(?:[.,]\\d+)?(?:Z|[+-]\\d\\d:?\\d\\d)';
const TOOL_PREFIXES: { re: RegExp; envoyAfter: boolean }[] = [
  // kubectl logs --prefix:  [pod/checkout-7f9c8d5b4-x2x9z/istio-proxy] <line>
  { re: /^\[pod\/[^/\]\s]+\/[^\]\s]+\] /, envoyAfter: false },
  // Cloud Foundry (cf logs) and similar platforms:  2026-11-01T10:00:00.00+0000 [APP/PROC/WEB/0] OUT <line>
  { re: new RegExp(`^(${RFC3339}) \\[[A-Z][\\w-]*(?:/[\\w.-]+)*\\] (?:OUT|ERR) `), envoyAfter: false },
  // docker compose logs:  egress-proxy-1  | <line>, with -t:  egress-proxy-1  | 2026-11-01T10:00:00.123456789Z <line>
  { re: new RegExp(`^[A-Za-z0-9][\\w.-]*\\s+\\| (?:(${RFC3339}) )?`), envoyAfter: false },
  // kubectl logs --timestamps, or any shipper that puts its time first:  2026-11-01T10:00:00.123456789Z <line>
  { re: new RegExp(`^(${RFC3339}) `), envoyAfter: true },
  // stern:  checkout-7f9c8d5b4-x2x9z istio-proxy <line>  (with --all-namespaces the namespace first); stern
  // colours the names on a terminal. Bare words are ambiguous, so only when an Envoy line ("[" or "{") follows.
  {
    re: /^(?:\x1b\[[0-9;]*m)?(?:[a-z0-9][-a-z0-9.]*(?:\x1b\[[0-9;]*m)? (?:\x1b\[[0-9;]*m)?){2,3}/,
    envoyAfter: true,
  },
];

/** The longest prefix a tool puts before a line: bounds the text the patterns look at. */
const MAX_PREFIX = 320;

export interface PrefixCut {
  /** Where the line behind the prefix starts, in the same buffer. */
  start: number;
  /** The time the prefix carries (compose -t, Cloud Foundry, --timestamps), in epoch ms. */
  timeMs: number | undefined;
}

/**
 * The line behind a tool's prefix in `buf[start..end)`, or null when no known prefix is there. With
 * `envoyOnly` (auto), the ambiguous prefixes (bare words, a bare time) count only when a bracketed or JSON
 * Envoy line follows; a fixed format checks what follows with its own scan.
 */
export function cutToolPrefix(
  buf: Uint8Array,
  start: number,
  end: number,
  envoyOnly: boolean,
): PrefixCut | null {
  const head = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString(
    'latin1',
    start,
    Math.min(end, start + MAX_PREFIX),
  );
  for (const { re, envoyAfter } of TOOL_PREFIXES) {
    const m = re.exec(head);
    if (!m || m[0].length === 0) continue;
    const next = head.charCodeAt(m[0].length);
    if (envoyAfter && envoyOnly && next !== 91 && next !== 123) continue;
    // latin1 decodes one character per byte, so a character index is a byte offset.
    return { start: start + m[0].length, timeMs: m[1] ? rfc3339Ms(m[1]) : undefined };
  }
  return null;
}

/** RFC 3339 as tools print it: nanoseconds, `+0000` without a colon, a comma before the fraction. */
export function rfc3339Ms(text: string): number | undefined {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:[.,](\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(text);
  if (!m) return undefined;
  const zone = m[3] === 'Z' ? 'Z' : `${m[3]!.slice(0, 3)}:${m[3]!.slice(-2)}`;
  const ms = Date.parse(`${m[1]}.${(m[2] ?? '0').padEnd(3, '0').slice(0, 3)}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface JsonWrapped {
  /** The Envoy line (text) or access-log object found under `log`, `message` or `msg`. */
  line: string;
  timeMs: number | undefined;
}

const LINE_KEYS = ['log', 'message', 'msg'] as const;
const TIME_KEYS = ['time', 'timestamp', '@timestamp', 'ts'] as const;

/**
 * A JSON record a logging stack wrapped around the line: `{"log": …}` (Fluentd, Docker), `{"message": …}`
 * (Logstash, GCP, Loki exports), `{"msg": …}` (Go and Node loggers), the line sometimes after a tag word
 * (`"msg": "ACCESS [2026-…] \"GET …"`). Null when `text` is not such a wrapper.
 */
export function unwrapJsonWrapper(text: string): JsonWrapped | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const obj = value as Record<string, unknown>;
  let line: string | undefined;
  for (const key of LINE_KEYS) {
    const v = obj[key];
    if (typeof v === 'string') line = v;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) line = JSON.stringify(v);
    if (line !== undefined) break;
  }
  if (line === undefined) return null;
  line = line.replace(/\r?\n$/, '');
  const tag = /^[A-Za-z][\w.-]{0,31}:? (?=[[{])/.exec(line);
  if (tag) line = line.slice(tag[0].length);
  return { line, timeMs: wrapperTime(obj) };
}

function wrapperTime(obj: Record<string, unknown>): number | undefined {
  for (const key of TIME_KEYS) {
    const v = obj[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v > 1e11 ? v : v * 1000; // ms or seconds
    if (typeof v === 'string') {
      const ms = rfc3339Ms(v) ?? Date.parse(v);
      if (!Number.isNaN(ms)) return ms;
    }
  }
  return undefined;
}
