/**
 * Compiles an Envoy TEXT format string into a scanner specialised for it, the way llhttp generates its
 * parser from a description. The generated function holds only numeric constants and closure-held
 * literals, so no part of a format string ever becomes code.
 *
 * Envoy does not escape header values in TEXT logs, so a client can put the very literal that separates
 * fields (`" "`) inside a User-Agent. The scanner therefore reads fields whose text Envoy controls from
 * the left up to the first client-controlled field of highest risk (the "absorber"), reads the rest from
 * the right, and gives the absorber whatever lies between. Stray delimiters can then only land in the
 * absorber, never shift Envoy's own fields.
 */
import { FormatStringError, type FormatToken, tokenizeFormat } from './format-string.js';
import { describeOperator, type FieldSpec } from './operators.js';
import type { ScanState } from './scan-state.js';
import { cacheMinute, compileTimeFormat, isoToMs } from './time.js';

/** Scans the line `buf[start..end)`; offsets written to the state are absolute offsets into `buf`. */
export type ScanFunction = (buf: Uint8Array, start: number, end: number, state: ScanState) => boolean;

export interface CompiledText {
  fields: FieldSpec[];
  /** Literal text before field i is `literals[i]`; `literals[fields.length]` follows the last field. */
  literals: string[];
  /** Why a scan failed, indexed by `ScanState.failCode`. */
  reasons: string[];
  /** Codes of the checks made before any field is read (line length, first and last literal). */
  prologueCodes: ReadonlySet<number>;
  absorber: number;
  scan: ScanFunction;
}

/** Characters that never occur inside a token-shaped value, so a token ends at the first of them. */
const DELIMITERS = new Set([' ', '"', ']', '[', '\t']);

export function compileText(format: string): CompiledText {
  const { fields, literals } = splitFormat(tokenizeFormat(stripNewline(format)));
  if (fields.length === 0) throw new FormatStringError('the format has no command operators', 0);
  const absorber = chooseAbsorber(fields);
  checkAdjacency(fields, literals, absorber);
  const gen = new Generator(fields, literals);
  gen.emitPrologue();
  const prologueCodes = new Set(gen.reasons.map((_, k) => k));
  let i = 0;
  while (i < absorber) i = gen.emitForward(i);
  let j = fields.length - 1;
  gen.guardedBytes = new Set(Buffer.from(literals[absorber]!, 'utf8'));
  while (j > absorber) j = gen.emitBackward(j);
  gen.emitAbsorber(absorber);
  gen.emitValues();
  const scan = gen.build();
  return { fields, literals, reasons: gen.reasons, prologueCodes, absorber, scan };
}

function stripNewline(format: string): string {
  return format.replace(/(\\n|\n|\r\n)+$/, '');
}

function splitFormat(tokens: FormatToken[]): { fields: FieldSpec[]; literals: string[] } {
  const fields: FieldSpec[] = [];
  const literals: string[] = [''];
  for (const t of tokens) {
    if ('literal' in t) literals[literals.length - 1] += t.literal;
    else {
      fields.push(describeOperator(t.operator));
      literals.push('');
    }
  }
  return { fields, literals };
}

function chooseAbsorber(fields: FieldSpec[]): number {
  let best = -1;
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.shape === 'client' && (best < 0 || f.risk > fields[best]!.risk)) best = i;
  }
  return best < 0 ? fields.length - 1 : best;
}

/**
 * Two operators with no text between them can only be split when one side is a protocol, whose closed
 * vocabulary tells where it starts; anything else would be a guess.
 */
function checkAdjacency(fields: FieldSpec[], literals: string[], absorber: number): void {
  for (let i = 1; i < fields.length; i++) {
    if (literals[i] !== '') continue;
    const forwardPair = i < absorber && fields[i]!.shape === 'protocol';
    const backwardPair = i - 1 > absorber && fields[i]!.shape === 'protocol';
    if (!forwardPair && !backwardPair) {
      throw new FormatStringError(
        `${fields[i - 1]!.operator.text} and ${fields[i]!.operator.text} touch with no text between them, so their boundary is ambiguous`,
        0,
      );
    }
  }
}

class Generator {
  readonly reasons: string[] = [];
  private readonly lines: string[] = [];
  private readonly consts: unknown[] = [];
  /** Closure state of the generated scanner, created once per compile. */
  private readonly prelude: string[] = [];
  /**
   * Bytes of the literal just before the absorber. The forward pass has matched it, so below p there is one
   * of each: a backward search for such a byte stops there by itself and needs no `q >= p` on every step
   * (it fails on the `q < p` check after the loop instead).
   */
  guardedBytes = new Set<number>();
  /** Fields whose numbers the scan already produced. */
  private readonly parsedInline = new Set<number>();

