/**
 * Every preset against lines rendered from its own format string: each field must parse back to the
 * value that was rendered into it.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineGenerator } from '../../bench/generate-lines.js';
import { compile, isParseFailure, PRESETS, presetNames, ScanState, TextParser } from '../../parser/index.js';
import {
  dashValues,
  expectRecord,
  formatKeys,
  httpValues,
  INT_KEYS,
  ok,
  presetFormat,
  render,
  tcpValues,
  type Values,
} from './render.js';

/** The format strings from shared/notes/envoy-formats.md §1.1 and §2, without the trailing `\n`. */
const NOTES_FORMATS: Record<string, string> = {
  envoy:
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"',
  'istio-1.0-http':
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%%PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%',
  'istio-1.0-tcp':
    '[%START_TIME%] %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%',
  'istio-1.1-pre':
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%',
  'istio-1.1':
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%',
  'istio-1.2':
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%',
  'istio-1.3':
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%DYNAMIC_METADATA(istio.mixer:status)%" "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%',
  'istio-1.8':
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%',
  'istio-1.9':
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%',
  istio:
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%',
};

/** Command-operator counts from the notes (§2): method, path and protocol counted separately. */
const OPERATOR_COUNTS: Record<string, number> = {
  envoy: 15,
  'istio-1.1-pre': 20,
  'istio-1.1': 21,
  'istio-1.2': 22,
  'istio-1.3': 23,
  'istio-1.8': 22,
  'istio-1.9': 24,
  istio: 24,
};

const RECORD_KEYS = [
  'format',
  'start_time',
  'start_time_ms',
  'method',
  'path',
  'protocol',
  'response_code',
  'response_flags',
  'response_flags_list',
  'response_code_details',
  'connection_termination_details',
  'upstream_transport_failure_reason',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_service_time',
  'x_forwarded_for',
  'user_agent',
  'request_id',
  'authority',
  'upstream_host',
  'upstream_cluster',
  'upstream_local_address',
  'downstream_local_address',
  'downstream_remote_address',
  'requested_server_name',
  'route_name',
  'extra',
].sort();

const TLS_ERROR = 'TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED';

/** Value sets rendered through every preset. Quoted fields get values with spaces. */
const VALUE_SETS: Record<string, Values> = {
  'HTTP, quoted fields with spaces': httpValues({
    upstream_transport_failure_reason: TLS_ERROR,
    istio_policy_status: 'UNAVAILABLE:Mixer policy check timed out after 10 s',
    x_forwarded_for: '203.0.113.7, 10.0.0.1, 192.168.1.1',
    user_agent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/126.0',
    request_id: 'request id with spaces',
    authority: 'reviews shop:9080',
    // %UPSTREAM_HOST% is quoted but Envoy writes it as ip:port; it never holds a space.
    upstream_host: '[2a02:cf40::4e36]:9080',
  }),
  'HTTP, realistic': httpValues(),
  'TCP ("- - -", response code 0)': tcpValues(),
  'TCP blocked by REGISTRY_ONLY (UH, BlackHoleCluster)': tcpValues({
    response_flags: 'UH',
    bytes_received: 0,
    bytes_sent: 0,
    duration: 7,
    upstream_host: null,
    upstream_cluster: 'BlackHoleCluster',
    upstream_local_address: null,
    requested_server_name: null,
  }),
  '- everywhere': dashValues(),
  'IPv6 addresses': httpValues({
    upstream_host: '[2a02:cf40::4e36]:5000',
    upstream_local_address: '[fd00:10:244::7]:40118',
    downstream_local_address: '[2a02:cf40::4e36]:5000',
    downstream_remote_address: '[fd00:10:244::7]:40116',
    x_forwarded_for: '2001:db8::1, 10.0.0.1',
  }),
  'upstream failure with flags list and TLS error': httpValues({
    response_code: 503,
    response_flags: 'UF,URX',
    response_code_details:
      'upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}',
    upstream_transport_failure_reason: TLS_ERROR,
    bytes_sent: 91,
    upstream_service_time: null,
  }),
  'zero and 15-digit integers': httpValues({
    response_code: 0,
    bytes_received: 0,
    bytes_sent: 999999999999999,
    duration: 0,
    upstream_service_time: 123456789012345,
  }),
  'HTTP/2 with a long query path': httpValues({
    protocol: 'HTTP/2',
    path: `/oauth/callback?code=${'eyJhbGciOiJSUzI1NiJ9.'.repeat(12)}&state=xyz`,
  }),
};

