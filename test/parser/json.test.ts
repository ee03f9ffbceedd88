/** JSON access logs through compile('json'): typed and all-strings styles, aliases, failures. */
import { describe, expect, it } from 'vitest';
import { compile, isParseFailure, parseJsonLine, recordFromObject } from '../../parser/index.js';
import { ok } from './render.js';

const json = compile('json');

const TYPED = {
  start_time: '2024-05-06T07:08:09.010Z',
  route_name: 'default',
  method: 'GET',
  path: '/status/418',
  protocol: 'HTTP/1.1',
  response_code: 418,
  response_flags: '-',
  response_code_details: 'via_upstream',
  connection_termination_details: null,
  bytes_received: 0,
  bytes_sent: 135,
  duration: 15,
  upstream_service_time: '14',
  x_forwarded_for: null,
  user_agent: 'curl/8.5.0 "quoted" \\ back',
  request_id: '2f1c0b5a-6d1e-4c57-9a8e-0c1f2b3d4e5f',
  authority: 'httpbin.org',
  upstream_host: '3.226.124.170:80',
  upstream_cluster: 'outbound|80||httpbin.org',
  upstream_local_address: '10.1.4.17:38112',
  downstream_local_address: '3.226.124.170:80',
  downstream_remote_address: '10.1.4.17:38110',
  requested_server_name: null,
  upstream_transport_failure_reason: null,
};