  constructor(
    private readonly fields: FieldSpec[],
    private readonly literals: string[],
  ) {}

  /** A closure constant; returns the identifier the generated code uses for it. */
  private constant(value: unknown): string {
    this.consts.push(value);
    return `K${this.consts.length - 1}`;
  }

  private reason(text: string): number {
    this.reasons.push(text);
    return this.reasons.length - 1;
  }

  private fail(text: string, at: string): string {
    return `return F(st, ${this.reason(text)}, ${at});`;
  }

  /** Code that checks `lit` occurs at `at` (an expression), compared char by char. */
  private matchAt(lit: string, at: string, failText: string): void {
    if (lit.length === 0) return;
    const checks = [...Buffer.from(lit, 'utf8')].map((code, k) => `b[${at} + ${k}] !== ${code}`).join(' || ');
    this.lines.push(`if (${checks}) ${this.fail(failText, at)}`);
  }

  /**
   * Code that rejects a token holding the other delimiter (a quote in a space-ended token, a space in a
   * quote-ended one). Without it a stray `" "` in a user agent could shift a line into a neighbouring Istio
   * generation whose extra fields absorb the shift. Paths are exempt: clients can send quotes in them.
   */
  private strayCheck(f: FieldSpec, delimiter: number, at: string): string {
    if (f.name === 'path') return '';
    const other = delimiter === 32 ? 34 : 32;
    if (f.type === 'time' && other === 32) return '';
    return `if (c === ${other}) ${this.fail(`${f.name} contains a ${other === 34 ? 'quote' : 'space'}`, at)}`;
  }

  private label(i: number): string {
    return this.fields[i]!.name;
  }

  emitPrologue(): void {
    const first = this.literals[0]!;
    const last = this.literals[this.fields.length]!;
    this.lines.push('const off = st.off;', 'const num = st.num;');
    this.lines.push(`let p = start + ${byteLength(first)};`, `let e = end - ${byteLength(last)};`);
    this.lines.push('let q = 0; let v = 0; let c = 0; let bad = 0;');
    this.lines.push(`if (e < p) ${this.fail('the line is shorter than the format', 'end')}`);
    this.matchAt(first, 'start', `the line does not start with ${JSON.stringify(first)}`);
    this.matchAt(last, 'e', `the line does not end with ${JSON.stringify(last)}`);
  }

  /** Reads field i from the left; returns the next field index. */
  emitForward(i: number): number {
    const lit = this.literals[i + 1]!;
    if (lit === '') return this.emitForwardPair(i);
    if (this.fields[i]!.type === 'int' && this.fields[i]!.shape === 'token' && DELIMITERS.has(lit[0]!)) {
      this.emitForwardInt(i, lit);
      return i + 1;
    }
    this.emitFindForward(i, lit);
    this.lines.push(`off[${2 * i}] = p; off[${2 * i + 1}] = q; p = q + ${byteLength(lit)};`);
    return i + 1;
  }

  /** An integer field read left to right: digits are accumulated while looking for the delimiter. */
  private emitForwardInt(i: number, lit: string): void {
    const bytes = Buffer.from(lit, 'utf8');
    const missing = `expected ${JSON.stringify(lit)} after ${this.label(i)}`;
    this.parsedInline.add(i);
    this.lines.push('q = p; v = 0; bad = 0;');
    this.lines.push(
      `while (q < e) { c = b[q]; if (c === ${bytes[0]}) break; c -= 48; if (c < 0 || c > 9) bad = 1; v = v * 10 + c; q++; }`,
    );
    this.lines.push(`if (q + ${bytes.length} > e) ${this.fail(missing, 'p')}`);
    this.matchAt(lit.slice(1), 'q + 1', missing);
    this.lines.push(
      `if (bad === 1 || q === p || q - p > 15) { if (q - p === 1 && b[p] === 45) v = NaN; else ${this.fail(`${this.label(i)} is not an integer`, 'p')} }`,
    );
    this.lines.push(`num[${i}] = v; off[${2 * i}] = p; off[${2 * i + 1}] = q; p = q + ${bytes.length};`);
  }

