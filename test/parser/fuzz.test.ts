/**
 * Fuzz: whatever bytes arrive, parse returns a record or a ParseFailure (never throws, never reports an
 * internal error) and terminates. Iterations are bounded so the file runs in a few seconds; nothing is timed.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineGenerator, mulberry32 } from '../../bench/generate-lines.js';
import {
  type AccessRecord,
  compile,
  INT_FIELDS,
  isParseFailure,
  type ParseFailure,
  PRESETS,
  STRING_FIELDS,
} from '../../parser/index.js';
import { valuesArb } from './arbitraries.js';
import { expectRecord, httpValues, render } from './render.js';

const SPECS = [
  'auto',
  'json',
  ...PRESETS.map((p) => p.name),
  '%START_TIME(%s.%3f)% %RESPONSE_CODE% "%REQ(USER-AGENT)%" %UPSTREAM_CLUSTER%',
  'status=%RESPONSE_CODE% flags=%RESPONSE_FLAGS_LONG% ua="%REQ(USER-AGENT)%" xff="%REQ(X-FORWARDED-FOR)%"',
];
const PARSERS = SPECS.map((spec) => compile(spec));
const ISTIO_FORMAT = PRESETS.find((p) => p.name === 'istio')!.format;

/** A record or a ParseFailure, well-formed either way. */
function expectWellFormed(result: AccessRecord | ParseFailure, input: string | Uint8Array): void {
  if (isParseFailure(result)) {
    expect(typeof result.error).toBe('string');
    expect(result.error.length).toBeGreaterThan(0);
    expect(result.error).not.toMatch(/internal parser error/);
    expect(Number.isInteger(result.offset)).toBe(true);
    expect(result.offset).toBeGreaterThanOrEqual(0);
    const bytes = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
    expect(result.offset).toBeLessThanOrEqual(bytes);
    expect(typeof result.raw).toBe('string');
    return;
  }
  expect(typeof result.format).toBe('string');
  for (const key of INT_FIELDS) {
    const v = result[key];
    if (v !== null) {
      expect(Number.isInteger(v), key).toBe(true);
      expect(v, key).toBeGreaterThanOrEqual(0);
    }
  }
  for (const key of STRING_FIELDS) {
    const v = result[key];
    if (v !== null) expect(typeof v, key).toBe('string');
  }
  expect(Array.isArray(result.response_flags_list)).toBe(true);
  if (result.start_time !== null) expect(Number.isFinite(result.start_time_ms)).toBe(true);
}

function parseEverywhere(input: string | Uint8Array): void {
  for (const parser of PARSERS) expectWellFormed(parser.parse(input), input);
}

/** A handful of valid lines of every generation, for truncation and mutation. */
function sampleLines(): string[] {
  const lines = PRESETS.map((p) =>
    render(p.format, httpValues({ user_agent: 'Mozilla/5.0 "ü" " "', path: '/ünï?x=1' })),
  );
  const gen = new LineGenerator({ seed: 99 });
  for (let i = 0; i < 8; i++) lines.push(gen.next().line);
  lines.push(
    JSON.stringify({ start_time: '2024-05-06T07:08:09.010Z', response_code: 200, user_agent: 'ü"x' }),
  );
  lines.push(`2022-07-22T12:24:12.325744791Z stdout F ${lines[0]}`);
  lines.push(
    JSON.stringify({ log: `${lines[0]}\n`, stream: 'stdout', time: '2020-01-23T16:32:49.400311038Z' }),
  );
  return lines;
}

describe('random input', () => {
  it('random bytes (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => parseEverywhere(bytes)),
      { numRuns: 300 },
    );
  });

  it('random text built from the delimiters formats use (fast-check)', () => {
    const piece = fc.constantFrom(
      '[',
      ']',
      '"',
      ' ',
      '" "',
      '-',
      '0',
      '200',
      '{',
      '}',
      ':',
      ',',
      '\\',
      '%',
      'HTTP/1.1',
      'ü',
      '🚀',
      '\t',
      '2019-01-24T12:17:11.640Z',
      'stdout F ',
      '{"log":"',
      'outbound|80||x',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 80 }), (pieces) => parseEverywhere(pieces.join(''))),
      { numRuns: 400 },
    );
  });

  it('random strings of any code points (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => parseEverywhere(`[${s}`)),
      { numRuns: 200 },
    );
  });

  it('valid lines with one byte changed (seeded loop)', () => {
    const rnd = mulberry32(1234);
    const lines = sampleLines();
    for (let n = 0; n < 700; n++) {
      const line = Buffer.from(lines[n % lines.length]!, 'utf8');
      const at = Math.floor(rnd() * line.length);
      line[at] = Math.floor(rnd() * 256);
      parseEverywhere(line);
    }
  });

  it('valid lines with a random slice deleted or duplicated (seeded loop)', () => {
    const rnd = mulberry32(42);
    const lines = sampleLines();
    for (let n = 0; n < 300; n++) {
      const line = lines[n % lines.length]!;
      const a = Math.floor(rnd() * line.length);
      const b = a + Math.floor(rnd() * (line.length - a));
      parseEverywhere(line.slice(0, a) + line.slice(b));
      parseEverywhere(line.slice(0, b) + line.slice(a));
    }
  });
});

