/**
 * START_TIME text to epoch milliseconds without Date objects or regexes: it runs once per line.
 * Returns NaN when the text is not a valid time in the expected form.
 */

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const mp = m > 2 ? m - 3 : m + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

function digits(s: Uint8Array, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s[i]! - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * `2019-01-24T12:17:11.640Z`, any fraction length, `Z` or `±HH:MM`/`±HHMM`; also a space for `T`.
 * Consecutive log lines share their minute, so the epoch of the last `YYYY-MM-DDTHH:MM` prefix is cached.
 */
const cachedPrefix = new Uint8Array(16);
let cachedPrefixMs = Number.NaN;

export function isoToMs(s: Uint8Array, a: number, b: number): number {
  if (b - a < 19) return Number.NaN;
  let base = cachedPrefixMs;
  for (let k = 0; k < 16; k++) {
    if (s[a + k] !== cachedPrefix[k]) {
      base = minuteToMs(s, a);
      if (Number.isNaN(base)) return Number.NaN;
      cachedPrefix.set(s.subarray(a, a + 16));
      cachedPrefixMs = base;
      break;
    }
  }
  const s1 = s[a + 17]! - 48;
  const s2 = s[a + 18]! - 48;
  if (s[a + 16] !== 58 || s1 < 0 || s1 > 6 || s2 < 0 || s2 > 9) return Number.NaN;
  // Envoy's own shape, `…:SS.mmmZ`, without the general fraction and offset handling.
  if (b - a === 24 && s[a + 19] === 46 && s[a + 23] === 90) {
    const m1 = s[a + 20]! - 48;
    const m2 = s[a + 21]! - 48;
    const m3 = s[a + 22]! - 48;
    if (m1 < 0 || m1 > 9 || m2 < 0 || m2 > 9 || m3 < 0 || m3 > 9) return Number.NaN;
    return base + (s1 * 10 + s2) * 1000 + m1 * 100 + m2 * 10 + m3;
  }
  let i = a + 19;
  let ms = 0;
  if (i < b && s[i] === 46) {
    // Only the first three digits count: milliseconds are truncated, never rounded.
    i++;
    const first = i;
    while (i < b) {
      const c = s[i]! - 48;
      if (c < 0 || c > 9) break;
      if (i - first < 3) ms = ms * 10 + c;
      i++;
    }
    if (i === first) return Number.NaN;
    for (let k = i - first; k < 3; k++) ms *= 10;
  }
  let offsetMs = 0;
  if (i < b) {
    const z = s[i];
    if (z === 90 && i + 1 === b) {
      // UTC
    } else if (z === 43 || z === 45) {
      const oh = digits(s, i + 1, 2);
      const colon = s[i + 3] === 58 ? 1 : 0;
      const om = digits(s, i + 3 + colon, 2);
      if (oh < 0 || om < 0 || i + 5 + colon !== b) return Number.NaN;
      offsetMs = (oh * 60 + om) * 60000 * (z === 43 ? 1 : -1);
    } else {
      return Number.NaN;
    }
  }
  return base + (s1 * 10 + s2) * 1000 + ms - offsetMs;
}

/** Epoch ms of `YYYY-MM-DDTHH:MM` at `a`, NaN if it is not a valid date and time. */
function minuteToMs(s: Uint8Array, a: number): number {
  const y = digits(s, a, 4);
  const mo = digits(s, a + 5, 2);
  const d = digits(s, a + 8, 2);
  const h = digits(s, a + 11, 2);
  const mi = digits(s, a + 14, 2);
  const sep = s[a + 10];
  if (
    y < 0 ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    d > (mo === 2 && !isLeapYear(y) ? 28 : DAYS_IN_MONTH[mo - 1]!) ||
    h < 0 ||
    h > 23 ||
    mi < 0 ||
    mi > 59 ||
    s[a + 4] !== 45 ||
    s[a + 7] !== 45 ||
    s[a + 13] !== 58 ||
    (sep !== 84 && sep !== 32)
  ) {
    return Number.NaN;
  }
  return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60) * 1000;
}

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/**
 * For a scanner's own minute cache: epoch ms of the `YYYY-MM-DDTHH:MM` at `a`, with those 16 bytes copied
 * into `into`; NaN and a zeroed `into` (which no digit matches) when they are not a valid minute.
 */
export function cacheMinute(s: Uint8Array, a: number, into: Uint8Array): number {
  const ms = minuteToMs(s, a);
  for (let k = 0; k < 16; k++) into[k] = Number.isNaN(ms) ? 0 : s[a + k]!;
  return ms;
}

