/** Custom Envoy format strings: time formats, unknown operators, literals, flags, compile errors. */
import { describe, expect, it } from 'vitest';
import { compile, FormatStringError, isParseFailure, PRESETS, splitFlags } from '../../parser/index.js';
import { httpValues, ok, render } from './render.js';

describe('START_TIME with a custom format', () => {
  it('%START_TIME(%s.%3f)% gives start_time_ms and keeps the text', () => {
    const r = ok(compile('%START_TIME(%s.%3f)% %RESPONSE_CODE%').parse('1527590590.528 200'));
    expect(r.start_time).toBe('1527590590.528');
    expect(r.start_time_ms).toBe(1527590590528);
    expect(r.response_code).toBe(200);
  });

  it('%START_TIME(%s)% alone is whole seconds', () => {
    expect(ok(compile('%START_TIME(%s)% %DURATION%').parse('1527590590 3')).start_time_ms).toBe(
      1527590590000,
    );
  });

  it('%START_TIME(%Y-%m-%dT%H:%M:%S%z)% applies the UTC offset', () => {
    const r = ok(
      compile('[%START_TIME(%Y-%m-%dT%H:%M:%S%z)%] %DURATION%').parse('[2024-05-06T09:08:09+0200] 3'),
    );
    expect(r.start_time_ms).toBe(Date.UTC(2024, 4, 6, 7, 8, 9));
  });

  it("the Envoy docs' %START_TIME(%Y/%m/%dT%H:%M:%S%z %s)% inside brackets", () => {
    const r = ok(
      compile('[%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%] %RESPONSE_CODE%').parse(
        '[2018/05/29T10:43:10+0000 1527590590] 200',
      ),
    );
    expect(r.start_time).toBe('2018/05/29T10:43:10+0000 1527590590');
    expect(r.start_time_ms).toBe(1527590590000);
  });

  it('a START_TIME format with a space, followed by a space-separated field', () => {
    // The docs' own example format, without brackets around it; and the common "date time" layout.
    const docs = compile('%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)% %RESPONSE_CODE% %UPSTREAM_CLUSTER%');
    const r = ok(docs.parse('2018/05/29T10:43:10+0000 1527590590 200 outbound|80||httpbin.org'));
    expect(r.start_time).toBe('2018/05/29T10:43:10+0000 1527590590');
    expect(r.start_time_ms).toBe(1527590590000);
    expect(r.response_code).toBe(200);
    expect(r.upstream_cluster).toBe('outbound|80||httpbin.org');
    const dateTime = compile('%START_TIME(%Y-%m-%d %H:%M:%S.%3f)% %RESPONSE_CODE%');
    const r2 = ok(dateTime.parse('2024-05-06 07:08:09.010 503'));
    expect(r2.start_time_ms).toBe(Date.UTC(2024, 4, 6, 7, 8, 9, 10));
    expect(r2.response_code).toBe(503);
  });

  it('%START_TIME(%s.%9f)% truncates to the millisecond, like the ISO default does', () => {
    const epoch = compile('%START_TIME(%s.%9f)% %DURATION%');
    const iso = compile('[%START_TIME%] %DURATION%');
    // The same instant written both ways: 2024-01-01T00:00:00.000999999Z.
    expect(ok(iso.parse('[2024-01-01T00:00:00.000999999Z] 1')).start_time_ms).toBe(Date.UTC(2024, 0, 1));
    expect(ok(epoch.parse('1704067200.000999999 1')).start_time_ms).toBe(Date.UTC(2024, 0, 1));
  });

  it('%START_TIME(%Y-%m-%dT%H:%M:%S.%9f)% truncates nanoseconds to the millisecond', () => {
    const p = compile('[%START_TIME(%Y-%m-%dT%H:%M:%S.%9f)%] %DURATION%');
    const base = Date.UTC(2024, 0, 1);
    expect(ok(p.parse('[2024-01-01T00:00:00.123000000] 1')).start_time_ms).toBe(base + 123);
    expect(ok(p.parse('[2024-01-01T00:00:00.123999999] 1')).start_time_ms).toBe(base + 123);
    expect(ok(p.parse('[2024-01-01T00:00:00.999999999] 1')).start_time_ms).toBe(base + 999);
  });

  it('%START_TIME(%s.%3f)% is exact outside 2016-2037 too', () => {
    const p = compile('%START_TIME(%s.%3f)% %DURATION%');
    expect(ok(p.parse('1092878915.722 1')).start_time_ms).toBe(1092878915722);
    expect(ok(p.parse('2177277748.753 1')).start_time_ms).toBe(2177277748753);
  });

  it('an unparseable time is a ParseFailure', () => {
    const r = compile('%START_TIME(%s.%3f)% %DURATION%').parse('yesterday 1');
    expect(isParseFailure(r)).toBe(true);
  });
});

