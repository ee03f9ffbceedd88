/**
 * Real line shapes: the two sample lines from istio.io's "Accessing External Services" page and the
 * egress shapes collected in shared/notes/envoy-formats.md §5.
 */
import { describe, expect, it } from 'vitest';
import { type AccessRecord, compile } from '../../parser/index.js';
import { ok } from './render.js';

type Expected = Partial<AccessRecord>;

function expectFields(record: AccessRecord, expected: Expected): void {
  for (const [key, value] of Object.entries(expected)) {
    expect(record[key as keyof AccessRecord], key).toEqual(value);
  }
}

describe('istio.io "Accessing External Services" sample lines (istio-1.1-pre format)', () => {
  const HTTP =
    '[2019-01-24T12:17:11.640Z] "GET /headers HTTP/1.1" 200 - 0 599 214 214 "-" "curl/7.60.0" "17fde8f7-fa62-9b39-8999-302324e6def2" "httpbin.org" "35.173.6.94:80" outbound|80||httpbin.org - 35.173.6.94:80 172.30.109.82:55314 -';
  const TLS =
    '[2019-01-24T12:48:54.977Z] "- - -" 0 - 601 17766 1289 - "-" "-" "-" "-" "172.217.161.36:443" outbound|443||www.google.com 172.30.109.82:59480 172.217.161.36:443 172.30.109.82:59478 www.google.com';

  const httpExpected: Expected = {
    format: 'istio-1.1-pre',
    start_time: '2019-01-24T12:17:11.640Z',
    start_time_ms: Date.UTC(2019, 0, 24, 12, 17, 11, 640),
    method: 'GET',
    path: '/headers',
    protocol: 'HTTP/1.1',
    response_code: 200,
    response_flags: null,
    response_flags_list: [],
    response_code_details: null,
    connection_termination_details: null,
    upstream_transport_failure_reason: null,
    bytes_received: 0,
    bytes_sent: 599,
    duration: 214,
    upstream_service_time: 214,
    x_forwarded_for: null,
    user_agent: 'curl/7.60.0',
    request_id: '17fde8f7-fa62-9b39-8999-302324e6def2',
    authority: 'httpbin.org',
    upstream_host: '35.173.6.94:80',
    upstream_cluster: 'outbound|80||httpbin.org',
    upstream_local_address: null,
    downstream_local_address: '35.173.6.94:80',
    downstream_remote_address: '172.30.109.82:55314',
    requested_server_name: null,
    route_name: null,
    extra: null,
  };

  const tlsExpected: Expected = {
    format: 'istio-1.1-pre',
    start_time: '2019-01-24T12:48:54.977Z',
    start_time_ms: Date.UTC(2019, 0, 24, 12, 48, 54, 977),
    method: null,
    path: null,
    protocol: null,
    response_code: 0,
    response_flags: null,
    response_flags_list: [],
    bytes_received: 601,
    bytes_sent: 17766,
    duration: 1289,
    upstream_service_time: null,
    x_forwarded_for: null,
    user_agent: null,
    request_id: null,
    authority: null,
    upstream_host: '172.217.161.36:443',
    upstream_cluster: 'outbound|443||www.google.com',
    upstream_local_address: '172.30.109.82:59480',
    downstream_local_address: '172.217.161.36:443',
    downstream_remote_address: '172.30.109.82:59478',
    requested_server_name: 'www.google.com',
    route_name: null,
    extra: null,
  };

  it('auto picks istio-1.1-pre for the HTTP line and gets every field', () => {
    const record = ok(compile('auto').parse(HTTP));
    expectFields(record, httpExpected);
  });

  it('auto picks istio-1.1-pre for the TLS line and gets every field', () => {
    const record = ok(compile('auto').parse(TLS));
    expectFields(record, tlsExpected);
  });

  it('the explicit istio-1.1-pre preset gives the same records', () => {
    const parser = compile('istio-1.1-pre');
    expect(ok(parser.parse(HTTP))).toEqual(ok(compile('auto').parse(HTTP)));
    expect(ok(parser.parse(TLS))).toEqual(ok(compile('auto').parse(TLS)));
  });

  it('auto gets both right one after the other, in either order', () => {
    const auto = compile('auto');
    for (const line of [HTTP, TLS, TLS, HTTP, HTTP]) {
      expect(ok(auto.parse(line)).format).toBe('istio-1.1-pre');
    }
  });
});