function hasMixer(format: string): boolean {
  return format.includes('istio.mixer:status');
}

describe('PRESETS', () => {
  it('lists every generation from the notes, with the exact format strings', () => {
    expect([...presetNames].sort()).toEqual(Object.keys(NOTES_FORMATS).sort());
    for (const p of PRESETS) {
      expect(p.format, p.name).toBe(NOTES_FORMATS[p.name]);
      expect(p.description.length, p.name).toBeGreaterThan(0);
    }
  });

  it('has the operator counts the notes give', () => {
    for (const [name, count] of Object.entries(OPERATOR_COUNTS)) {
      expect(formatKeys(presetFormat(name)).length, name).toBe(count);
    }
  });

  it('compiles each preset by name, reporting the preset name', () => {
    for (const name of presetNames) expect(compile(name).name).toBe(name);
    expect(compile('auto').name).toBe('auto');
    expect(compile('json').name).toBe('json');
    expect(compile('[%START_TIME%] %RESPONSE_CODE%').name).toBe('custom');
  });
});

describe.each(PRESETS.map((p) => [p.name, p.format] as const))('preset %s', (name, format) => {
  const parser = compile(name);

  it.each(Object.entries(VALUE_SETS))('parses back a rendered line: %s', (_label, values) => {
    const line = render(format, values);
    const record = ok(parser.parse(line));
    expect(record.format).toBe(name);
    expectRecord(record, format, values);
    expect(record.start_time_ms).toBe(Date.parse(String(values.start_time)));
    if (hasMixer(format)) {
      expect(record.extra).toEqual({ istio_policy_status: values.istio_policy_status ?? null });
    } else {
      expect(record.extra).toBeNull();
    }
    expect(Object.keys(record).sort()).toEqual(RECORD_KEYS);
  });

  it('leaves the fields its format lacks null', () => {
    const values = httpValues({ response_flags: 'UH' });
    const record = ok(parser.parse(render(format, values)));
    const keys = new Set(formatKeys(format));
    for (const key of Object.keys(values)) {
      if (keys.has(key) || key === 'istio_policy_status') continue;
      expect(record[key as 'route_name'], key).toBeNull();
    }
  });

  it('parses the same with the trailing newline Istio puts in the format, and CRLF line ends', () => {
    const values = VALUE_SETS['HTTP, realistic']!;
    const line = render(format, values);
    const withNewline = compile(`${format}\n`);
    const fromParser = ok(parser.parse(line));
    expect({ ...ok(withNewline.parse(line)), format: name }).toEqual(fromParser);
    expect(ok(parser.parse(`${line}\n`))).toEqual(fromParser);
    expect(ok(parser.parse(`${line}\r\n`))).toEqual(fromParser);
  });

  it('parses bytes (Uint8Array views into a bigger buffer) the same as strings', () => {
    const values = VALUE_SETS['HTTP, quoted fields with spaces']!;
    const line = render(format, values);
    const bytes = Buffer.from(`garbage before\n${line}\ngarbage after`, 'utf8');
    const from = Buffer.byteLength('garbage before\n');
    const view = new Uint8Array(bytes.buffer, bytes.byteOffset + from, Buffer.byteLength(line));
    expect(ok(parser.parse(view))).toEqual(ok(parser.parse(line)));
  });

  // The scanner compares four bytes per loop turn and finishes with a byte loop, so every length modulo 4,
  // next to long and short neighbours, must land on the same boundaries.
  it('reads every text field at every length from 1 to 13 bytes', () => {
    const keys = formatKeys(format).filter(
      (k) => !INT_KEYS.has(k) && k !== 'start_time' && k !== 'protocol' && k !== 'istio_policy_status',
    );
    for (const base of [httpValues(), dashValues()]) {
      for (const key of keys) {
        for (let n = 1; n <= 13; n++) {
          const values = { ...base, [key]: 'abcdefghijklm'.slice(0, n) };
          const record = ok(parser.parse(render(format, values)));
          expectRecord(record, format, values);
        }
      }
    }
  });

  it('rejects a line with one integer replaced by text, without throwing', () => {
    const line = render(format, { ...httpValues(), bytes_received: 'many' });
    const result = parser.parse(line);
    expect(isParseFailure(result)).toBe(true);
  });
});

