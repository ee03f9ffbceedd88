/**
 * Splits an Envoy format string into literal text and command operators.
 * `%%` is a literal percent sign; an operator is `%NAME%`, `%NAME(ARG)%` or `%NAME(ARG):LEN%`.
 */

export interface OperatorToken {
  /** The operator name, e.g. `REQ`, `START_TIME`. */
  name: string;
  /** The argument inside the parentheses, if any (`X-ENVOY-ORIGINAL-PATH?:PATH`). */
  arg: string | undefined;
  /** The `:Z` truncation length, if any. */
  maxLength: number | undefined;
  /** The operator exactly as written, for error messages. */
  text: string;
}

export type FormatToken = { literal: string } | { operator: OperatorToken };

export class FormatStringError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at offset ${offset} of the format string)`);
    this.name = 'FormatStringError';
  }
}

const NAME = /^[A-Z][A-Z0-9_]*$/;

export function tokenizeFormat(format: string): FormatToken[] {
  const tokens: FormatToken[] = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    if (format[i + 1] === '%') {
      literal += '%';
      i += 2;
      continue;
    }
    const { token, next } = readOperator(format, i);
    if (literal) tokens.push({ literal });
    literal = '';
    tokens.push({ operator: token });
    i = next;
  }
  if (literal) tokens.push({ literal });
  return tokens;
}

/** Reads one operator starting at the `%` at `start`. Parentheses may contain `%` (START_TIME's strftime). */
function readOperator(format: string, start: number): { token: OperatorToken; next: number } {
  let i = start + 1;
  while (i < format.length && /[A-Z0-9_]/.test(format[i]!)) i++;
  const name = format.slice(start + 1, i);
  if (!NAME.test(name)) throw new FormatStringError('expected an operator name after %', start);
  let arg: string | undefined;
  if (format[i] === '(') {
    const close = findClosingParen(format, i);
    if (close < 0) throw new FormatStringError(`unclosed ( in %${name}`, i);
    arg = format.slice(i + 1, close);
    i = close + 1;
  }
  let maxLength: number | undefined;
  if (format[i] === ':') {
    let j = i + 1;
    while (j < format.length && format[j]! >= '0' && format[j]! <= '9') j++;
    if (j === i + 1) throw new FormatStringError(`expected a length after : in %${name}`, i);
    maxLength = Number(format.slice(i + 1, j));
    i = j;
  }
  if (format[i] !== '%') throw new FormatStringError(`expected % to close %${name}`, i);
  return { token: { name, arg, maxLength, text: format.slice(start, i + 1) }, next: i + 1 };
}

/** START_TIME's argument is a strftime string and may itself contain parentheses-free `%` specifiers. */
function findClosingParen(format: string, open: number): number {
  let depth = 0;
  for (let i = open; i < format.length; i++) {
    const c = format[i];
    if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}
