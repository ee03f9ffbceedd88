/**
 * Envoy does not escape header values in TEXT logs (envoyproxy/envoy#4191), so a client can put the
 * `" "` that separates quoted fields inside its User-Agent. Whatever it sends, the fields Envoy itself
 * writes must never shift; the user agent absorbs the ambiguity.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccessRecord, compile, PRESETS } from '../../parser/index.js';
import { clientTextArb, userAgentArb, valuesArb } from './arbitraries.js';
import { expectRecord, formatKeys, httpValues, ok, render, type Values } from './render.js';

/** Fields whose text Envoy produces itself (and method/path, which codecs keep space-free). */
const ENVOY_KEYS = [
  'start_time',
  'method',
  'path',
  'protocol',
  'response_code',
  'response_flags',
  'response_code_details',
  'connection_termination_details',
  'upstream_transport_failure_reason',
  'istio_policy_status',
  'bytes_received',
  'bytes_sent',
  'duration',
  'upstream_service_time',
  'upstream_host',
  'upstream_cluster',
  'upstream_local_address',
  'downstream_local_address',
  'downstream_remote_address',
  'requested_server_name',
  'route_name',
];

const CLIENT_KEYS = ['x_forwarded_for', 'user_agent', 'request_id', 'authority'];

const WITH_USER_AGENT = PRESETS.filter((p) => p.format.includes('%REQ(USER-AGENT)%'));

/** The generation auto reports for a preset's lines (istio-1.9 and istio have the same shape). */
function autoName(preset: string): string {
  return preset === 'istio-1.9' ? 'istio' : preset;
}

/** Checks only the Envoy-controlled fields of the format. */
function expectEnvoyFields(record: AccessRecord, format: string, values: Values): void {
  expectRecord(record, format, values, (key) => ENVOY_KEYS.includes(key));
  if (format.includes('istio.mixer:status')) {
    expect(record.extra?.istio_policy_status).toBe(values.istio_policy_status ?? null);
  }
}

/** The client fields of the record, joined back the way the line holds them. */
function clientRegion(record: AccessRecord, format: string): string {
  return CLIENT_KEYS.filter((k) => formatKeys(format).includes(k))
    .map((k) => record[k as 'user_agent'] ?? '-')
    .join('" "');
}

function clientRegionOf(values: Values, format: string): string {
  return CLIENT_KEYS.filter((k) => formatKeys(format).includes(k))
    .map((k) => (values[k] === null || values[k] === undefined ? '-' : String(values[k])))
    .join('" "');
}

const HOSTILE_USER_AGENTS = [
  'x" "y',
  '" "',
  '" " " " " " " " " "',
  'evil" "agent" "with" "quotes',
  '"',
  '""',
  '" ',
  ' "',
  'x" 200 - via_upstream - "-" 0 1 2 3 "y',
  'USER_AGENT_I_WANT_YOU_TO_SEE" "AJ" "WAS" "HERE',
  '-" "-" "-" "-',
  '" "id" "host" "1.2.3.4:80" outbound|80||evil 1.1.1.1:1 2.2.2.2:2 3.3.3.3:3 - default',
  'ünïcödé" "🚀" "ß',
  'Mozilla/5.0 (compatible; "quoted" bot; +http://x.example/bot)',
  '] "GET / HTTP/1.1" 200',
];

describe.each(WITH_USER_AGENT.map((p) => [p.name, p.format] as const))('preset %s', (name, format) => {
  const parser = compile(name);

  it.each(HOSTILE_USER_AGENTS)('user agent %j: every field exact with the preset', (ua) => {
    const values = httpValues({ user_agent: ua, response_flags: 'UF,URX' });
    const record = ok(parser.parse(render(format, values)));
    expectRecord(record, format, values);
  });

  it('auto keeps the generation and every field, whatever the user agent', () => {
    for (const ua of HOSTILE_USER_AGENTS) {
      const values = httpValues({ user_agent: ua, response_flags: 'UF,URX' });
      const line = render(format, values);
      // A fresh parser each time: auto tries the generation that matched last first.
      const record = ok(compile('auto').parse(line));
      expect(record.format, line).toBe(autoName(name));
      expectRecord(record, format, values);
    }
  });

  it('TCP-shaped line without a user agent stays exact', () => {
    const values = httpValues({
      method: null,
      path: null,
      protocol: null,
      response_code: 0,
      user_agent: null,
    });
    expectRecord(ok(parser.parse(render(format, values))), format, values);
  });

  it('any user agent, other client fields with quotes but no `" "`-forming quote: all fields exact', () => {
    // A double quote next to a space could make `" "` together with the delimiter; anything else is fair.
    const mixed = fc
      .string({ unit: fc.constantFrom('a', ' ', '"', ',', 'ü', '1', '-', ']'), minLength: 1, maxLength: 16 })
      .filter((v) => !/" | "/.test(v) && v !== '-');
    const quoted = fc.oneof(
      clientTextArb,
      mixed,
      fc.constantFrom('a"b', '"x', 'y"', '1.2.3.4"', '""', '"q"', 'a"b"c', '1.2.3.4, 10.0.0.1"'),
    );
    fc.assert(
      fc.property(valuesArb, userAgentArb, quoted, quoted, quoted, (base, ua, xff, id, authority) => {
        const values = { ...base, user_agent: ua, x_forwarded_for: xff, request_id: id, authority };
        const record = ok(parser.parse(render(format, values)));
        expectRecord(record, format, values);
      }),
      { numRuns: 150 },
    );
  });

  it('`" "` in X-Forwarded-For, X-Request-Id or :authority moves text between client fields only', () => {
    const hostile = fc.oneof(
      clientTextArb,
      fc.constantFrom('a" "b', '" "', 'x" "y" "z', '1.2.3.4" "10.0.0.1', 'host" "evil.example'),
    );
    fc.assert(
      fc.property(valuesArb, userAgentArb, hostile, hostile, hostile, (base, ua, xff, id, authority) => {
        const values = { ...base, user_agent: ua, x_forwarded_for: xff, request_id: id, authority };
        const record = ok(parser.parse(render(format, values)));
        expectEnvoyFields(record, format, values);
        expect(clientRegion(record, format)).toBe(clientRegionOf(values, format));
      }),
      { numRuns: 150 },
    );
  });
});