describe('operators without a canonical field go to extra, under a derived snake_case name', () => {
  const format =
    '[%START_TIME%] %RESPONSE_CODE% %UPSTREAM_REQUEST_ATTEMPT_COUNT% %REQ(X-B3-TRACEID)% %RESP(GRPC-STATUS)% %DOWNSTREAM_PEER_URI_SAN% %FILTER_STATE(envoy.string:PLAIN)% %ENVIRONMENT(POD_NAME)% %UPSTREAM_PROTOCOL% "%REQ(USER-AGENT)%" %ROUTE_NAME%';

  it('names and values', () => {
    const r = ok(
      compile(format).parse(
        '[2024-05-06T07:08:09.010Z] 200 3 80f198ee56343ba864fe8b2a57d3eff7 14 spiffe://cluster.local/ns/shop/sa/web plain-text reviews-v1-7f9c HTTP/2 "curl/8.5.0" default',
      ),
    );
    expect(r.format).toBe('custom');
    expect(r.response_code).toBe(200);
    expect(r.user_agent).toBe('curl/8.5.0');
    expect(r.route_name).toBe('default');
    expect(r.extra).toEqual({
      upstream_request_attempt_count: 3,
      x_b3_traceid: '80f198ee56343ba864fe8b2a57d3eff7',
      resp_grpc_status: '14',
      downstream_peer_uri_san: 'spiffe://cluster.local/ns/shop/sa/web',
      filter_state_envoy_string_plain: 'plain-text',
      environment_pod_name: 'reviews-v1-7f9c',
      upstream_protocol: 'HTTP/2',
    });
  });

  it('unset values in extra are null', () => {
    const r = ok(compile(format).parse('[2024-05-06T07:08:09.010Z] 200 - - - - - - - "-" -'));
    expect(r.extra).toEqual({
      upstream_request_attempt_count: null,
      x_b3_traceid: null,
      resp_grpc_status: null,
      downstream_peer_uri_san: null,
      filter_state_envoy_string_plain: null,
      environment_pod_name: null,
      upstream_protocol: null,
    });
    expect(r.user_agent).toBeNull();
  });

  it('an integer operator with text in it is a ParseFailure', () => {
    const r = compile(format).parse('[2024-05-06T07:08:09.010Z] 200 three - - - - - - "-" -');
    expect(isParseFailure(r)).toBe(true);
  });
});