describe('egress line shapes from the notes (§5), Istio 1.9+ format', () => {
  const ID = '2f1c0b5a-6d1e-4c57-9a8e-0c1f2b3d4e5f';
  const T = '[2024-05-06T07:08:09.010Z]';
  const cases: Array<{ name: string; line: string; expected: Expected }> = [
    {
      name: 'ALLOW_ANY, plain HTTP through PassthroughCluster',
      line: `${T} "GET / HTTP/1.1" 200 - via_upstream - "-" 0 2381 12 12 "-" "curl/8.8.0" "${ID}" "www.example.org" "93.184.215.14:80" PassthroughCluster 10.244.7.21:40118 93.184.215.14:80 10.244.7.21:40116 - allow_any`,
      expected: {
        response_code: 200,
        response_code_details: 'via_upstream',
        connection_termination_details: null,
        upstream_transport_failure_reason: null,
        bytes_received: 0,
        bytes_sent: 2381,
        duration: 12,
        upstream_service_time: 12,
        user_agent: 'curl/8.8.0',
        request_id: ID,
        authority: 'www.example.org',
        upstream_host: '93.184.215.14:80',
        upstream_cluster: 'PassthroughCluster',
        upstream_local_address: '10.244.7.21:40118',
        downstream_local_address: '93.184.215.14:80',
        downstream_remote_address: '10.244.7.21:40116',
        requested_server_name: null,
        route_name: 'allow_any',
      },
    },
    {
      name: 'ALLOW_ANY, TLS through PassthroughCluster',
      line: `${T} "- - -" 0 - - - "-" 908 4986 80 - "-" "-" "-" "-" "151.101.1.69:443" PassthroughCluster 10.244.7.21:51000 151.101.1.69:443 10.244.7.21:50998 - -`,
      expected: {
        method: null,
        path: null,
        protocol: null,
        response_code: 0,
        response_flags: null,
        response_code_details: null,
        bytes_received: 908,
        bytes_sent: 4986,
        duration: 80,
        upstream_service_time: null,
        user_agent: null,
        authority: null,
        upstream_host: '151.101.1.69:443',
        upstream_cluster: 'PassthroughCluster',
        downstream_local_address: '151.101.1.69:443',
        requested_server_name: null,
        route_name: null,
      },
    },
    {
      name: 'REGISTRY_ONLY, plain HTTP: 502 direct_response on route block_all',
      line: `${T} "HEAD / HTTP/1.1" 502 - direct_response - "-" 0 0 0 - "-" "curl/8.5.0" "${ID}" "www.example.org" "-" - - 93.184.215.14:80 10.1.4.17:48012 - block_all`,
      expected: {
        method: 'HEAD',
        response_code: 502,
        response_flags: null,
        response_flags_list: [],
        response_code_details: 'direct_response',
        bytes_sent: 0,
        duration: 0,
        upstream_service_time: null,
        upstream_host: null,
        upstream_cluster: null,
        upstream_local_address: null,
        downstream_local_address: '93.184.215.14:80',
        downstream_remote_address: '10.1.4.17:48012',
        route_name: 'block_all',
      },
    },
    {
      name: 'REGISTRY_ONLY, TLS: BlackHoleCluster with UH',
      line: `${T} "- - -" 0 UH - - "-" 0 0 7 - "-" "-" "-" "-" "-" BlackHoleCluster - 93.184.215.14:443 10.1.4.17:51230 - -`,
      expected: {
        response_code: 0,
        response_flags: 'UH',
        response_flags_list: ['UH'],
        duration: 7,
        upstream_host: null,
        upstream_cluster: 'BlackHoleCluster',
        upstream_local_address: null,
        downstream_local_address: '93.184.215.14:443',
        downstream_remote_address: '10.1.4.17:51230',
        requested_server_name: null,
        route_name: null,
      },
    },
    {
      name: 'ServiceEntry-allowed HTTP',
      line: `${T} "GET /status/418 HTTP/1.1" 418 - via_upstream - "-" 0 135 120 119 "-" "curl/8.5.0" "${ID}" "httpbin.org" "3.226.124.170:80" outbound|80||httpbin.org 10.1.4.17:38112 3.226.124.170:80 10.1.4.17:38110 - default`,
      expected: {
        response_code: 418,
        upstream_cluster: 'outbound|80||httpbin.org',
        upstream_service_time: 119,
        route_name: 'default',
      },
    },
    {
      name: '504 UT after a VirtualService timeout',
      line: `${T} "GET /items HTTP/1.1" 504 UT response_timeout - "-" 0 24 501 - "-" "curl/8.5.0" "${ID}" "catalog.istioinaction:80" "10.244.1.5:3000" outbound|80|version-v2|catalog.istioinaction.svc.cluster.local 10.244.2.3:45678 10.96.3.4:80 10.244.2.3:45670 - default`,
      expected: {
        response_code: 504,
        response_flags: 'UT',
        response_flags_list: ['UT'],
        response_code_details: 'response_timeout',
        bytes_sent: 24,
        duration: 501,
        upstream_service_time: null,
        upstream_cluster: 'outbound|80|version-v2|catalog.istioinaction.svc.cluster.local',
      },
    },
    {
      name: '503 UF,URX with reset details and a TLS error with spaces',
      line: `${T} "POST /v1/charges HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111} - "TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED" 0 91 30 - "-" "Stripe/v1 RubyBindings/10.1.0" "${ID}" "api.stripe.com" "54.187.216.72:443" outbound|443||api.stripe.com - 54.187.216.72:443 10.244.7.21:40116 api.stripe.com default`,
      expected: {
        method: 'POST',
        response_code: 503,
        response_flags: 'UF,URX',
        response_flags_list: ['UF', 'URX'],
        response_code_details:
          'upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}',
        connection_termination_details: null,
        upstream_transport_failure_reason:
          'TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED',
        bytes_received: 0,
        bytes_sent: 91,
        duration: 30,
        user_agent: 'Stripe/v1 RubyBindings/10.1.0',
        upstream_cluster: 'outbound|443||api.stripe.com',
        upstream_local_address: null,
        requested_server_name: 'api.stripe.com',
      },
    },
    {
      name: '503 UO circuit breaker with no upstream host',
      line: `${T} "GET /v1/items HTTP/1.1" 503 UO upstream_reset_before_response_started{overflow} - "-" 0 81 0 - "-" "okhttp/4.12.0" "${ID}" "catalog:80" "-" outbound|80||catalog.shop.svc.cluster.local - 10.96.3.4:80 10.244.2.3:45670 - default`,
      expected: {
        response_code: 503,
        response_flags_list: ['UO'],
        response_code_details: 'upstream_reset_before_response_started{overflow}',
        upstream_host: null,
        bytes_sent: 81,
      },
    },
    {
      name: '404 NR route_not_found at a gateway',
      line: `${T} "GET /nope HTTP/2" 404 NR route_not_found - "-" 0 0 0 - "198.51.100.7" "Mozilla/5.0" "${ID}" "shop.example.com" "-" - - 10.244.0.9:8443 198.51.100.7:0 shop.example.com -`,
      expected: {
        protocol: 'HTTP/2',
        response_code: 404,
        response_flags: 'NR',
        response_code_details: 'route_not_found',
        upstream_cluster: null,
        x_forwarded_for: '198.51.100.7',
        downstream_remote_address: '198.51.100.7:0',
        requested_server_name: 'shop.example.com',
      },
    },
    {
      name: 'listener-level NR filter_chain_not_found',
      line: `${T} "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - 10.244.0.9:15006 10.244.3.3:51234 - -`,
      expected: { response_code: 0, response_flags: 'NR', response_code_details: 'filter_chain_not_found' },
    },
    {
      name: 'codec error: "- - HTTP/1.1" with DPE',
      line: `${T} "- - HTTP/1.1" 400 DPE http1.codec_error - "-" 0 11 0 - "-" "-" "-" "-" "-" - - 10.244.0.9:8080 10.244.3.3:51234 - -`,
      expected: {
        method: null,
        path: null,
        protocol: 'HTTP/1.1',
        response_code: 400,
        response_flags: 'DPE',
        response_code_details: 'http1.codec_error',
      },
    },
    {
      name: 'RBAC denial details with brackets',
      line: `${T} "GET /admin HTTP/1.1" 403 - rbac_access_denied_matched_policy[ns[istio-system]-policy[deny-all]-rule[0]] - "-" 0 19 0 - "-" "curl/8.5.0" "${ID}" "admin:8080" "-" inbound|8080|| - 10.244.0.9:8080 10.244.3.3:0 outbound_.8080_._.admin.default.svc.cluster.local -`,
      expected: {
        response_code: 403,
        response_code_details: 'rbac_access_denied_matched_policy[ns[istio-system]-policy[deny-all]-rule[0]]',
        upstream_cluster: 'inbound|8080||',
        requested_server_name: 'outbound_.8080_._.admin.default.svc.cluster.local',
      },
    },
    {
      name: 'IPv6 addresses, quoted and unquoted',
      line: `${T} "GET /v6 HTTP/1.1" 200 - via_upstream - "-" 0 12 3 2 "2001:db8::7, 10.0.0.1" "curl/8.5.0" "${ID}" "v6.example.org:5000" "[2a02:cf40::4e36]:5000" outbound|5000||v6.example.org [fd00:10:244::7]:40118 [2a02:cf40::4e36]:5000 [fd00:10:244::7]:40116 - default`,
      expected: {
        x_forwarded_for: '2001:db8::7, 10.0.0.1',
        upstream_host: '[2a02:cf40::4e36]:5000',
        upstream_cluster: 'outbound|5000||v6.example.org',
        upstream_local_address: '[fd00:10:244::7]:40118',
        downstream_local_address: '[2a02:cf40::4e36]:5000',
        downstream_remote_address: '[fd00:10:244::7]:40116',
      },
    },
    {
      name: 'multi-hop X-Forwarded-For and a user agent with spaces',
      line: `${T} "GET /headers HTTP/1.1" 200 - via_upstream - "-" 0 599 214 214 "1.2.3.4, 10.0.0.1" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36" "${ID}" "httpbin.org" "35.173.6.94:80" outbound|80||httpbin.org 10.1.4.17:40118 35.173.6.94:80 10.1.4.17:40116 - default`,
      expected: {
        x_forwarded_for: '1.2.3.4, 10.0.0.1',
        user_agent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36',
        request_id: ID,
      },
    },
    {
      name: 'egress gateway subset cluster and a redacted placeholder authority',
      line: `${T} "GET /politics HTTP/2" 301 - via_upstream - "-" 0 0 20 19 "10.244.3.3" "curl/8.5.0" "4b1f2c0e9d8a7b6c5d4e3f2a1b0c9d8e" "{authority}" "REDACTED_IP1:7600" outbound|80|google|istio-egressgateway.istio-system.svc.cluster.local 10.244.3.3:34000 10.96.0.12:80 10.244.3.3:33998 - -`,
      expected: {
        authority: '{authority}',
        request_id: '4b1f2c0e9d8a7b6c5d4e3f2a1b0c9d8e',
        upstream_host: 'REDACTED_IP1:7600',
        upstream_cluster: 'outbound|80|google|istio-egressgateway.istio-system.svc.cluster.local',
      },
    },
  ];

  it.each(cases)('$name', ({ line, expected }) => {
    for (const spec of ['istio', 'auto']) {
      const record = ok(compile(spec).parse(line));
      expect(record.format).toBe('istio');
      expect(record.start_time_ms).toBe(Date.UTC(2024, 4, 6, 7, 8, 9, 10));
      expectFields(record, expected);
    }
  });

  it('Istio 1.24 alt_stat_name: %UPSTREAM_CLUSTER% values with a trailing ; are stripped', () => {
    const line = `${T} "GET / HTTP/1.1" 200 - via_upstream - "-" 0 5 1 1 "-" "curl/8.5.0" "${ID}" "httpbin.org" "3.226.124.170:80" outbound|80||httpbin.org; 10.1.4.17:40118 3.226.124.170:80 10.1.4.17:40116 - default`;
    for (const spec of ['istio-1.9', 'istio', 'auto']) {
      const record = ok(compile(spec).parse(line));
      expect(record.upstream_cluster, spec).toBe('outbound|80||httpbin.org');
      expect(record.downstream_remote_address, spec).toBe('10.1.4.17:40116');
    }
  });

  it('an older 504 UT line (Istio 1.3 format, quoted "-" "-" after the flags)', () => {
    const line = `${T} "GET /delay/20 HTTP/1.1" 504 UT "-" "-" 150 24 15004 - "-" "curl/7.64.0" "${ID}" "httpbin.org" "3.226.124.170:80" outbound|80||httpbin.org 10.1.4.17:40118 3.226.124.170:80 10.1.4.17:40116 - default`;
    const record = ok(compile('auto').parse(line));
    expectFields(record, {
      format: 'istio-1.3',
      response_code: 504,
      response_flags: 'UT',
      upstream_transport_failure_reason: null,
      bytes_received: 150,
      bytes_sent: 24,
      duration: 15004,
      upstream_service_time: null,
      extra: { istio_policy_status: null },
      route_name: 'default',
    });
  });
});