describe('records from bytes', () => {
  // parse() decodes the line once and slices it when every byte became one character; otherwise it decodes
  // field by field. Either way each field must be exactly its own bytes decoded.
  it('each text field is its own bytes decoded, for any mix of ASCII, multi-byte and invalid UTF-8', () => {
    const parser = compile('istio');
    const format = presetFormat('istio');
    const piece = fc.constantFrom(
      ...['a', 'Z', '/', '.', 'é', '€', '😀'].map((text) => Buffer.from(text)),
      // A stray continuation byte, 0xff, a lead byte without its tail, a truncated sequence, a surrogate.
      ...[[0x80], [0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80]].map((b) => Buffer.from(b)),
    );
    const bytes = fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(bytes, bytes, bytes, (ua, path, authority) => {
        const template = render(
          format,
          httpValues({ user_agent: '@UA@', path: '/@PATH@', authority: '@AUTH@' }),
        );
        const [before, afterUa] = template.split('@UA@') as [string, string];
        const line = Buffer.concat([
          ...splice(before, '@PATH@', path),
          ua,
          ...splice(afterUa, '@AUTH@', authority),
        ]);
        const record = ok(parser.parse(line));
        expect(record.user_agent).toBe(ua.toString('utf8'));
        expect(record.path).toBe(`/${path.toString('utf8')}`);
        expect(record.authority).toBe(authority.toString('utf8'));
        expect(record.upstream_cluster).toBe(httpValues().upstream_cluster);
      }),
      { numRuns: 500 },
    );
  });
});

/** `text` with `marker` replaced by raw bytes (which a JS string cannot hold when they are not UTF-8). */
function splice(text: string, marker: string, bytes: Buffer): Buffer[] {
  const at = text.indexOf(marker);
  if (at < 0) return [Buffer.from(text)];
  return [Buffer.from(text.slice(0, at)), bytes, Buffer.from(text.slice(at + marker.length))];
}

describe('TextParser.scan fast path', () => {
  const format = presetFormat('istio');
  const values = httpValues({
    response_flags: 'UF,URX',
    upstream_service_time: null,
    upstream_transport_failure_reason: TLS_ERROR,
    user_agent: 'evil" "agent',
  });
  const line = render(format, values);

  it('fills absolute byte offsets and numbers for a line inside a larger buffer', () => {
    const parser = new TextParser('istio', format);
    const prefix = 'ünïcode prefix line\n';
    const buf = Buffer.from(`${prefix}${line}\nthe next line`, 'utf8');
    const start = Buffer.byteLength(prefix);
    const end = start + Buffer.byteLength(line);
    expect(parser.scan(buf, start, end)).toBe(true);
    const { off, num } = parser.state;
    const fields = parser.compiled.fields;
    expect(fields.length).toBe(24);
    fields.forEach((f, i) => {
      const text = buf.toString('utf8', off[2 * i]!, off[2 * i + 1]!);
      const expected = values[f.name] ?? null;
      expect(text, f.name).toBe(expected === null ? '-' : String(expected));
      expect(off[2 * i]!, f.name).toBeGreaterThanOrEqual(start);
      expect(off[2 * i + 1]!, f.name).toBeLessThanOrEqual(end);
      if (INT_KEYS.has(f.name)) {
        if (expected === null) expect(Number.isNaN(num[i]!), f.name).toBe(true);
        else expect(num[i], f.name).toBe(Number(expected));
      }
      if (f.name === 'start_time') expect(num[i]).toBe(Date.parse(String(values.start_time)));
    });
  });

  it('writes into a caller-supplied state and leaves its own alone', () => {
    const parser = new TextParser('istio', format);
    const state = new ScanState(parser.compiled.fields.length);
    const buf = Buffer.from(line, 'utf8');
    expect(parser.scanInto(buf, 0, buf.length, state)).toBe(true);
    expect(state.off[1]).toBe(Buffer.byteLength('[2024-03-05T07:08:09.123Z'));
    expect(parser.state.off.every((v) => v === 0)).toBe(true);
  });

  it('returns false with a failure code on a line that does not match', () => {
    const parser = new TextParser('istio', format);
    const buf = Buffer.from('[not a time] "GET / HTTP/1.1" 200', 'utf8');
    expect(parser.scan(buf, 0, buf.length)).toBe(false);
    expect(parser.compiled.reasons[parser.state.failCode]).toBeTypeOf('string');
    const failure = parser.failure(buf, 0, buf.length, parser.state);
    expect(failure.raw).toBe(buf.toString());
  });
});