  /** Sets q to where literal `lit` (which ends field i) starts, searching from p. */
  private emitFindForward(i: number, lit: string): void {
    const f = this.fields[i]!;
    const missing = `expected ${JSON.stringify(lit)} after ${this.label(i)}`;
    const bytes = Buffer.from(lit, 'utf8');
    const c0 = bytes[0]!;
    if (f.shape !== 'client' && f.shape !== 'text' && DELIMITERS.has(lit[0]!)) {
      // A token ends at the first delimiter byte; the rest of the literal must follow right there.
      // Envoy's default START_TIME is always 24 bytes wide, so try that position first.
      const width = f.type === 'time' && f.timeFormat === undefined ? 24 : 0;
      if (width) this.lines.push(`q = p + ${width}; if (q >= e || b[q] !== ${c0}) {`);
      const skips = innerDelimiters(f, lit[0]!);
      // Reading from the left, a shifted parse trips over the literals and integers that follow soon after;
      // only a quote-delimited token (the protocol of `"%REQ(:METHOD)% … %PROTOCOL%"`) must refuse spaces.
      const stray = c0 === 34 ? this.strayCheck(f, c0, 'p') : '';
      const scan = stray ? `while (q < e && (c = b[q]) !== ${c0}) { ${stray} q++; }` : seekForward(c0);
      this.lines.push(
        skips === 0 ? `q = p; ${scan}` : `q = p - 1; for (let n = 0; n <= ${skips}; n++) { q++; ${scan} }`,
      );
      if (width) this.lines.push('}');
      this.lines.push(`if (q + ${bytes.length} > e) ${this.fail(missing, 'p')}`);
      this.matchAt(lit.slice(1), 'q + 1', missing);
    } else {
      // Free text ends at the first occurrence of the whole literal.
      const rest = [...bytes.subarray(1)].map((code, k) => `b[q + ${k + 1}] !== ${code}`).join(' || ');
      this.lines.push(`q = p; for (;;) { ${seekForward(c0)}`);
      this.lines.push(`if (q + ${bytes.length} > e) ${this.fail(missing, 'p')}`);
      this.lines.push(rest ? `if (${rest}) { q++; continue; } break; }` : 'break; }');
    }
  }

  /** Field i is followed directly by a protocol field: find the pair's end, then split the protocol off it. */
  private emitForwardPair(i: number): number {
    const lit = this.literals[i + 2]!;
    this.emitFindForward(i + 1, lit);
    this.lines.push(`const split${i} = P(b, p, q);`);
    this.lines.push(
      `if (split${i} < 0) ${this.fail(`expected a protocol at the end of ${this.label(i)}`, 'p')}`,
    );
    this.lines.push(`off[${2 * i}] = p; off[${2 * i + 1}] = split${i};`);
    this.lines.push(`off[${2 * i + 2}] = split${i}; off[${2 * i + 3}] = q; p = q + ${byteLength(lit)};`);
    return i + 2;
  }

  /** Reads field j from the right; returns the next field index (leftwards). */
  emitBackward(j: number): number {
    const lit = this.literals[j]!;
    if (lit === '') return this.emitBackwardPair(j);
    this.emitFindBackward(j, lit);
    this.lines.push(`off[${2 * j}] = q + ${byteLength(lit)}; off[${2 * j + 1}] = e; e = q;`);
    return j - 1;
  }

  /** Sets q to where literal `lit` (which precedes field j) starts, searching leftwards from e. */
  private emitFindBackward(j: number, lit: string): void {
    const f = this.fields[j]!;
    const missing = `expected ${JSON.stringify(lit)} before ${this.label(j)}`;
    const bytes = Buffer.from(lit, 'utf8');
    const n = bytes.length;
    const last = bytes[n - 1]!;
    if (f.shape !== 'client' && f.shape !== 'text' && DELIMITERS.has(lit[lit.length - 1]!)) {
      const skips = innerDelimiters(f, lit[lit.length - 1]!);
      // Unbounded only for a single search: a second one could step past the guard byte.
      const guarded = skips === 0 && this.guardedBytes.has(last);
      const scan = seekBackward(last, !guarded);
      this.lines.push(
        skips === 0 ? `q = e - 1; ${scan}` : `q = e; for (let n = 0; n <= ${skips}; n++) { q--; ${scan} }`,
      );
      // A token read from the right can only be shifted by whole words. A word taken from a quoted field
      // starts or ends with its quote, and the text between two quotes that is not a field's value is the gap
      // between fields, which starts and ends with a space: checking the token's two ends is enough.
      const other = last === 32 ? 34 : last === 34 ? 32 : -1;
      if (other > 0 && f.name !== 'path') {
        const stray = `${f.name} contains a ${other === 34 ? 'quote' : 'space'}`;
        this.lines.push(
          `if (e > q + 1 && (b[q + 1] === ${other} || b[e - 1] === ${other})) ${this.fail(stray, 'e')}`,
        );
      }
      this.lines.push(`q -= ${n - 1};`);
      this.lines.push(`if (q < p) ${this.fail(missing, 'e')}`);
      this.matchAt(lit.slice(0, -1), 'q', missing);
    } else {
      const rest = [...bytes.subarray(0, n - 1)]
        .map((code, k) => `b[q - ${n - 1 - k}] !== ${code}`)
        .join(' || ');
      this.lines.push(`q = e - 1; for (;;) { ${seekBackward(last, !this.guardedBytes.has(last))}`);
      this.lines.push(`if (q - ${n - 1} < p) ${this.fail(missing, 'e')}`);
      this.lines.push(rest ? `if (${rest}) { q--; continue; } break; }` : 'break; }');
      this.lines.push(`q -= ${n - 1};`);
    }
  }