describe('aliases and operator options', () => {
  it('%REQUEST_HEADER% and %RESPONSE_HEADER% are %REQ% and %RESP%; :Z truncation keeps the field name', () => {
    const r = ok(
      compile(
        '%RESPONSE_CODE% "%REQUEST_HEADER(:AUTHORITY)%" %RESPONSE_HEADER(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(USER-AGENT):10%"',
      ).parse('200 "httpbin.org" 12 "curl/8.5.0"'),
    );
    expect([r.authority, r.upstream_service_time, r.user_agent]).toEqual(['httpbin.org', 12, 'curl/8.5.0']);
  });

  it('%UPSTREAM_CLUSTER_RAW% fills upstream_cluster', () => {
    const r = ok(compile('%RESPONSE_CODE% %UPSTREAM_CLUSTER_RAW%').parse('200 outbound|80||httpbin.org'));
    expect(r.upstream_cluster).toBe('outbound|80||httpbin.org');
  });

  it('%UPSTREAM_CLUSTER% with Istio 1.24 alt_stat_name (trailing ;) is stripped', () => {
    const p = compile('%RESPONSE_CODE% %UPSTREAM_CLUSTER% %ROUTE_NAME%');
    expect(ok(p.parse('200 outbound|80||httpbin.org; default')).upstream_cluster).toBe(
      'outbound|80||httpbin.org',
    );
    expect(ok(p.parse('503 BlackHoleCluster; -')).upstream_cluster).toBe('BlackHoleCluster');
    expect(ok(p.parse('503 - -')).upstream_cluster).toBeNull();
  });

  it('%RESPONSE_FLAGS_LONG%: long names become the short list', () => {
    const p = compile('%RESPONSE_CODE% %RESPONSE_FLAGS_LONG% %DURATION%');
    const r = ok(p.parse('504 NoHealthyUpstream,UpstreamRequestTimeout 15004'));
    expect(r.response_flags_list).toEqual(['UH', 'UT']);
    expect(r.response_flags).toBe('UH,UT');
    expect(r.extra).toEqual({ response_flags_long: 'NoHealthyUpstream,UpstreamRequestTimeout' });
    const none = ok(p.parse('200 - 3'));
    expect(none.response_flags_list).toEqual([]);
    expect(none.response_flags).toBeNull();
    const custom = ok(p.parse('503 UpstreamConnectionFailure,MyCustomFlag 3'));
    expect(custom.response_flags_list).toEqual(['UF', 'MyCustomFlag']);
  });

  it('splitFlags maps every long name the notes list to its short one', () => {
    const pairs: Array<[string, string]> = [
      ['NoHealthyUpstream', 'UH'],
      ['UpstreamConnectionFailure', 'UF'],
      ['UpstreamOverflow', 'UO'],
      ['NoRouteFound', 'NR'],
      ['UpstreamRetryLimitExceeded', 'URX'],
      ['NoClusterFound', 'NC'],
      ['DurationTimeout', 'DT'],
      ['DownstreamConnectionTermination', 'DC'],
      ['FailedLocalHealthCheck', 'LH'],
      ['UpstreamRequestTimeout', 'UT'],
      ['LocalReset', 'LR'],
      ['UpstreamRemoteReset', 'UR'],
      ['UpstreamConnectionTermination', 'UC'],
      ['DelayInjected', 'DI'],
      ['FaultInjected', 'FI'],
      ['RateLimited', 'RL'],
      ['UnauthorizedExternalService', 'UAEX'],
      ['RateLimitServiceError', 'RLSE'],
      ['InvalidEnvoyRequestHeaders', 'IH'],
      ['StreamIdleTimeout', 'SI'],
      ['DownstreamProtocolError', 'DPE'],
      ['UpstreamProtocolError', 'UPE'],
      ['UpstreamMaxStreamDurationReached', 'UMSDR'],
      ['ResponseFromCacheFilter', 'RFCF'],
      ['NoFilterConfigFound', 'NFCF'],
      ['OverloadManagerTerminated', 'OM'],
      ['DnsResolutionFailed', 'DF'],
      ['DropOverload', 'DO'],
      ['DownstreamRemoteReset', 'DR'],
      ['UnconditionalDropOverload', 'UDO'],
    ];
    expect(splitFlags(pairs.map(([long]) => long).join(','))).toEqual(pairs.map(([, short]) => short));
    expect(splitFlags('UF,URX')).toEqual(['UF', 'URX']);
    expect(splitFlags('-')).toEqual([]);
    expect(splitFlags(null)).toEqual([]);
  });
});

