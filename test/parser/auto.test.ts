/**
 * `auto`: picks the Istio/Envoy generation per line, reads JSON lines, and takes container-runtime
 * wrappers (CRI, Docker json-file) off first.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AutoParser,
  compile,
  isParseFailure,
  PRESETS,
  unwrap,
  unwrapCri,
  unwrapDocker,
} from '../../parser/index.js';
import { userAgentArb, valuesArb } from './arbitraries.js';
import { dashValues, expectRecord, httpValues, ok, render, tcpValues, type Values } from './render.js';

const ISTIO_FORMAT = PRESETS.find((p) => p.name === 'istio')!.format;

function autoName(preset: string): string {
  return preset === 'istio-1.9' ? 'istio' : preset;
}

const SETS: Record<string, Values> = {
  http: httpValues(),
  tcp: tcpValues(),
  dashes: dashValues(),
  'failure with TLS error': httpValues({
    response_code: 503,
    response_flags: 'UF,URX',
    upstream_transport_failure_reason:
      'TLS error: 268436501:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED',
    istio_policy_status: 'UNAVAILABLE:policy check failed',
  }),
};

describe('auto picks the generation', () => {
  it.each(PRESETS.map((p) => [p.name, p.format] as const))('%s', (name, format) => {
    for (const [label, values] of Object.entries(SETS)) {
      const record = ok(compile('auto').parse(render(format, values)));
      expect(record.format, label).toBe(autoName(name));
      expectRecord(record, format, values);
    }
  });

  it('istio-1.9 lines are reported as istio (same shape), with the same fields', () => {
    const format = PRESETS.find((p) => p.name === 'istio-1.9')!.format;
    const line = render(format, httpValues({ upstream_cluster: 'outbound|80||httpbin.org;' }));
    const fromAuto = ok(compile('auto').parse(line));
    expect(fromAuto.format).toBe('istio');
    expect({ ...fromAuto, format: 'istio-1.9' }).toEqual(ok(compile('istio-1.9').parse(line)));
    expect(fromAuto.upstream_cluster).toBe('outbound|80||httpbin.org');
  });

  it('does not depend on what it parsed before (every ordered pair of generations)', () => {
    for (const first of PRESETS) {
      for (const second of PRESETS) {
        const auto = compile('auto');
        ok(auto.parse(render(first.format, httpValues())));
        const values = tcpValues({ response_flags: 'UH' });
        const record = ok(auto.parse(render(second.format, values)));
        expect(record.format, `${first.name} then ${second.name}`).toBe(autoName(second.name));
        expectRecord(record, second.format, values);
      }
    }
  });

  it('a mixed fleet in one stream: every line gets its own generation', () => {
    const auto = compile('auto');
    const lines = PRESETS.flatMap((p) =>
      Object.values(SETS).map((v) => ({ name: p.name, line: render(p.format, v) })),
    );
    // Interleave deterministically so consecutive lines come from different generations.
    const shuffled = lines
      .map((l, i) => ({ ...l, key: (i * 7919) % lines.length }))
      .sort((a, b) => a.key - b.key);
    for (const { name, line } of [...shuffled, ...shuffled]) {
      expect(ok(auto.parse(line)).format).toBe(autoName(name));
    }
  });

  it.each(PRESETS.map((p) => [p.name, p.format] as const))(
    'random values without quotes in the user agent: %s',
    (name, format) => {
      const plainUa = userAgentArb.map((ua) => (ua === null ? null : ua.replaceAll('"', "'")));
      fc.assert(
        fc.property(valuesArb, plainUa, (base, ua) => {
          const values = { ...base, user_agent: ua };
          const record = ok(compile('auto').parse(render(format, values)));
          expect(record.format).toBe(autoName(name));
          expectRecord(record, format, values);
        }),
        { numRuns: 100 },
      );
    },
  );

  it('the AutoParser class is what compile("auto") wraps', () => {
    const parser = new AutoParser();
    expect(parser.candidates.map((c) => c.name)).not.toContain('istio-1.9');
    expect(parser.candidates.length).toBe(PRESETS.length - 1);
    const r = parser.parse(render(ISTIO_FORMAT, httpValues()));
    expect(isParseFailure(r) ? r.error : r.format).toBe('istio');
  });
});

/** A JSON access-log line in Istio's key set; typed (Istio >= 1.8) or all strings (Istio <= 1.7). */
function jsonLine(
  values: Values,
  style: 'typed' | 'strings',
  order: 'sorted' | 'reversed' = 'sorted',
): string {
  const obj: Record<string, unknown> = {};
  const keys = Object.keys(values)
    .filter((k) => k !== 'istio_policy_status')
    .sort();
  if (order === 'reversed') keys.reverse();
  for (const key of keys) {
    const v = values[key] ?? null;
    if (style === 'strings') obj[key] = v === null ? '-' : String(v);
    else if (key === 'upstream_service_time') obj[key] = v === null ? null : String(v);
    else if (key === 'response_flags') obj[key] = v === null ? '-' : v;
    else obj[key] = v;
  }
  return JSON.stringify(obj);
}

