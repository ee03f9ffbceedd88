/**
 * Hostname recovery through the real SQL path (served app, real chDB, the API's JSON): no-SNI connections to an
 * IP whose name is known from other lines are attributed to that name, but they stay what the logs show: no
 * SNI (so never counted as TLS with SNI), and the warning says whether the name was also in this traffic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SuggestionJson } from '../../reports/service-entries/service-entry-json.js';
import { istioLine } from '../helpers/istio-line.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';
import { type FixtureLine, fluentBitBody, SHOP } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

const NOW = Date.now();
let served: ServedApp;

function lines(): FixtureLine[] {
  const ts = new Date(NOW - 60_000).toISOString();
  const out: FixtureLine[] = [];
  const add = (n: number, f: Omit<Parameters<typeof istioLine>[0], 'ts'>) => {
    for (let i = 0; i < n; i++)
      out.push({ line: istioLine({ ...f, ts, requestId: `r-${out.length}` }), src: SHOP });
  };
  const pass = (ip: string, port: number) => ({
    cluster: 'PassthroughCluster',
    upstreamHost: `${ip}:${port}`,
    downstreamLocal: `${ip}:${port}`,
  });
  // api.tls.example: 2 TLS connections with SNI, and 3 to the same IP and port without SNI.
  add(2, { ...pass('198.51.100.60', 443), sni: 'api.tls.example' });
  add(3, pass('198.51.100.60', 443));
  // web.http.example:8080: 2 plain HTTP requests by name, and 3 opaque connections to its IP and port.
  add(2, {
    ...pass('198.51.100.62', 8080),
    method: 'GET',
    path: '/',
    authority: 'web.http.example:8080',
    route: 'allow_any',
  });
  add(3, pass('198.51.100.62', 8080));
  // mq.only.example: named only by a ServiceEntry cluster; its pass-through traffic shows the IP alone.
  add(4, {
    cluster: 'outbound|5672||mq.only.example',
    upstreamHost: '198.51.100.61:5672',
    downstreamLocal: '198.51.100.61:5672',
  });
  add(3, pass('198.51.100.61', 5672));
  return out;
}

let suggestions: SuggestionJson[];
const byHost = (host: string) => suggestions.find((s) => s.hosts[0] === host)!;

beforeAll(async () => {
  served = await startServedApp();
  await served.postFluentBit(fluentBitBody(lines(), NOW));
  const res = await served.app.inject({ url: '/v1/reports/service-entries?format=json&since=1h' });
  expect(res.statusCode).toBe(200);
  suggestions = (res.json() as { suggestions: SuggestionJson[] }).suggestions;
});

afterAll(async () => {
  await served.close();
});

describe('recovered hostnames through the store', () => {
  it('no-SNI connections attributed to a host seen with SNI are not counted as TLS with SNI', () => {
    const s = byHost('api.tls.example');
    const port = s.evidence.ports.find((p) => p.number === 443)!;
    expect(port.requests).toBe(5);
    expect(port.tlsWithSni).toBe(2);
    expect(port.reason).toBe('2 TLS connections with SNI');
    expect(s.warnings.join('\n')).toMatch(
      /attributed to api\.tls\.example, which the logs also show by name/,
    );
    expect(s.warnings.join('\n')).not.toMatch(/was not in the logs/);
  });

  it('opaque connections to the IP of an HTTP host do not turn its port into TLS', () => {
    const s = byHost('web.http.example');
    const port = s.evidence.ports.find((p) => p.number === 8080)!;
    expect(port.tlsWithSni).toBe(0);
    expect(port.protocol).toBe('HTTP');
    expect(s.warnings.join('\n')).not.toMatch(/TLS with SNI/);
    expect(s.warnings.join('\n')).toMatch(/which the logs also show by name/);
  });

  it('a host named only elsewhere: "was not in the logs of this traffic", TCP with the IP as address', () => {
    const s = byHost('mq.only.example');
    expect(s.resource.spec.addresses).toEqual(['198.51.100.61']);
    expect(s.resource.spec.ports).toEqual([{ number: 5672, name: 'tcp-5672', protocol: 'TCP' }]);
    expect(s.warnings.join('\n')).toMatch(/host mq\.only\.example was not in the logs of this traffic/);
  });

  it(
    "Istio's validator accepts these suggestions",
    async () => {
      for (const s of suggestions) recordIstioYaml(`recovered ${s.name}`, (s as { yaml?: string }).yaml!);
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