  /** Field j-1 is a protocol directly before field j: find the pair's start, then split the protocol off. */
  private emitBackwardPair(j: number): number {
    const lit = this.literals[j - 1]!;
    this.emitFindBackward(j - 1, lit);
    this.lines.push(`const start${j} = q + ${byteLength(lit)};`);
    this.lines.push(`const split${j} = P(b, start${j}, e);`);
    this.lines.push(`if (split${j} < 0) ${this.fail(`expected a protocol before ${this.label(j)}`, 'e')}`);
    this.lines.push(`off[${2 * j - 2}] = start${j}; off[${2 * j - 1}] = split${j};`);
    this.lines.push(`off[${2 * j}] = split${j}; off[${2 * j + 1}] = e; e = q;`);
    return j - 2;
  }

  emitAbsorber(a: number): void {
    this.lines.push(`if (e < p) ${this.fail(`the fields around ${this.label(a)} overlap`, 'p')}`);
    this.lines.push(`off[${2 * a}] = p; off[${2 * a + 1}] = e;`);
  }

  /** Converts and validates typed fields: integers and times. */
  emitValues(): void {
    this.fields.forEach((f, i) => {
      if (this.parsedInline.has(i)) return;
      const range = `b, off[${2 * i}], off[${2 * i + 1}]`;
      if (f.type === 'int') {
        this.lines.push(`v = I(${range});`);
        this.lines.push(`if (v === -2) ${this.fail(`${f.name} is not an integer`, `off[${2 * i}]`)}`);
        this.lines.push(`num[${i}] = v < 0 ? NaN : v;`);
      } else if (f.type === 'time' && f.timeFormat === undefined) {
        this.emitEnvoyTime(i);
      } else if (f.type === 'time' && f.timeFormat !== undefined) {
        this.lines.push(`v = ${this.constant(compileTimeFormat(f.timeFormat))}(${range});`);
        this.lines.push(`if (v !== v) ${this.fail(`${f.name} is not a valid time`, `off[${2 * i}]`)}`);
        this.lines.push(`num[${i}] = v;`);
      }
    });
    this.lines.push('return true;');
  }

  /**
   * Envoy's own START_TIME, `2024-03-05T07:08:09.123Z`. Lines come in time order, so the scanner keeps the
   * last minute's 16 bytes and epoch in its closure and, while they match, only reads seconds and
   * milliseconds; anything else goes through isoToMs. Inline rather than a call, it took about 15 ns (5 %)
   * off a scan in a loop over bench/generate-lines.ts's lines.
   */
  private emitEnvoyTime(i: number): void {
    const cache = `T${i}`;
    const base = `TB${i}`;
    this.prelude.push(`const ${cache} = new Uint8Array(16); let ${base} = NaN;`);
    const refill = this.constant(cacheMinute);
    const general = this.constant(isoToMs);
    // The digits that change most often first, so a new minute is found after one or two compares.
    const order = [15, 14, 12, 11, 9, 8, 6, 5, 3, 2, 1, 0, 4, 7, 10, 13];
    const same = order.map((k) => `b[q + ${k}] === ${cache}[${k}]`).join(' && ');
    const digit = (k: number) => `(c = b[q + ${k}] - 48) >= 0 && c <= 9`;
    this.lines.push(`q = off[${2 * i}];`);
    this.lines.push(
      `if (off[${2 * i + 1}] - q === 24 && b[q + 16] === 58 && b[q + 19] === 46 && b[q + 23] === 90) {`,
      `if (!(${same})) ${base} = ${refill}(b, q, ${cache});`,
      `v = ${base};`,
      `if ((c = b[q + 17] - 48) >= 0 && c <= 6) v += c * 10000; else v = NaN;`,
      ...[
        [18, 1000],
        [20, 100],
        [21, 10],
        [22, 1],
      ].map(([k, scale]) => `if (${digit(k!)}) v += c * ${scale}; else v = NaN;`),
      `} else v = ${general}(b, q, off[${2 * i + 1}]);`,
    );
    this.lines.push(`if (v !== v) ${this.fail(`${this.fields[i]!.name} is not a valid time`, 'q')}`);
    this.lines.push(`num[${i}] = v;`);
  }

