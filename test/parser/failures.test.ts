/** ParseFailure: a reason, the byte offset where matching failed, and the line itself. */
import { describe, expect, it } from 'vitest';
import { type AccessRecord, compile, isParseFailure, ParseFailure, PRESETS } from '../../parser/index.js';
import { httpValues, ok, render } from './render.js';

const ISTIO_FORMAT = PRESETS.find((p) => p.name === 'istio')!.format;
const LINE =
  '[2019-01-24T12:17:11.640Z] "GET /headers HTTP/1.1" 200 - via_upstream - "-" 0 599 214 214 "-" "curl/7.60.0" "17fde8f7-fa62-9b39-8999-302324e6def2" "httpbin.org" "35.173.6.94:80" outbound|80||httpbin.org - 35.173.6.94:80 172.30.109.82:55314 - default';

function failure(result: AccessRecord | ParseFailure): ParseFailure {
  if (!isParseFailure(result)) throw new Error(`expected a ParseFailure, got a ${result.format} record`);
  return result;
}

/** Byte offset of the first occurrence of `needle` in `line`. */
function byteOffset(line: string, needle: string): number {
  const i = line.indexOf(needle);
  if (i < 0) throw new Error(`test: ${needle} not in line`);
  return Buffer.byteLength(line.slice(0, i));
}