describe('generated istio traffic (bench/generate-lines.ts)', () => {
  const USER_AGENTS = new Set([
    'curl/8.8.0',
    'Go-http-client/1.1',
    'python-requests/2.31.0',
    'okhttp/4.12.0',
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80',
    'Apache-HttpClient/4.5.14 (Java/17.0.10)',
    'aws-sdk-java/2.25.0 Linux/6.1 OpenJDK_64-Bit_Server_VM/17.0.10+7 Java/17.0.10 vendor/Eclipse_Adoptium io/sync http/Apache cfg/retry-mode/legacy',
    'evil" "agent" "with" "quotes',
  ]);

  it('parses 3000 seeded lines with istio and auto, each kind with its expected fields', () => {
    const gen = new LineGenerator({ seed: 20240601 });
    const istio = compile('istio');
    const auto = compile('auto');
    const kinds = new Set<string>();
    for (let n = 0; n < 3000; n++) {
      const { kind, line } = gen.next();
      kinds.add(kind);
      const r = ok(istio.parse(line));
      expect({ ...ok(auto.parse(line)), format: 'istio' }).toEqual(r);
      expect(r.start_time_ms).toBe(Date.parse(r.start_time!));
      const tcp = kind === 'allowed' || kind === 'passthrough-tls' || kind === 'blocked-tcp';
      if (tcp) {
        expect([r.method, r.path, r.protocol, r.user_agent, r.request_id]).toEqual([
          null,
          null,
          null,
          null,
          null,
        ]);
        expect(r.response_code).toBe(0);
      } else {
        expect(USER_AGENTS.has(r.user_agent!), r.user_agent!).toBe(true);
        expect(r.request_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
        expect(
          r.x_forwarded_for === null || /^203\.0\.\d+\.\d+, 10\.1\.\d+\.\d+$/.test(r.x_forwarded_for),
        ).toBe(true);
      }
      switch (kind) {
        case 'mesh':
          expect(r.upstream_cluster).toMatch(/^outbound\|9080\|\|[a-z]+\.[a-z]+\.svc\.cluster\.local$/);
          expect(r.route_name).toBe('default');
          break;
        case 'allowed':
          expect(r.upstream_cluster).toBe(`outbound|443||${r.requested_server_name}`);
          break;
        case 'passthrough-http':
          expect([r.upstream_cluster, r.route_name, r.response_code]).toEqual([
            'PassthroughCluster',
            'allow_any',
            200,
          ]);
          break;
        case 'passthrough-tls':
          expect([r.upstream_cluster, r.route_name]).toEqual(['PassthroughCluster', null]);
          break;
        case 'blocked-http':
          expect([r.response_code, r.response_code_details, r.upstream_cluster, r.route_name]).toEqual([
            502,
            'direct_response',
            null,
            'block_all',
          ]);
          break;
        case 'blocked-tcp':
          expect([r.response_flags, r.upstream_cluster, r.upstream_host]).toEqual([
            'UH',
            'BlackHoleCluster',
            null,
          ]);
          break;
        case 'timeout':
          expect([r.response_code, r.response_flags, r.response_code_details, r.bytes_sent]).toEqual([
            504,
            'UT',
            'response_timeout',
            24,
          ]);
          break;
        case 'failure':
          expect([r.response_code, r.response_flags_list, r.upstream_transport_failure_reason]).toEqual([
            503,
            ['UF', 'URX'],
            TLS_ERROR,
          ]);
          break;
      }
    }
    expect(kinds.size).toBe(8);
  });

  it('parses every line of test/fixtures/sample-istio.log', () => {
    const text = readFileSync(new URL('../fixtures/sample-istio.log', import.meta.url), 'utf8');
    const lines = text.split('\n').filter((l) => l.length > 0);
    expect(lines.length).toBeGreaterThan(100);
    const auto = compile('auto');
    for (const line of lines) {
      const r = ok(auto.parse(line));
      expect(r.format).toBe('istio');
      expect(r.start_time_ms).toBe(Date.parse(r.start_time!));
    }
  });
});