describe('literal text', () => {
  const kv = compile('status=%RESPONSE_CODE% cluster=%UPSTREAM_CLUSTER% ua="%REQ(USER-AGENT)%"');

  it('must match exactly', () => {
    const r = ok(kv.parse('status=200 cluster=outbound|80||x ua="curl/8 "x" y"'));
    expect([r.response_code, r.upstream_cluster, r.user_agent]).toEqual([
      200,
      'outbound|80||x',
      'curl/8 "x" y',
    ]);
    for (const bad of [
      'Status=200 cluster=x ua="c"',
      'status=200 cluster:x ua="c"',
      'status=200  cluster=x ua="c"',
      'status=200 cluster=x ua="c',
      'status=200 cluster=x ua=c"',
      'status=200 cluster=x ua="c" ',
    ]) {
      expect(isParseFailure(kv.parse(bad)), bad).toBe(true);
    }
  });

  it('%% is a literal percent sign', () => {
    const p = compile('%RESPONSE_CODE% 100%% %DURATION%');
    expect(ok(p.parse('200 100% 5')).duration).toBe(5);
    expect(isParseFailure(p.parse('200 100 5'))).toBe(true);
  });

  it('multi-byte literal text', () => {
    const p = compile('→ %RESPONSE_CODE% ✓ %UPSTREAM_CLUSTER% «%REQ(USER-AGENT)%»');
    const r = ok(p.parse('→ 200 ✓ outbound|80||x «curl/8 «ü» »'));
    expect([r.response_code, r.upstream_cluster, r.user_agent]).toEqual([
      200,
      'outbound|80||x',
      'curl/8 «ü» ',
    ]);
  });

  it('a TEXT format shaped like JSON with all-string values (notes §7), unescaped user agent', () => {
    const format =
      '{"start_time":"%START_TIME%","method":"%REQ(:METHOD)%","response_code":"%RESPONSE_CODE%","user_agent":"%REQ(USER-AGENT)%","upstream_cluster":"%UPSTREAM_CLUSTER%"}';
    const r = ok(
      compile(format).parse(
        '{"start_time":"2024-05-06T07:08:09.010Z","method":"GET","response_code":"200","user_agent":"evil","x":"y","upstream_cluster":"PassthroughCluster"}',
      ),
    );
    expect(r.format).toBe('custom');
    expect(r.user_agent).toBe('evil","x":"y');
    expect(r.response_code).toBe(200);
    expect(r.upstream_cluster).toBe('PassthroughCluster');
  });

  it('Envoy default + %RESPONSE_CODE_DETAILS% (a common tweak, notes §7)', () => {
    const format = `${PRESETS.find((p) => p.name === 'envoy')!.format} %RESPONSE_CODE_DETAILS%`;
    const values = httpValues({ user_agent: 'x" "y', response_code_details: 'via_upstream' });
    const r = ok(compile(format).parse(render(format, values)));
    expect(r.user_agent).toBe('x" "y');
    expect(r.upstream_host).toBe(values.upstream_host);
    expect(r.response_code_details).toBe('via_upstream');
  });

  it('formats as written in mesh config, with a trailing \\n (escaped or real)', () => {
    const line = '200 outbound|80||x';
    for (const format of ['%RESPONSE_CODE% %UPSTREAM_CLUSTER%\n', '%RESPONSE_CODE% %UPSTREAM_CLUSTER%\\n']) {
      expect(ok(compile(format).parse(line)).upstream_cluster).toBe('outbound|80||x');
    }
  });
});