describe('ParseFailure from a preset', () => {
  const istio = compile('istio');

  it('the reference line parses', () => {
    expect(isParseFailure(istio.parse(LINE))).toBe(false);
  });

  it('a non-numeric response code: names the field and points at it', () => {
    const line = LINE.replace(' 200 ', ' 2x0 ');
    const f = failure(istio.parse(line));
    expect(f).toBeInstanceOf(ParseFailure);
    expect(f.error).toMatch(/response_code/);
    expect(f.offset).toBe(byteOffset(line, '2x0'));
    expect(f.raw).toBe(line);
  });

  it('a non-numeric byte count', () => {
    const line = LINE.replace(' 599 ', ' many ');
    const f = failure(istio.parse(line));
    expect(f.error).toMatch(/bytes_sent/);
    expect(f.offset).toBe(byteOffset(line, 'many'));
    expect(f.raw).toBe(line);
  });

  it('the offset counts bytes, not UTF-16 units, after multi-byte text', () => {
    const line = LINE.replace('/headers', '/ünïcödé/🚀').replace(' 599 ', ' many ');
    const f = failure(istio.parse(line));
    expect(f.offset).toBe(byteOffset(line, 'many'));
    expect(f.offset).toBeGreaterThan(line.indexOf('many'));
    expect(Buffer.from(f.raw, 'utf8').subarray(f.offset).toString('utf8').startsWith('many')).toBe(true);
  });

  it('an invalid start time points just after the [', () => {
    const line = LINE.replace('2019-01-24', '2019-13-24');
    const f = failure(istio.parse(line));
    expect(f.error).toMatch(/start_time/);
    expect(f.offset).toBe(1);
  });

  // The scanner caches the last minute it read: a cached minute must never vouch for a line that differs
  // from it in any byte, and an invalid minute must never enter the cache.
  it('start times line after line: every minute, day and year change, and bad text after good text', () => {
    const parser = compile('istio');
    const at = (time: string) => parser.parse(LINE.replace('2019-01-24T12:17:11.640Z', time));
    const times = [
      '2019-01-24T12:17:11.640Z',
      '2019-01-24T12:17:59.999Z',
      '2019-01-24T12:18:00.000Z',
      '2019-01-24T13:18:00.001Z',
      '2019-01-25T13:18:00.001Z',
      '2019-02-25T13:18:00.001Z',
      '2020-02-25T13:18:00.001Z',
      '2020-02-29T23:59:59.999Z',
      '2020-03-01T00:00:00.000Z',
      '1969-12-31T23:59:59.999Z',
      '2020-03-01T00:00:00.000+01:00',
      '2020-03-01T00:00:00Z',
      '2020-03-01T00:00:00.123456Z',
    ];
    for (const time of times) {
      const record = at(time);
      if (isParseFailure(record)) throw new Error(`${time}: ${record.error}`);
      expect(record.start_time_ms, time).toBe(Date.parse(time));
    }
    for (const bad of [
      '2019-01-24T12:17:1x.640Z',
      '2019-01-24T12:17:11.6x0Z',
      '2019-01-24T12:17:71.640Z',
      '2019-01-24T12:17:11,640Z',
      '2019-01-24T12-17:11.640Z',
      '2019-01-24T12:60:11.640Z',
      '2019-01-24T24:17:11.640Z',
      '2019-01-32T12:17:11.640Z',
      '2019-02-29T12:17:11.640Z',
      '2100-02-29T12:17:11.640Z',
      '2019-01-24T12:17:11.640X',
    ]) {
      // Each bad time right after a good one of the same minute, and twice in a row.
      expect(isParseFailure(at('2019-01-24T12:17:11.640Z')), bad).toBe(false);
      expect(failure(at(bad)).error, bad).toMatch(/start_time/);
      expect(failure(at(bad)).error, bad).toMatch(/start_time/);
    }
    // One digit of the minute changed at a time, alternating with the original.
    const base = '2019-01-24T12:17:11.640Z';
    for (let k = 0; k < 16; k++) {
      for (const d of '0123456789') {
        const variant = base.slice(0, k) + d + base.slice(k + 1);
        const ms = Date.parse(variant);
        if (variant === base || Number.isNaN(ms) || new Date(ms).toISOString() !== variant) continue;
        expect(ok(at(variant)).start_time_ms, variant).toBe(ms);
        expect(ok(at(base)).start_time_ms, base).toBe(Date.parse(base));
      }
    }
    expect(ok(at('2024-02-29T12:17:11.640Z')).start_time_ms).toBe(Date.parse('2024-02-29T12:17:11.640Z'));
    expect(ok(at('2000-02-29T12:17:11.640Z')).start_time_ms).toBe(Date.parse('2000-02-29T12:17:11.640Z'));
  });

  it('a missing literal: where the expected text was not found', () => {
    const line = LINE.replace('"GET /headers HTTP/1.1"', '"GET /headers HTTP/1.1');
    const f = failure(istio.parse(line));
    expect(f.error.length).toBeGreaterThan(0);
    expect(f.offset).toBeGreaterThan(0);
    expect(f.offset).toBeLessThanOrEqual(Buffer.byteLength(line));
    expect(f.raw).toBe(line);
  });

  it('a line that does not start with the first literal fails at offset 0', () => {
    const f = failure(istio.parse(`x${LINE}`));
    expect(f.error).toMatch(/start/);
    expect(f.offset).toBe(0);
  });

  it('a truncated line and an empty line', () => {
    const cut = LINE.slice(0, 60);
    const f = failure(istio.parse(cut));
    expect(f.raw).toBe(cut);
    expect(f.offset).toBeLessThanOrEqual(cut.length);
    const empty = failure(istio.parse(''));
    expect(empty.raw).toBe('');
    expect(empty.offset).toBe(0);
  });

  it('raw is the line without its line terminator', () => {
    const line = LINE.replace(' 200 ', ' 2x0 ');
    expect(failure(istio.parse(`${line}\n`)).raw).toBe(line);
    expect(failure(istio.parse(`${line}\r\n`)).raw).toBe(line);
  });

  it('bytes that are not UTF-8: raw is the decoded text, offset still in bytes', () => {
    const line = Buffer.concat([
      Buffer.from('[2019-01-24T12:17:11.640Z] "GET /'),
      Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]),
      Buffer.from(' HTTP/1.1" 2x0'),
    ]);
    const f = failure(istio.parse(line));
    expect(f.raw).toBe(line.toString('utf8'));
    expect(f.raw).toContain('\ufffd');
    expect(f.offset).toBeLessThanOrEqual(line.length);
  });

  it('literal text of a custom format must match exactly, with the failing offset', () => {
    const kv = compile('status=%RESPONSE_CODE% cluster=%UPSTREAM_CLUSTER%');
    expect(failure(kv.parse('Status=200 cluster=x')).offset).toBe(0);
    const f = failure(kv.parse('status=200 cluster:x'));
    expect(f.error).toMatch(/cluster=/);
    // Between the start of the literal " cluster=" and the byte that differs from it.
    expect(f.offset).toBeGreaterThanOrEqual('status=200'.length);
    expect(f.offset).toBeLessThanOrEqual('status=200 cluster'.length);
  });
});

