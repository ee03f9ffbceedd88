/**
 * Where a JSON line stops being JSON, as a byte offset. V8's messages give a UTF-16 position only some of the
 * time ("Unexpected token '}', … is not valid JSON" has none), so on failure the line is walked once by a
 * minimal recursive-descent checker. Only failures pay for it.
 */
export function jsonErrorOffset(line: string, err: unknown): number {
  const m = /position (\d+)/.exec((err as Error).message ?? '');
  const chars = m ? Number(m[1]) : firstSyntaxError(line);
  return Buffer.byteLength(line.slice(0, Math.max(0, chars)));
}

/** The UTF-16 index of the first character that cannot continue valid JSON (line.length if it ends early). */
function firstSyntaxError(s: string): number {
  let i = 0;
  const ws = () => {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string): void => {
    for (const c of word) {
      if (s[i] !== c) fail();
      i++;
    }
  };
  const string = (): void => {
    i++;
    while (i < s.length && s[i] !== '"') {
      if (s[i] === '\\') {
        i++;
        if (s[i] === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!/[0-9a-fA-F]/.test(s[i] ?? '')) fail();
          }
        } else if (!'"\\/bfnrt'.includes(s[i] ?? 'x')) fail();
      } else if (s.charCodeAt(i) < 0x20) fail();
      i++;
    }
    if (i >= s.length) fail();
    i++;
  };
  const number = (): void => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i, i + 400));
    if (!m?.[0]) fail();
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 512) fail();
    ws();
    const c = s[i];
    if (c === '{') {
      i++;
      ws();
      if (s[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (s[i] !== '"') fail();
        string();
        ws();
        if (s[i] !== ':') fail();
        i++;
        value(depth + 1);
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === '}') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (s[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (s[i] === ',') i++;
        else if (s[i] === ']') {
          i++;
          return;
        } else fail();
      }
    }
    if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) number();
    else fail();
  };
  try {
    value(0);
    ws();
    return Math.min(i, s.length);
  } catch (at) {
    return typeof at === 'number' ? Math.min(at, s.length) : 0;
  }
}
