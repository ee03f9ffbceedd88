/**
 * A mesh whose cluster DNS domain is `corp.internal` (config reports.clusterDomain), on real chDB through the
 * served API: its in-mesh names are flagged, never suggested nor recovered for an IP, and its in-mesh clusters
 * are not external traffic; `*.svc.cluster.local` is then an ordinary name. The `clusterDomain` parameter
 * overrides the config per request. Also the blocked route's `entryNamespace` / `exportTo`. Every ServiceEntry
 * returned goes through Istio's validator (last test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../schemas/config.js';
import { istioLine, type LineFields } from '../helpers/istio-line.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';
import { type FixtureLine, fluentBitBody, SHOP } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

const NOW = Date.now();
const CORP_SVC = 'orders.shop.svc.corp.internal';
const LOCAL_SVC = 'reviews.shop.svc.cluster.local';

function lines(n: number, f: Omit<LineFields, 'ts'>): FixtureLine[] {
  const ts = new Date(NOW - 60_000).toISOString();
  return Array.from({ length: n }, () => ({ line: istioLine({ ts, ...f }), src: SHOP }));
}
const passthroughHttp = (host: string, ip: string, port: number) => ({
  method: 'GET',
  path: '/items',
  authority: host,
  upstreamHost: `${ip}:${port}`,
  cluster: 'PassthroughCluster',
  downstreamLocal: `${ip}:${port}`,
  route: 'allow_any',
});
const blackHole = (ip: string, port: number) => ({
  flags: 'UH',
  cluster: 'BlackHoleCluster',
  downstreamLocal: `${ip}:${port}`,
});

const LINES = [
  ...lines(4, passthroughHttp(CORP_SVC, '10.50.0.1', 8080)),
  ...lines(3, passthroughHttp(LOCAL_SVC, '10.60.0.1', 9080)),
  ...lines(2, {
    upstreamHost: '198.51.100.11:443',
    cluster: 'PassthroughCluster',
    downstreamLocal: '198.51.100.11:443',
    sni: 'api.example.com',
  }),
  // Denied connections to the two services' IPs, without a name: recovery may name them from the lines above.
  ...lines(2, blackHole('10.50.0.1', 8080)),
  ...lines(2, blackHole('10.60.0.1', 9080)),
  // The corp service reached the normal way, through its own outbound cluster.
  ...lines(5, {
    method: 'GET',
    authority: 'orders.shop:8080',
    upstreamHost: '10.244.1.9:8080',
    cluster: `outbound|8080||${CORP_SVC}`,
    downstreamLocal: '10.96.3.3:8080',
    route: 'default',
  }),
];

let served: ServedApp;

beforeAll(async () => {
  served = await startServedApp({ flags: { reports: { clusterDomain: 'corp.internal' } } });
  await served.postFluentBit(fluentBitBody(LINES, NOW));
});

afterAll(async () => {
  await served.close();
});

const get = async (url: string, status = 200) => {
  const res = await served.app.inject({ method: 'GET', url });
  expect(res.statusCode, res.body).toBe(status);
  return res.body;
};
const json = async (url: string) => JSON.parse(await get(url));

interface Flag {
  host: string;
  reason: string;
}
interface Blocked {
  host: string;
  recovered?: { host: string };
  serviceEntry: { metadata: { namespace?: string }; spec: { hosts: string[]; exportTo?: string[] } } | null;
}

describe('config reports.clusterDomain', () => {
  it('defaults to cluster.local and takes only a DNS name', () => {
    expect(loadConfig({ env: {} }).reports.clusterDomain).toBe('cluster.local');
    expect(loadConfig({ env: { EGRESSLENS_CLUSTER_DOMAIN: 'corp.internal' } }).reports.clusterDomain).toBe(
      'corp.internal',
    );
    for (const bad of ['Corp.Internal', 'corp..internal', 'corp_internal', '-corp.internal', ''])
      expect(() => loadConfig({ env: {}, flags: { reports: { clusterDomain: bad } } }), bad).toThrow(
        /reports\.clusterDomain/,
      );
  });
});

describe('service-entries in a corp.internal mesh', () => {
  it('flags the corp.internal service as in-mesh and suggests *.svc.cluster.local as an ordinary host', async () => {
    const r = await json('/v1/reports/service-entries?since=1h&format=json');
    expect(r.flagged.map((f: Flag) => [f.host, f.reason])).toEqual([[CORP_SVC, 'in-mesh']]);
    expect(r.flagged[0].detail).toMatch(/cluster domain corp\.internal/);
    expect(r.suggestions.map((s: { hosts: string[] }) => s.hosts[0]).sort()).toEqual([
      'api.example.com',
      LOCAL_SVC,
    ]);
    for (const s of r.suggestions) recordIstioYaml(`corp ${s.name}`, s.yaml);
  });

  it('the clusterDomain parameter overrides the config for one request', async () => {
    const r = await json('/v1/reports/service-entries?since=1h&format=json&clusterDomain=cluster.local');
    expect(r.flagged.map((f: Flag) => [f.host, f.reason])).toEqual([[LOCAL_SVC, 'in-mesh']]);
    expect(r.suggestions.map((s: { hosts: string[] }) => s.hosts[0]).sort()).toEqual([
      'api.example.com',
      CORP_SVC,
    ]);
    for (const s of r.suggestions) recordIstioYaml(`cluster.local ${s.name}`, s.yaml);
  });

  it('a clusterDomain that is not a DNS name is a 400 naming the parameter', async () => {
    const body = JSON.parse(await get('/v1/reports/service-entries?clusterDomain=corp_internal', 400));
    expect(body.error).toMatch(/^clusterDomain: a DNS domain/);
  });
});

describe('blocked in a corp.internal mesh', () => {
  const byHost = (r: { destinations: Blocked[] }) =>
    Object.fromEntries(r.destinations.map((d) => [d.host, d]));

  it('never recovers an IP to an in-mesh name; a cluster.local name is an ordinary one there', async () => {
    const corp = byHost(await json('/v1/reports/blocked?since=1h'));
    expect(corp['10.50.0.1']!.recovered).toBeUndefined();
    expect(corp['10.60.0.1']!.recovered?.host).toBe(LOCAL_SVC);
    expect(corp['10.60.0.1']!.serviceEntry?.spec.hosts).toEqual([LOCAL_SVC]);
    const local = byHost(await json('/v1/reports/blocked?since=1h&clusterDomain=cluster.local'));
    expect(local['10.50.0.1']!.recovered?.host).toBe(CORP_SVC);
    expect(local['10.60.0.1']!.recovered).toBeUndefined();
    for (const d of [...Object.values(corp), ...Object.values(local)])
      if (d.serviceEntry) recordIstioYaml(`blocked ${d.host}`, stringify(d.serviceEntry));
  });

  it('entryNamespace and exportTo set metadata.namespace and spec.exportTo of every suggested entry', async () => {
    const r = await json(
      '/v1/reports/blocked?since=1h&entryNamespace=egress&exportTo=.,shop&apiVersion=v1beta1',
    );
    const entries = (r.destinations as Blocked[]).map((d) => d.serviceEntry).filter((e) => e !== null);
    expect(entries).toHaveLength(2);
    for (const e of entries) {
      expect(e!.metadata.namespace).toBe('egress');
      expect(e!.spec.exportTo).toEqual(['.', 'shop']);
      expect((e as { apiVersion?: string }).apiVersion).toBe('networking.istio.io/v1beta1');
      recordIstioYaml('blocked entryNamespace/exportTo', stringify(e));
    }
  });

  it('an exportTo Istio would reject is a 400 saying why', async () => {
    const body = JSON.parse(await get('/v1/reports/blocked?exportTo=*,shop', 400));
    expect(body.error).toBe('exportTo: exportTo "*" (every namespace) must be alone');
  });
});

describe('readiness in a corp.internal mesh', () => {
  it("counts the service's own outbound cluster as in-mesh, not as external traffic", async () => {
    const shop = (r: { namespaces: { namespace: string; requests: number }[] }) =>
      r.namespaces.find((n) => n.namespace === 'shop')!;
    const corp = shop(await json('/v1/reports/readiness?since=1h'));
    expect(corp.requests).toBe(4 + 3 + 2 + 2 + 2);
    const local = shop(await json('/v1/reports/readiness?since=1h&clusterDomain=cluster.local'));
    expect(local.requests).toBe(4 + 3 + 2 + 2 + 2 + 5);
  });

  it('the in-mesh destination is one that would still be blocked, with the reason', async () => {
    const r = await json('/v1/reports/readiness?since=1h');
    const shop = r.namespaces.find((n: { namespace: string }) => n.namespace === 'shop');
    const items = shop.destinationsToBlock.items as { host: string; reason: string }[];
    expect(items.find((d) => d.host === CORP_SVC)?.reason).toMatch(/^in-mesh: /);
    expect(items.find((d) => d.host === LOCAL_SVC)).toBeUndefined();
  });
});

describe('hosts in a corp.internal mesh', () => {
  it("lists the service's own outbound cluster only when its domain is not the mesh's", async () => {
    const allowed = (r: { hosts: { host: string; status: string }[] }) =>
      r.hosts.filter((h) => h.status === 'allowed').map((h) => h.host);
    expect(allowed(await json('/v1/hosts?since=1h'))).toEqual([]);
    expect(allowed(await json('/v1/hosts?since=1h&clusterDomain=cluster.local'))).toEqual([CORP_SVC]);
  });
});

describe('overview and /metrics in a corp.internal mesh', () => {
  it("leave the service's own outbound cluster out of external traffic, and count it with the domain overridden", async () => {
    const overview = await json('/v1/reports/overview?since=1h');
    // Reached through PassthroughCluster it is passthrough traffic; its own outbound cluster is not external.
    expect(overview.topHosts.items.filter((h: { state: string }) => h.state === 'allowed')).toEqual([]);
    expect(overview.requests.allowed).toBe(0);
    const asLocal = await json('/v1/reports/overview?since=1h&clusterDomain=cluster.local');
    expect(asLocal.topHosts.items).toContainEqual({ host: CORP_SVC, state: 'allowed', requests: 5 });
    expect(asLocal.requests.allowed).toBe(5);
  });

  it('the egress gauges follow the configured domain too', async () => {
    await served.gauges.refresh();
    const metrics = await get('/metrics');
    expect(metrics).not.toMatch(/egresslens_egress_requests\{state="allowed"/);
    expect(metrics).toMatch(/egresslens_egress_requests\{state="passthrough",namespace="shop"\} \d+/);
  });
});

describe("Istio's own validator", () => {
  it(
    'accepts every ServiceEntry the API returned here',
    async () => {
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