describe('adjacent operators', () => {
  it('%BYTES_SENT%%DURATION% is rejected at compile time with a clear error', () => {
    expect(() => compile('[%START_TIME%] %BYTES_SENT%%DURATION%')).toThrow(FormatStringError);
    expect(() => compile('[%START_TIME%] %BYTES_SENT%%DURATION%')).toThrow(
      /%BYTES_SENT% and %DURATION%.*ambiguous/,
    );
    expect(() => compile('%ROUTE_NAME%%UPSTREAM_CLUSTER% "%REQ(USER-AGENT)%"')).toThrow(/ambiguous/);
    expect(() => compile('"%REQ(USER-AGENT)%" %ROUTE_NAME%%UPSTREAM_CLUSTER%')).toThrow(/ambiguous/);
    expect(() => compile('"%REQ(USER-AGENT)%%REQ(X-REQUEST-ID)%"')).toThrow(/ambiguous/);
  });

  it('path and protocol with nothing between (Istio 1.0 HTTP) split before the user agent', () => {
    const r = ok(
      compile('istio-1.0-http').parse(
        '[2018-10-01T10:00:00.000Z] "GET /productpageHTTP/1.1" 200 - 0 5 3 2 "-" "curl/7.60.0" "id" "productpage:9080" "10.1.1.1:9080" outbound|9080||productpage.default.svc.cluster.local 10.1.2.2:40000 10.96.0.5:9080 10.1.2.2:39998',
      ),
    );
    expect([r.method, r.path, r.protocol]).toEqual(['GET', '/productpage', 'HTTP/1.1']);
    const tcp = ok(
      compile('istio-1.0-http').parse(
        '[2018-10-01T10:00:00.000Z] "- --" 0 - 5 6 7 - "-" "-" "-" "-" "10.1.1.1:9080" outbound|9080||x 10.1.2.2:40000 10.96.0.5:9080 10.1.2.2:39998',
      ),
    );
    expect([tcp.method, tcp.path, tcp.protocol]).toEqual([null, null, null]);
  });

  it('the same path+protocol pair after the user agent is accepted and split the same way', () => {
    const format =
      '%RESPONSE_CODE% "%REQ(USER-AGENT)%" "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%%PROTOCOL%" %UPSTREAM_CLUSTER%';
    const parser = compile(format);
    const r = ok(parser.parse('200 "curl/8.5.0" "GET /productpageHTTP/1.1" outbound|9080||productpage'));
    expect([r.user_agent, r.method, r.path, r.protocol]).toEqual([
      'curl/8.5.0',
      'GET',
      '/productpage',
      'HTTP/1.1',
    ]);
    expect(r.upstream_cluster).toBe('outbound|9080||productpage');
  });

  it('a pair compile accepts after the user agent is never split wrongly', () => {
    // Either compile rejects %PROTOCOL%%UPSTREAM_CLUSTER% as ambiguous (as it does before the user
    // agent) or the line parses to the values that were written.
    const format = '%RESPONSE_CODE% "%REQ(USER-AGENT)%" %PROTOCOL%%UPSTREAM_CLUSTER%';
    let parser: ReturnType<typeof compile>;
    try {
      parser = compile(format);
    } catch (err) {
      expect(err).toBeInstanceOf(FormatStringError);
      return;
    }
    const r = parser.parse('200 "curl/8.5.0" HTTP/1.1outbound|80||httpbin.org');
    expect(isParseFailure(r) ? r.error : [r.protocol, r.upstream_cluster]).toEqual([
      'HTTP/1.1',
      'outbound|80||httpbin.org',
    ]);
  });
});

describe('compile errors (compile may throw; parse may not)', () => {
  it('an unknown preset name', () => {
    expect(() => compile('istio-1.4')).toThrow(/unknown format "istio-1.4"/);
    expect(() => compile('istio-1.4')).toThrow(/istio-1\.9/);
    expect(() => compile('ISTIO')).toThrow(/unknown format/);
    expect(() => compile('')).toThrow(/unknown format/);
  });

  it.each([
    ['an unclosed parenthesis', '%REQ(USER-AGENT%', /unclosed/],
    ['a lowercase operator', '%bad%', /operator name/],
    ['a bad truncation length', '%RESPONSE_CODE:x%', /length/],
    ['an unterminated operator', '%RESPONSE_CODE', /close/],
    ['no operators at all', 'just text and 100%%', /no command operators/],
  ])('%s', (_label, format, message) => {
    expect(() => compile(format)).toThrow(FormatStringError);
    expect(() => compile(format)).toThrow(message);
  });

  it('FormatStringError says where in the format string', () => {
    try {
      compile('[%START_TIME%] %REQ(USER-AGENT%');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(FormatStringError);
      expect((err as FormatStringError).offset).toBeGreaterThan(0);
      expect((err as Error).message).toMatch(/offset \d+ of the format string/);
    }
  });
});
