/**
 * Lines as people paste them: `auto` (and a fixed format) reads the Envoy line behind the prefixes that
 * kubectl, stern, docker compose and Cloud Foundry print, and inside JSON logging wrappers. A format
 * without %START_TIME% takes its time from the wrapper.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type AccessRecord, compile, cutToolPrefix, isParseFailure, rfc3339Ms } from '../../parser/index.js';

const FIXTURE = readFileSync(new URL('../fixtures/sample-istio.log', import.meta.url), 'utf8').split('\n');
const HTTP = FIXTURE[1]!; // [2026-11-01T00:00:00.003Z] "GET /delay/5 HTTP/1.1" 504 UT … "api.twilio.com" …
const TCP = FIXTURE[2]!; // [2026-11-01T00:00:00.007Z] "- - -" 0 - … PassthroughCluster …
const JSON_LINE = JSON.stringify({
  start_time: '2026-11-01T00:00:01.000Z',
  method: 'POST',
  path: '/v1/charges',
  protocol: 'HTTP/1.1',
  response_code: 200,
  authority: 'api.stripe.com',
  upstream_cluster: 'outbound|443||api.stripe.com',
  upstream_host: '52.1.2.3:443',
});

const auto = compile('auto');
const ok = (r: ReturnType<typeof auto.parse>): AccessRecord => {
  if (isParseFailure(r)) throw new Error(`did not parse: ${r.error}`);
  return r;
};

describe('auto takes off tool prefixes', () => {
  const plainHttp = ok(auto.parse(HTTP));
  const plainTcp = ok(auto.parse(TCP));
  const cases: [string, string, AccessRecord][] = [
    ['kubectl logs --prefix', `[pod/checkout-7f9c8d5b4-x2x9z/istio-proxy] ${HTTP}`, plainHttp],
    [
      'kubectl logs --prefix --timestamps',
      `[pod/checkout-7f9c8d5b4-x2x9z/istio-proxy] 2026-11-01T00:00:00.004163512Z ${HTTP}`,
      plainHttp,
    ],
    ['kubectl logs --timestamps', `2026-11-01T00:00:00.004163512Z ${TCP}`, plainTcp],
    ['stern', `checkout-7f9c8d5b4-x2x9z istio-proxy ${HTTP}`, plainHttp],
    ['stern --all-namespaces', `shop checkout-7f9c8d5b4-x2x9z istio-proxy ${TCP}`, plainTcp],
    [
      'stern with colours',
      `\x1b[32mcheckout-7f9c8d5b4-x2x9z\x1b[0m \x1b[34mistio-proxy\x1b[0m ${HTTP}`,
      plainHttp,
    ],
    ['docker compose logs', `egress-proxy-1  | ${HTTP}`, plainHttp],
    ['docker compose logs -t', `egress-proxy-1  | 2026-11-01T00:00:00.004163512Z ${TCP}`, plainTcp],
    ['Cloud Foundry', `2026-11-01T00:00:00.00+0000 [APP/PROC/WEB/0] OUT ${HTTP}`, plainHttp],
    ['Cloud Foundry router', `2026-11-01T00:00:00.00+0000 [RTR/1] OUT ${TCP}`, plainTcp],
    [
      'JSON {"log"} (Fluentd)',
      JSON.stringify({ log: `${HTTP}\n`, kubernetes: { pod_name: 'x' } }),
      plainHttp,
    ],
    [
      'JSON {"message"} (Logstash, GCP)',
      JSON.stringify({ '@timestamp': '2026-11-01T00:00:00.010Z', message: TCP, host: 'node-1' }),
      plainTcp,
    ],
    [
      'JSON {"msg"} after a tag word',
      JSON.stringify({ level: 'info', ts: 1793491200.01, msg: `ACCESS ${HTTP}` }),
      plainHttp,
    ],
  ];
  it.each(cases)('%s', (_name, line, expected) => {
    const r = ok(auto.parse(line));
    expect(r).toEqual(expected);
  });

  it('a JSON access log under "message" and an object under "log"', () => {
    const plain = ok(auto.parse(JSON_LINE));
    expect(ok(auto.parse(JSON.stringify({ message: JSON_LINE, time: '2026-11-01T00:00:02Z' })))).toEqual(
      plain,
    );
    expect(ok(auto.parse(JSON.stringify({ log: JSON.parse(JSON_LINE), stream: 'stdout' })))).toEqual(plain);
  });

  it('keeps failing lines that are not behind a known prefix, with the reason', () => {
    for (const line of [
      'hello world',
      'a b c d e f',
      `[pod/x] ${HTTP}`,
      JSON.stringify({ msg: 'started' }),
    ]) {
      const r = auto.parse(line);
      expect(isParseFailure(r), line).toBe(true);
    }
  });

  it('a prefix is only a prefix: a broken Envoy line behind one still fails', () => {
    const r = auto.parse(`egress-proxy-1  | ${HTTP.slice(0, 60)}`);
    expect(isParseFailure(r)).toBe(true);
  });
});

describe('a format without %START_TIME% takes the wrapper time', () => {
  const CUSTOM =
    '"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% "%REQ(:AUTHORITY)%"';
  const line = '"GET /status/418 HTTP/1.1" 418 "httpbin.org"';
  const custom = compile(CUSTOM);

  it.each([
    [
      'docker compose logs -t',
      `egress-proxy-1  | 2026-11-01T10:00:00.123456789Z ${line}`,
      '2026-11-01T10:00:00.123Z',
    ],
    ['Cloud Foundry', `2026-11-01T10:00:00.50+0000 [APP/PROC/WEB/0] OUT ${line}`, '2026-11-01T10:00:00.500Z'],
    ['kubectl --timestamps', `2026-11-01T10:00:00.250Z ${line}`, '2026-11-01T10:00:00.250Z'],
    [
      'JSON wrapper',
      JSON.stringify({ time: '2026-11-01T10:00:01Z', log: `${line}\n` }),
      '2026-11-01T10:00:01.000Z',
    ],
    [
      'JSON wrapper, epoch seconds',
      JSON.stringify({ ts: 1793527201.5, msg: line }),
      '2026-11-01T10:00:01.500Z',
    ],
  ])('%s', (_name, wrapped, time) => {
    const r = ok(custom.parse(wrapped));
    expect(r.start_time).toBe(time);
    expect(r.method).toBe('GET');
    expect(r.response_code).toBe(418);
    expect(r.authority).toBe('httpbin.org');
  });
});

describe('cutToolPrefix and rfc3339Ms', () => {
  it('returns where the line starts and the time the prefix carries', () => {
    const buf = Buffer.from(`web-1  | 2026-11-01T10:00:00.5Z ${HTTP}`);
    const cut = cutToolPrefix(buf, 0, buf.length, true)!;
    expect(buf.toString('utf8', cut.start, cut.start + 26)).toBe(HTTP.slice(0, 26));
    expect(cut.timeMs).toBe(Date.parse('2026-11-01T10:00:00.500Z'));
  });

  it('reads the RFC 3339 forms tools print', () => {
    const t = Date.parse('2026-11-01T10:00:00.123Z');
    for (const s of [
      '2026-11-01T10:00:00.123Z',
      '2026-11-01T10:00:00.123456789Z',
      '2026-11-01T11:00:00.123+0100',
      '2026-11-01T11:00:00,123+01:00',
    ])
      expect(rfc3339Ms(s), s).toBe(t);
    expect(rfc3339Ms('yesterday')).toBeUndefined();
  });
});