  build(): ScanFunction {
    const names = this.consts.map((_, k) => `K${k}`);
    const source = `const [${names.join(', ')}] = K;\n${this.prelude.join('\n')}\nreturn function scan(b, start, end, st) {\n${this.lines.join('\n')}\n};`;
    const factory = new Function('K', 'F', 'I', 'P', source) as (
      k: unknown[],
      f: typeof failScan,
      i: typeof parseIntField,
      p: typeof splitProtocol,
    ) => ScanFunction;
    return factory(this.consts, failScan, parseIntField, splitProtocol);
  }
}

/**
 * Byte searches compare four bytes per loop turn. V8 spends about a nanosecond per turn of a one-byte loop,
 * most of it on the loop itself, and these searches are most of a scan. With the inline START_TIME below,
 * this took bench:parser's (d) from 2.85 M to 3.7 M lines/s; alone, in a loop over the same generated lines,
 * unrolling gave about 18 %. Three, five, six and eight compares per turn were all slower than four.
 */
const UNROLL = 4;

/** Code that moves q right to the first `byte` in b[q..e), or to e; a plain loop finishes the last bytes. */
function seekForward(byte: number): string {
  const tail = `while (q < e && b[q] !== ${byte}) q++;`;
  const steps = [`if (b[q] === ${byte}) break;`];
  for (let k = 1; k < UNROLL; k++) steps.push(`if (b[q + ${k}] === ${byte}) { q += ${k}; break; }`);
  return `for (;;) { if (q + ${UNROLL - 1} >= e) { ${tail} break; } ${steps.join(' ')} q += ${UNROLL}; }`;
}

/**
 * Code that moves q left to the last `byte` in b[p..q], or to p - 1. Unbounded when a guard byte below p
 * is known to stop it: the reads stay in order, so an unrolled turn never passes the guard.
 */
function seekBackward(byte: number, bounded: boolean): string {
  const tail = bounded ? `while (q >= p && b[q] !== ${byte}) q--;` : `while (b[q] !== ${byte}) q--;`;
  const steps = [`if (b[q] === ${byte}) break;`];
  for (let k = 1; k < UNROLL; k++) steps.push(`if (b[q - ${k}] === ${byte}) { q -= ${k}; break; }`);
  const guard = bounded ? `if (q - ${UNROLL - 1} < p) { ${tail} break; } ` : '';
  return `for (;;) { ${guard}${steps.join(' ')} q -= ${UNROLL}; }`;
}

function failScan(st: ScanState, code: number, at: number): boolean {
  st.failCode = code;
  st.failAt = at;
  return false;
}

/** How many delimiters a field's own text contains: a custom START_TIME such as `%Y-%m-%d %H:%M:%S` has spaces. */
function innerDelimiters(f: FieldSpec, delimiter: string): number {
  if (f.type !== 'time' || f.timeFormat === undefined) return 0;
  return f.timeFormat.split(delimiter).length - 1;
}

/** An unsigned integer; -1 for `-` (unset), -2 when the text is not a number. */
export function parseIntField(b: Uint8Array, start: number, end: number): number {
  if (end - start === 1 && b[start] === 45) return -1;
  if (end === start || end - start > 15) return -2;
  let v = 0;
  for (let k = start; k < end; k++) {
    const c = b[k]! - 48;
    if (c < 0 || c > 9) return -2;
    v = v * 10 + c;
  }
  return v;
}

const HTTP = Buffer.from('HTTP/');

/** Finds where a trailing protocol (`HTTP/1.1`, `HTTP/2`, `-`) starts in b[start..end), or -1. */
export function splitProtocol(b: Uint8Array, start: number, end: number): number {
  if (end > start && b[end - 1] === 45) return end - 1;
  for (let at = end - HTTP.length; at >= start; at--) {
    let k = 0;
    while (k < HTTP.length && b[at + k] === HTTP[k]) k++;
    if (k === HTTP.length) return at;
  }
  return -1;
}

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