describe('truncated lines', () => {
  it('every byte prefix of valid lines, cutting UTF-8 sequences too', () => {
    const auto = compile('auto');
    for (const line of sampleLines()) {
      const bytes = Buffer.from(line, 'utf8');
      for (let k = 0; k <= bytes.length; k++) {
        const prefix = bytes.subarray(0, k);
        expectWellFormed(auto.parse(prefix), prefix);
      }
    }
  });

  it('every character prefix of every preset line through every parser', () => {
    for (const p of PRESETS) {
      const line = render(p.format, httpValues());
      for (let k = 0; k <= line.length; k += 5) parseEverywhere(line.slice(0, k));
    }
  });

  it('a prefix of a random valid istio line never throws (fast-check)', () => {
    const istio = compile('istio');
    fc.assert(
      fc.property(valuesArb, fc.nat(), (values, cut) => {
        const line = render(ISTIO_FORMAT, values);
        const prefix = line.slice(0, cut % (line.length + 1));
        expectWellFormed(istio.parse(prefix), prefix);
      }),
      { numRuns: 300 },
    );
  });
});

describe('degenerate lines', () => {
  it('only quotes, only spaces, `" "` repeated, with and without a leading [ or {', () => {
    for (const unit of ['"', ' ', '" "', '""', '  ', ' "', '[', ']', '{', '-']) {
      for (const n of [1, 2, 3, 10, 57, 500]) {
        const body = unit.repeat(n);
        for (const line of [body, `[${body}`, `{${body}`, `[2019-01-24T12:17:11.640Z] ${body}`])
          parseEverywhere(line);
      }
    }
  });

  it('empty input, newlines only, NUL bytes', () => {
    for (const line of ['', '\n', '\r\n', '\n\n\n', '\0', '\0'.repeat(100), '[\0]']) parseEverywhere(line);
    parseEverywhere(new Uint8Array(0));
    parseEverywhere(new Uint8Array(64));
  });

  it('a 1 MB user agent, a 1 MB path and 1 MB of quotes terminate', () => {
    const mb = 1 << 20;
    const auto = compile('auto');
    const istio = compile('istio');
    const bigUa = render(ISTIO_FORMAT, httpValues({ user_agent: `${'a" "'.repeat(mb / 4)}` }));
    const r = istio.parse(bigUa);
    expectWellFormed(r, bigUa);
    expect(isParseFailure(r) ? r.error : r.user_agent?.length).toBe(mb);
    expectWellFormed(auto.parse(bigUa), bigUa);
    const bigPath = render(ISTIO_FORMAT, httpValues({ path: `/${'x'.repeat(mb)}` }));
    const rp = auto.parse(bigPath);
    expect(isParseFailure(rp) ? rp.error : rp.path?.length).toBe(mb + 1);
    for (const line of [
      '['.padEnd(mb, '"'),
      `[${'" '.repeat(mb / 2)}`,
      `{${'"'.repeat(mb)}`,
      '1'.repeat(mb),
    ]) {
      expectWellFormed(auto.parse(line), line);
      expectWellFormed(istio.parse(line), line);
      expectWellFormed(compile('json').parse(line), line);
    }
    const bigJson = JSON.stringify({
      start_time: '2024-05-06T07:08:09.010Z',
      response_code: 200,
      user_agent: 'u'.repeat(mb),
    });
    const rj = auto.parse(bigJson);
    expect(isParseFailure(rj) ? rj.error : rj.user_agent?.length).toBe(mb);
  });
});

describe('invalid UTF-8', () => {
  const SEQUENCES: Array<[string, number[]]> = [
    ['lone 0xff', [0xff]],
    ['lone continuation byte', [0x80]],
    ['truncated two-byte sequence', [0xc3]],
    ['bad continuation', [0xc3, 0x28]],
    ['overlong slash', [0xc0, 0xaf]],
    ['UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['truncated four-byte sequence', [0xf0, 0x9f, 0x9a]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ];
  const values = httpValues({ user_agent: 'UA_HERE', authority: 'AUTH_HERE' });
  const line = render(ISTIO_FORMAT, values);

  function splice(marker: string, bytes: number[]): Buffer {
    const i = line.indexOf(marker);
    return Buffer.concat([
      Buffer.from(line.slice(0, i)),
      Buffer.from([0x61, ...bytes, 0x62]),
      Buffer.from(line.slice(i + marker.length)),
    ]);
  }

  it.each(SEQUENCES)('%s inside the user agent and authority: Envoy fields intact', (_label, bytes) => {
    for (const spec of ['istio', 'auto']) {
      const buf = splice('AUTH_HERE', bytes);
      const input = Buffer.concat([
        buf.subarray(0, buf.indexOf('UA_HERE')),
        Buffer.from(bytes),
        buf.subarray(buf.indexOf('UA_HERE') + 7),
      ]);
      const r = compile(spec).parse(input);
      expectWellFormed(r, input);
      if (isParseFailure(r)) throw new Error(r.error);
      expect(r.user_agent).toBe(Buffer.from(bytes).toString('utf8'));
      expect(r.authority).toBe(Buffer.from([0x61, ...bytes, 0x62]).toString('utf8'));
      expect(r.user_agent).toContain('\ufffd');
      expectRecord(r, ISTIO_FORMAT, values, (k) => k !== 'user_agent' && k !== 'authority');
    }
  });

  it.each(SEQUENCES)('%s anywhere in a line: a record or a failure for every parser', (_label, bytes) => {
    const base = Buffer.from(line, 'utf8');
    for (let at = 0; at <= base.length; at += 17) {
      parseEverywhere(Buffer.concat([base.subarray(0, at), Buffer.from(bytes), base.subarray(at)]));
    }
  });
});