describe('JSON lines', () => {
  it('typed style (Istio >= 1.8): numbers, null, upstream_service_time as a string', () => {
    const r = ok(json.parse(JSON.stringify(TYPED)));
    expect(r).toEqual({
      format: 'json',
      start_time: '2024-05-06T07:08:09.010Z',
      start_time_ms: Date.UTC(2024, 4, 6, 7, 8, 9, 10),
      method: 'GET',
      path: '/status/418',
      protocol: 'HTTP/1.1',
      response_code: 418,
      response_flags: null,
      response_flags_list: [],
      response_code_details: 'via_upstream',
      connection_termination_details: null,
      upstream_transport_failure_reason: null,
      bytes_received: 0,
      bytes_sent: 135,
      duration: 15,
      upstream_service_time: 14,
      x_forwarded_for: null,
      user_agent: 'curl/8.5.0 "quoted" \\ back',
      request_id: '2f1c0b5a-6d1e-4c57-9a8e-0c1f2b3d4e5f',
      authority: 'httpbin.org',
      upstream_host: '3.226.124.170:80',
      upstream_cluster: 'outbound|80||httpbin.org',
      upstream_local_address: '10.1.4.17:38112',
      downstream_local_address: '3.226.124.170:80',
      downstream_remote_address: '10.1.4.17:38110',
      requested_server_name: null,
      route_name: 'default',
      extra: null,
    });
  });

  it('all-strings style (Istio <= 1.7): "-" is unset and "200" is a number', () => {
    const strings = Object.fromEntries(
      Object.entries(TYPED).map(([k, v]) => [k, v === null ? '-' : String(v)]),
    );
    const r = ok(json.parse(JSON.stringify({ ...strings, istio_policy_status: '-' })));
    const typed = ok(json.parse(JSON.stringify(TYPED)));
    expect({ ...r, extra: null }).toEqual(typed);
    expect(r.extra).toEqual({ istio_policy_status: '-' });
    expect(r.response_code).toBe(418);
    expect(r.x_forwarded_for).toBeNull();
  });

  it('keys in alphabetical, reversed and rotated order give the same record', () => {
    const keys = Object.keys(TYPED);
    const orders = [[...keys].sort(), [...keys].sort().reverse(), [...keys.slice(7), ...keys.slice(0, 7)]];
    const expected = ok(json.parse(JSON.stringify(TYPED)));
    for (const order of orders) {
      const obj = Object.fromEntries(order.map((k) => [k, TYPED[k as keyof typeof TYPED]]));
      expect(ok(json.parse(JSON.stringify(obj)))).toEqual(expected);
    }
  });

  it('unknown keys, nested values included, are kept in extra', () => {
    const r = ok(
      json.parse(
        JSON.stringify({ ...TYPED, 'x-b3-traceid': 'abc', filter_state: { a: { b: 1 } }, attempts: 2 }),
      ),
    );
    expect(r.extra).toEqual({ 'x-b3-traceid': 'abc', filter_state: { a: { b: 1 } }, attempts: 2 });
  });

  it('a "__proto__" key in the log stays plain data in extra (no prototype change, no pollution)', () => {
    const line = `{"start_time":"2024-05-06T07:08:09.010Z","response_code":200,"__proto__":{"polluted":true},"constructor":"x"}`;
    const r = ok(json.parse(line));
    expect(r.extra).not.toBeNull();
    const extra = r.extra!;
    expect(Object.getPrototypeOf(extra)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(extra, '__proto__')?.value).toEqual({ polluted: true });
    expect(Object.keys(extra)).toEqual(['__proto__', 'constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((extra as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('Istio 1.24.0-1.24.1 trailing ; on upstream_cluster is stripped (istio/istio#54219)', () => {
    const r = ok(json.parse(JSON.stringify({ ...TYPED, upstream_cluster: 'outbound|80||httpbin.org;' })));
    expect(r.upstream_cluster).toBe('outbound|80||httpbin.org');
  });

  it('BlackHole TCP in typed JSON: upstream_cluster null, response_flags "UH" (istio/istio#33281)', () => {
    const r = ok(
      json.parse(
        JSON.stringify({
          ...TYPED,
          method: null,
          path: null,
          protocol: null,
          response_code: 0,
          response_flags: 'UH',
          upstream_cluster: null,
          upstream_host: null,
        }),
      ),
    );
    expect([r.response_code, r.response_flags, r.upstream_cluster]).toEqual([0, 'UH', null]);
    expect(r.response_flags_list).toEqual(['UH']);
  });

  it('long flag names are mapped to short ones; several flags are listed', () => {
    const long = ok(
      json.parse(JSON.stringify({ ...TYPED, response_flags: 'NoHealthyUpstream,UpstreamRequestTimeout' })),
    );
    expect(long.response_flags_list).toEqual(['UH', 'UT']);
    expect(long.response_flags).toBe('UH,UT');
    const alias = ok(
      json.parse(
        JSON.stringify({
          ...TYPED,
          response_flags: undefined,
          response_flags_long: 'UpstreamConnectionFailure',
        }),
      ),
    );
    expect(alias.response_flags_list).toEqual(['UF']);
    const several = ok(json.parse(JSON.stringify({ ...TYPED, response_flags: 'UF,URX' })));
    expect(several.response_flags_list).toEqual(['UF', 'URX']);
  });

  it('Fluent Bit envoy-parser keys and Envoy Gateway header keys are understood', () => {
    const fluent = ok(
      json.parse(
        JSON.stringify({
          start_time: '2024-05-06T07:08:09.010Z',
          method: 'GET',
          code: '200',
          x_envoy_upstream_service_time: '4',
          x_request_id: 'id-1',
          upstream_host: '10.0.0.1:80',
        }),
      ),
    );
    expect([fluent.response_code, fluent.upstream_service_time, fluent.request_id]).toEqual([200, 4, 'id-1']);
    const gateway = ok(
      json.parse(
        JSON.stringify({
          start_time: '2024-05-06T07:08:09.010Z',
          ':authority': 'example.com',
          'x-request-id': 'id-2',
          'user-agent': 'curl/8',
          'x-forwarded-for': '1.2.3.4, 10.0.0.1',
          response_code: 200,
        }),
      ),
    );
    expect([gateway.authority, gateway.request_id, gateway.user_agent, gateway.x_forwarded_for]).toEqual([
      'example.com',
      'id-2',
      'curl/8',
      '1.2.3.4, 10.0.0.1',
    ]);
  });

  it('start_time with an offset or nanoseconds is converted to epoch ms', () => {
    const withOffset = ok(
      json.parse(JSON.stringify({ ...TYPED, start_time: '2024-05-06T09:08:09.010+02:00' })),
    );
    expect(withOffset.start_time_ms).toBe(Date.UTC(2024, 4, 6, 7, 8, 9, 10));
    const nanos = ok(json.parse(JSON.stringify({ ...TYPED, start_time: '2024-05-06T07:08:09.010999999Z' })));
    expect(nanos.start_time_ms).toBe(Date.UTC(2024, 4, 6, 7, 8, 9, 10));
  });

  it('parseJsonLine and recordFromObject agree with compile("json")', () => {
    const line = JSON.stringify(TYPED);
    expect(parseJsonLine(line)).toEqual(json.parse(line));
    expect(recordFromObject({ ...TYPED }, line)).toEqual(json.parse(line));
  });
});

describe('JSON failures are returned, not thrown', () => {
  it.each([
    ['invalid JSON', '{"start_time":"2024-05-06T07:08:09.010Z",', /invalid JSON/],
    ['an array', '[1,2,3]', /must be an object/],
    ['a string', '"hello"', /must be an object/],
    ['null', 'null', /must be an object/],
    ['no start_time', JSON.stringify({ response_code: 200 }), /start_time/],
    [
      'not an access log',
      JSON.stringify({ start_time: '2024-05-06T07:08:09.010Z', level: 'info' }),
      /access-log keys/,
    ],
    ['a bad start_time', JSON.stringify({ ...TYPED, start_time: 'yesterday' }), /start_time/],
    ['a non-integer response_code', JSON.stringify({ ...TYPED, response_code: 'abc' }), /response_code/],
    ['a negative duration', JSON.stringify({ ...TYPED, duration: -1 }), /duration/],
    ['a fractional bytes_sent', JSON.stringify({ ...TYPED, bytes_sent: 1.5 }), /bytes_sent/],
  ])('%s', (_label, line, reason) => {
    const r = json.parse(line);
    expect(isParseFailure(r)).toBe(true);
    if (!isParseFailure(r)) return;
    expect(r.error).toMatch(reason);
    expect(r.raw).toBe(line);
    expect(r.offset).toBeGreaterThanOrEqual(0);
    expect(r.offset).toBeLessThanOrEqual(Buffer.byteLength(line));
  });

  it('invalid JSON reports where the JSON broke', () => {
    const line = '{"start_time": "2024-05-06T07:08:09.010Z", "response_code": 20x}';
    const r = json.parse(line);
    expect(isParseFailure(r)).toBe(true);
    if (isParseFailure(r)) expect(r.offset).toBe(line.indexOf('x}'));
  });

  it('invalid JSON: the offset is in bytes, after multi-byte text too', () => {
    const line = '{"user_agent":"ünïcödé🚀","response_code":20x}';
    const r = json.parse(line);
    expect(isParseFailure(r)).toBe(true);
    if (isParseFailure(r)) expect(r.offset).toBe(Buffer.byteLength(line.slice(0, line.indexOf('x}'))));
  });

  it('invalid JSON: an unexpected token still gets the offset where it is', () => {
    // V8 words some syntax errors without "at position N" ("Unexpected token '}', ... is not valid JSON").
    for (const [line, at] of [
      ['{"start_time":"2019-01-24T12:17:11.640Z","response_code":}', '}'],
      ['{"a":tru}', '}'],
    ] as const) {
      const r = json.parse(line);
      expect(isParseFailure(r)).toBe(true);
      if (isParseFailure(r)) expect(r.offset, line).toBe(line.lastIndexOf(at));
    }
  });

  it('a TEXT line given to the json parser is a failure, not an exception', () => {
    const r = json.parse('[2024-05-06T07:08:09.010Z] "GET / HTTP/1.1" 200');
    expect(isParseFailure(r)).toBe(true);
  });
});