describe('documented attacks and real-world client values', () => {
  it('envoyproxy/envoy#4191: a crafted User-Agent in the Envoy default format', () => {
    const line =
      '[2018-08-16T10:00:00.000Z] "GET / HTTP/1.1" 200 - 0 12 3 2 "192.88.34.220" "USER_AGENT_I_WANT_YOU_TO_SEE" "AJ" "WAS" "HERE" "-" "localhost:10000" "-"';
    for (const spec of ['envoy', 'auto']) {
      const r = ok(compile(spec).parse(line));
      expect(r.format).toBe('envoy');
      expect(r.x_forwarded_for).toBe('192.88.34.220');
      expect(r.user_agent).toBe('USER_AGENT_I_WANT_YOU_TO_SEE" "AJ" "WAS" "HERE');
      expect(r.request_id).toBeNull();
      expect(r.authority).toBe('localhost:10000');
      expect(r.upstream_host).toBeNull();
      expect([r.response_code, r.bytes_received, r.bytes_sent, r.duration, r.upstream_service_time]).toEqual([
        200, 0, 12, 3, 2,
      ]);
    }
  });

  it('multi-hop X-Forwarded-For (istio/istio#60123 shape) stays one field', () => {
    for (const xff of [
      '1.2.3.4, 10.0.0.1',
      '203.0.113.7, 198.51.100.2, 10.0.0.1, 10.244.0.1',
      '2001:db8::1, 10.0.0.1',
    ]) {
      const values = httpValues({ x_forwarded_for: xff });
      const format = PRESETS.find((p) => p.name === 'istio')!.format;
      const r = ok(compile('auto').parse(render(format, values)));
      expect(r.x_forwarded_for).toBe(xff);
      expect(r.user_agent).toBe(values.user_agent);
    }
  });

  it("what Fluent Bit's istio-envoy-proxy regex gets wrong, all in one line", () => {
    const line =
      '[2024-05-06T07:08:09.010Z] "GET /a?b=c&d=e HTTP/1.1" 503 UF upstream_reset_before_response_started{connection_failure,TLS_error:_268436501:SSL_routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED} - "TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED" 0 190 4 - "1.2.3.4, 10.0.0.1" "Mozilla/5.0 \\"quoted\\" (X11)" "1e0f2a3b-0000-4000-8000-000000000001" "api.example.com" "10.1.2.3:443" outbound|443||api.example.com 10.244.1.2:50000 10.1.2.3:443 10.244.1.2:49998 api.example.com default';
    const r = ok(compile('auto').parse(line));
    expect(r.format).toBe('istio');
    expect(r.upstream_transport_failure_reason).toBe(
      'TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED',
    );
    expect(r.x_forwarded_for).toBe('1.2.3.4, 10.0.0.1');
    expect(r.user_agent).toBe('Mozilla/5.0 \\"quoted\\" (X11)');
    expect(r.upstream_cluster).toBe('outbound|443||api.example.com');
    expect(r.route_name).toBe('default');
  });

  it('a 100 kB user agent made of `" "` keeps every Envoy field', () => {
    const format = PRESETS.find((p) => p.name === 'istio')!.format;
    const values = httpValues({ user_agent: '" "'.repeat(33_000) });
    const r = ok(compile('istio').parse(render(format, values)));
    expectRecord(r, format, values);
  });
});