describe('auto reads JSON lines', () => {
  it('typed style with numbers and null (Istio 1.9.5 BlackHole shape)', () => {
    const line =
      '{"authority":null,"bytes_received":0,"bytes_sent":0,"connection_termination_details":null,"downstream_local_address":"93.184.215.14:443","downstream_remote_address":"10.1.4.17:51230","duration":7,"method":null,"path":null,"protocol":null,"request_id":null,"requested_server_name":null,"response_code":0,"response_code_details":null,"response_flags":"UH","route_name":null,"start_time":"2021-06-10T09:00:00.123Z","upstream_cluster":null,"upstream_host":null,"upstream_local_address":null,"upstream_service_time":null,"upstream_transport_failure_reason":null,"user_agent":null,"x_forwarded_for":null}';
    const r = ok(compile('auto').parse(line));
    expect(r.format).toBe('json');
    expect(r.response_flags).toBe('UH');
    expect(r.response_flags_list).toEqual(['UH']);
    expect(r.upstream_cluster).toBeNull();
    expect([r.response_code, r.bytes_received, r.bytes_sent, r.duration]).toEqual([0, 0, 0, 7]);
    expect(r.start_time_ms).toBe(Date.UTC(2021, 5, 10, 9, 0, 0, 123));
    expect(r.extra).toBeNull();
  });

  it('all-strings style with "-" and "200"', () => {
    const values = httpValues();
    const r = ok(compile('auto').parse(jsonLine(values, 'strings')));
    expect(r.format).toBe('json');
    expectRecord(r, ISTIO_FORMAT, values);
    expect(r.response_code).toBe(201);
    expect(r.response_flags).toBeNull();
  });

  it('keys in any order; unknown keys kept in extra', () => {
    const values = httpValues({ response_flags: 'UF,URX' });
    const typed = JSON.parse(jsonLine(values, 'typed', 'reversed')) as Record<string, unknown>;
    const line = JSON.stringify({
      istio_policy_status: '-',
      ...typed,
      x_b3_traceid: 'abc',
      nested: { a: [1, 2] },
    });
    const r = ok(compile('auto').parse(line));
    expectRecord(r, ISTIO_FORMAT, values);
    expect(r.extra).toEqual({ istio_policy_status: '-', x_b3_traceid: 'abc', nested: { a: [1, 2] } });
  });

  it.each(['typed', 'strings'] as const)('round trip of random values, %s style, shuffled keys', (style) => {
    const auto = compile('auto');
    fc.assert(
      fc.property(valuesArb, fc.boolean(), (values, reversed) => {
        const r = ok(auto.parse(jsonLine(values, style, reversed ? 'reversed' : 'sorted')));
        expect(r.format).toBe('json');
        expectRecord(r, ISTIO_FORMAT, values);
        expect(r.start_time_ms).toBe(Date.parse(String(values.start_time)));
      }),
      { numRuns: 200 },
    );
  });
});

describe('auto takes container-runtime wrappers off', () => {
  const TEXT = render(ISTIO_FORMAT, httpValues({ user_agent: 'evil" "agent' }));
  const JSON_LINE = jsonLine(httpValues({ user_agent: 'evil" "agent' }), 'typed');
  const cri = (line: string, stream = 'stdout', tag = 'F') =>
    `2022-07-22T12:24:12.325744791Z ${stream} ${tag} ${line}`;
  const docker = (line: string, nl = '\n') =>
    JSON.stringify({ log: `${line}${nl}`, stream: 'stdout', time: '2020-01-23T16:32:49.400311038Z' });

  it.each([
    ['CRI around TEXT', cri(TEXT), 'istio'],
    ['CRI stderr around TEXT', cri(TEXT, 'stderr'), 'istio'],
    ['CRI partial (P) around TEXT', cri(TEXT, 'stdout', 'P'), 'istio'],
    ['CRI around JSON', cri(JSON_LINE), 'json'],
    ['Docker around TEXT', docker(TEXT), 'istio'],
    ['Docker around TEXT with CRLF', docker(TEXT, '\r\n'), 'istio'],
    ['Docker around JSON', docker(JSON_LINE), 'json'],
    ['Docker without the trailing newline', docker(TEXT, ''), 'istio'],
  ])('%s', (_label, line, format) => {
    const r = ok(compile('auto').parse(line));
    expect(r.format).toBe(format);
    expectRecord(r, ISTIO_FORMAT, httpValues({ user_agent: 'evil" "agent' }));
  });

  it('the wrapped record equals the unwrapped one', () => {
    const plain = ok(compile('auto').parse(TEXT));
    expect(ok(compile('auto').parse(cri(TEXT)))).toEqual(plain);
    expect(ok(compile('auto').parse(docker(TEXT)))).toEqual(plain);
    const plainJson = ok(compile('auto').parse(JSON_LINE));
    expect(ok(compile('auto').parse(cri(JSON_LINE)))).toEqual(plainJson);
    expect(ok(compile('auto').parse(docker(JSON_LINE)))).toEqual(plainJson);
  });

  it('the unwrap helpers report the wrapper, the inner line and partial fragments', () => {
    expect(unwrapCri(cri(TEXT))).toEqual({ line: TEXT, partial: false, wrapper: 'cri' });
    expect(unwrapCri(cri(TEXT, 'stdout', 'P'))).toEqual({ line: TEXT, partial: true, wrapper: 'cri' });
    expect(unwrapDocker(docker(TEXT))).toEqual({ line: TEXT, partial: false, wrapper: 'docker' });
    expect(unwrapDocker(docker(TEXT, ''))).toEqual({ line: TEXT, partial: true, wrapper: 'docker' });
    expect(unwrap(cri(JSON_LINE))?.line).toBe(JSON_LINE);
    expect(unwrap(docker(JSON_LINE))?.line).toBe(JSON_LINE);
    expect(unwrap(TEXT)).toBeNull();
    expect(unwrap(JSON_LINE)).toBeNull();
  });

  it('a wrapper around something that is not an access log is a ParseFailure', () => {
    for (const line of [cri('hello world'), docker('hello world'), cri('[broken'), docker('{"a":1}')]) {
      const r = compile('auto').parse(line);
      expect(isParseFailure(r), line).toBe(true);
    }
  });
});