type TimeStep =
  | { lit: string }
  | { field: 'Y' | 'm' | 'd' | 'H' | 'M' | 'S' | 'e' }
  | { field: 's' }
  | { field: 'f'; digits: number }
  | { field: 'z' };

/** Parses text written by a custom `%START_TIME(<strftime>)%`; unknown specifiers fall back to Date.parse. */
export function compileTimeFormat(format: string): (s: Uint8Array, a: number, b: number) => number {
  const parse = compileTimeFormatText(format);
  return (s, a, b) => parse(Buffer.from(s.buffer, s.byteOffset, s.byteLength).toString('latin1', a, b));
}

/** Text variant: parses a whole string. */
function compileTimeFormatText(format: string): (s: string) => number {
  const steps: TimeStep[] = [];
  let lit = '';
  for (let i = 0; i < format.length; i++) {
    const c = format[i]!;
    if (c !== '%') {
      lit += c;
      continue;
    }
    let spec = format[++i];
    let fracDigits = 9;
    if (spec !== undefined && spec >= '1' && spec <= '9' && format[i + 1] === 'f') {
      fracDigits = Number(spec);
      spec = format[++i];
    }
    const push = (step: TimeStep) => {
      if (lit) steps.push({ lit });
      lit = '';
      steps.push(step);
    };
    switch (spec) {
      case 'Y':
      case 'm':
      case 'd':
      case 'H':
      case 'M':
      case 'S':
      case 'e':
      case 's':
        push({ field: spec });
        break;
      case 'f':
        push({ field: 'f', digits: fracDigits });
        break;
      case 'z':
        push({ field: 'z' });
        break;
      case 'T':
        push({ field: 'H' });
        lit = ':';
        push({ field: 'M' });
        lit = ':';
        push({ field: 'S' });
        break;
      case 'F':
        push({ field: 'Y' });
        lit = '-';
        push({ field: 'm' });
        lit = '-';
        push({ field: 'd' });
        break;
      case '%':
        lit += '%';
        break;
      default:
        return (s) => {
          const t = Date.parse(s);
          return Number.isNaN(t) ? Number.NaN : t;
        };
    }
  }
  if (lit) steps.push({ lit });
  return (s) => parseWithSteps(steps, s);
}

function textDigits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

function parseWithSteps(steps: TimeStep[], s: string): number {
  const a = 0;
  const b = s.length;
  let y = 1970;
  let mo = 1;
  let d = 1;
  let h = 0;
  let mi = 0;
  let se = 0;
  let epoch = Number.NaN;
  /** Milliseconds from the fraction's first three digits: truncated, as for the ISO default, never rounded. */
  let fracMs = 0;
  let offsetMin = 0;
  let i = a;
  for (const step of steps) {
    if ('lit' in step) {
      if (!s.startsWith(step.lit, i)) return Number.NaN;
      i += step.lit.length;
      continue;
    }
    if (step.field === 'z') {
      const sign = s[i];
      if (sign === 'Z') {
        i++;
        continue;
      }
      const oh = textDigits(s, i + 1, 2);
      const colon = s[i + 3] === ':' ? 1 : 0;
      const om = textDigits(s, i + 3 + colon, 2);
      if ((sign !== '+' && sign !== '-') || oh < 0 || om < 0) return Number.NaN;
      offsetMin = (oh * 60 + om) * (sign === '+' ? 1 : -1);
      i += 5 + colon;
      continue;
    }
    const max = step.field === 'Y' ? 4 : step.field === 's' || step.field === 'f' ? 20 : 2;
    if (step.field === 'e' && s.charCodeAt(i) === 32) i++;
    let j = i;
    while (j < b && j - i < max && s.charCodeAt(j) >= 48 && s.charCodeAt(j) <= 57) j++;
    const text = s.slice(i, j);
    if (!text) return Number.NaN;
    const v = Number(text);
    switch (step.field) {
      case 'Y':
        y = v;
        break;
      case 'm':
        mo = v;
        break;
      case 'd':
      case 'e':
        d = v;
        break;
      case 'H':
        h = v;
        break;
      case 'M':
        mi = v;
        break;
      case 'S':
        se = v;
        break;
      case 's':
        epoch = v;
        break;
      case 'f':
        fracMs = Number(text.padEnd(3, '0').slice(0, 3));
        break;
    }
    i = j;
  }
  if (i !== b) return Number.NaN;
  if (!Number.isNaN(epoch)) return epoch * 1000 + fracMs;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return Number.NaN;
  return (daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offsetMin * 60) * 1000 + fracMs;
}

/** isoToMs for text outside the hot path (JSON logs). */
export function isoTextToMs(text: string): number {
  return isoToMs(Buffer.from(text, 'latin1'), 0, text.length);
}
