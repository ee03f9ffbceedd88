/**
 * A small mesh's day of egress, as Fluent Bit would post it: three namespaces, passthrough over HTTP and
 * TLS, REGISTRY_ONLY denials, an allowed ServiceEntry host with route timeouts, and in-mesh calls, spread
 * over the 24 hours before `now` so charts have a shape.
 */
import { istioLine, type LineFields } from './istio-line.js';

export interface MeshSource {
  ns: string;
  pod: string;
  app: string;
}

export const SHOP: MeshSource = { ns: 'shop', pod: 'checkout-7f9c8d5b4-x2x9z', app: 'checkout' };
export const BILLING: MeshSource = { ns: 'billing', pod: 'invoicer-5d4c7b9f8-abcde', app: 'invoicer' };
export const SEARCH: MeshSource = { ns: 'search', pod: 'indexer-6b7c8d9e0-fghij', app: 'indexer' };

export interface FixtureLine {
  line: string;
  src: MeshSource;
}

/** `spreadSeconds`: how far back from `now` the lines reach (a day by default). */
export function meshFixture(now: number, spreadSeconds = 85_000): FixtureLine[] {
  const out: FixtureLine[] = [];
  let seq = 0;
  const add = (n: number, src: MeshSource, f: Omit<LineFields, 'ts'>) => {
    for (let i = 0; i < n; i++) {
      // Spread across the day, deterministic.
      const ts = new Date(
        now - (spreadSeconds + 1) * 1000 + ((seq * 7919) % spreadSeconds) * 1000,
      ).toISOString();
      out.push({ line: istioLine({ ...f, ts, requestId: `req-${seq++}` }), src });
    }
  };
  const http = (host: string, ip: string) => ({
    method: 'GET',
    path: '/v1/items',
    authority: host,
    upstreamHost: `${ip}:80`,
    cluster: 'PassthroughCluster',
    downstreamLocal: `${ip}:80`,
    route: 'allow_any',
    bytesOut: 200,
  });
  const tls = (ip: string, sni: string) => ({
    upstreamHost: `${ip}:443`,
    cluster: 'PassthroughCluster',
    downstreamLocal: `${ip}:443`,
    sni,
    bytesIn: 800,
    bytesOut: 5000,
  });
  add(40, SHOP, http('api.payments.example', '198.51.100.10'));
  add(25, SHOP, tls('198.51.100.11', 'www.google.com'));
  add(12, BILLING, tls('198.51.100.12', 'hooks.slack.example'));
  add(8, SEARCH, http('feeds.news.example', '198.51.100.13'));
  add(6, SEARCH, tls('198.51.100.14', 'cdn.assets.example'));
  add(10, BILLING, {
    method: 'POST',
    path: '/charge',
    code: 502,
    details: 'direct_response',
    authority: 'legacy.billing.example',
    downstreamLocal: '198.51.100.20:80',
    route: 'block_all',
  });
  add(5, SEARCH, {
    flags: 'UH',
    cluster: 'BlackHoleCluster',
    downstreamLocal: '203.0.113.50:443',
    duration: 2,
  });
  const slow = {
    method: 'GET',
    path: '/report',
    authority: 'reports.partner.example',
    upstreamHost: '198.51.100.30:80',
    cluster: 'outbound|80||reports.partner.example',
    downstreamLocal: '198.51.100.30:80',
    route: 'partner-route',
  };
  for (const duration of [3001, 3002, 3003, 3004, 3005, 3006])
    add(1, SHOP, { ...slow, code: 504, flags: 'UT', details: 'response_timeout', duration, bytesOut: 24 });
  add(20, SHOP, { ...slow, duration: 900, upstreamServiceTime: 899, details: 'via_upstream' });
  add(15, SHOP, {
    method: 'GET',
    authority: 'reviews.shop:9080',
    upstreamHost: '10.244.3.3:9080',
    cluster: 'outbound|9080||reviews.shop.svc.cluster.local',
    downstreamLocal: '10.96.0.20:9080',
    route: 'default',
  });
  return out;
}

/** The lines as one Fluent Bit `json_lines` body with the kubernetes filter's metadata. */
export function fluentBitBody(lines: FixtureLine[], now: number): string {
  return lines
    .map(({ line, src }) =>
      JSON.stringify({
        date: now / 1000,
        log: `${line}\n`,
        stream: 'stdout',
        kubernetes: {
          namespace_name: src.ns,
          pod_name: src.pod,
          container_name: 'istio-proxy',
          host: 'node-1',
          labels: { app: src.app },
        },
      }),
    )
    .join('\n');
}