describe('ParseFailure from auto', () => {
  it('a line that is neither TEXT, JSON nor wrapped: offset 0 and the reason', () => {
    for (const line of ['hello world', '', '   ', 'ACCESS [2019-02-12T18:37:42.921Z] "GET / HTTP/1.1" 200']) {
      const f = failure(compile('auto').parse(line));
      expect(f.error).toMatch(/not an access-log line/);
      expect(f.offset).toBe(0);
      expect(f.raw).toBe(line);
    }
  });

  it('a bracketed line no generation matches says so, with raw the line', () => {
    const line = '[2019-01-24T12:17:11.640Z] something else entirely';
    const f = failure(compile('auto').parse(line));
    expect(f.error).toMatch(/no format matched/);
    expect(f.raw).toBe(line);
    expect(f.offset).toBeGreaterThanOrEqual(0);
    expect(f.offset).toBeLessThanOrEqual(Buffer.byteLength(line));
  });

  it('an istio line with a broken response code: the closest generation is istio, failing at the code', () => {
    const line = render(ISTIO_FORMAT, httpValues({ response_code: '2x0' }));
    const f = failure(compile('auto').parse(line));
    expect(f.error).toMatch(/closest istio: response_code is not an integer/);
    expect(f.offset).toBe(byteOffset(line, '2x0'));
    expect(f.raw).toBe(line);
  });

  it('an istio line with a broken byte count: the closest generation is istio, failing at the count', () => {
    const line = render(ISTIO_FORMAT, httpValues({ bytes_sent: 'many' }));
    const f = failure(compile('auto').parse(line));
    expect(f.error).toMatch(/closest istio: bytes_sent is not an integer/);
    expect(f.offset).toBe(byteOffset(line, 'many'));
  });

  it('a JSON line that is not valid JSON', () => {
    const line = '{"start_time":"2019-01-24T12:17:11.640Z","response_code":20x}';
    const f = failure(compile('auto').parse(line));
    expect(f.error).toMatch(/invalid JSON/);
    expect(f.offset).toBe(line.indexOf('x}'));
    expect(f.raw).toBe(line);
  });

  it('parse never throws on a failure path and every failure offset lies inside the line', () => {
    const lines = [
      LINE.replace(' 200 ', ' 2x0 '),
      LINE.slice(0, 100),
      `${LINE} extra`,
      LINE.replaceAll('"', ''),
      LINE.replaceAll(' ', '  '),
      '[',
      '{',
      '[]',
      '{}',
      '2022-07-22T12:24:12.325744791Z stdout F [broken',
    ];
    for (const spec of ['auto', 'json', ...PRESETS.map((p) => p.name)]) {
      for (const line of lines) {
        const r = compile(spec).parse(line);
        if (!isParseFailure(r)) continue;
        expect(r.error.length, `${spec}: ${line}`).toBeGreaterThan(0);
        expect(r.error).not.toMatch(/internal parser error/);
        expect(r.offset).toBeGreaterThanOrEqual(0);
        expect(r.offset).toBeLessThanOrEqual(Buffer.byteLength(r.raw));
      }
    }
  });
});
