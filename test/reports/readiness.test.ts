/**
 * Lockdown readiness on real chDB: a day of mesh traffic plus destinations that no ServiceEntry can admit (an
 * in-mesh service reached through PassthroughCluster, the link-local metadata service, a single-label name),
 * with and without a registry. The numbers are counted from the fixture's own lines; every Sidecar goes through
 * Istio's own validator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readinessReport } from '../../reports/readiness/readiness-report.js';
import { parseRegistryText, type RegistryEntry } from '../../reports/registry/registry.js';
import { parseWindow } from '../../reports/shared/window.js';
import { istioLine } from '../helpers/istio-line.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';
import { type FixtureLine, fluentBitBody, meshFixture, SEARCH, SHOP } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

const NOW = Date.now();
let served: ServedApp;
let store: ServedApp['store'];
let app: ServedApp['app'];

/** Lines no ServiceEntry can admit: each would still be blocked under REGISTRY_ONLY. */
function unadmittable(): FixtureLine[] {
  const ts = new Date(NOW - 60_000).toISOString();
  const passthrough = (host: string, ip: string, port: number) => ({
    method: 'GET',
    path: '/',
    authority: host,
    upstreamHost: `${ip}:${port}`,
    cluster: 'PassthroughCluster',
    downstreamLocal: `${ip}:${port}`,
    route: 'allow_any',
  });
  const out: FixtureLine[] = [];
  for (let i = 0; i < 7; i++)
    out.push({
      line: istioLine({ ts, ...passthrough('orders.shop.svc.cluster.local', '10.96.1.1', 8080) }),
      src: SHOP,
    });
  for (let i = 0; i < 3; i++)
    out.push({
      line: istioLine({ ts, ...passthrough('169.254.169.254', '169.254.169.254', 80) }),
      src: SEARCH,
    });
  for (let i = 0; i < 2; i++)
    out.push({ line: istioLine({ ts, ...passthrough('backend', '10.0.0.9', 80) }), src: SEARCH });
  return out;
}

const lines = [...meshFixture(NOW), ...unadmittable()];
/** External requests of a namespace, counted from the lines: all but calls to in-mesh services' own clusters. */
const external = (ns: string) =>
  lines.filter((l) => l.src.ns === ns && !/ outbound\|\d+\|\|\S+\.svc\.cluster\.local /.test(l.line)).length;

beforeAll(async () => {
  served = await startServedApp();
  ({ store, app } = served);
  await served.postFluentBit(fluentBitBody(lines, NOW));
});

afterAll(async () => {
  await served.close();
});

const window = () => parseWindow('2d', undefined, Date.now());

/** The report without a registry and with `registry`, to see what the registry moves. */
async function withAndWithout(registry: RegistryEntry[]) {
  const opts = { apiVersion: 'networking.istio.io/v1' } as const;
  return {
    without: await readinessReport(store, window(), { ...opts, registry: null }),
    withReg: await readinessReport(store, window(), { ...opts, registry }),
  };
}

describe('lockdown readiness', () => {
  it('counts each namespace: admitted by the registry, only with the suggestions, or still blocked', async () => {
    const r = await readinessReport(store, window(), {
      registry: null,
      apiVersion: 'networking.istio.io/v1',
    });
    expect(r.total).toBe(3);
    expect(r.truncated).toBe(false);
    const by = Object.fromEntries(r.namespaces.map((n) => [n.namespace, n]));
    for (const ns of ['shop', 'billing', 'search']) {
      const n = by[ns]!;
      expect(n.requests, ns).toBe(external(ns));
      expect(n.admittedByRegistry + n.admittedWithSuggestions + n.wouldBlock + n.notExamined, ns).toBe(
        n.requests,
      );
      expect(n.notExamined).toBe(0);
    }
    // shop: 26 requests already through the reports.partner.example entry; the in-mesh service cannot be admitted.
    expect(by.shop!.admittedByRegistry).toBe(26);
    expect(by.shop!.wouldBlock).toBe(7);
    expect(by.shop!.destinationsToBlock.items).toEqual([
      expect.objectContaining({ host: 'orders.shop.svc.cluster.local', port: 8080, requests: 7 }),
    ]);
    // billing: everything can be admitted (its blocked legacy host gets a suggestion).
    expect(by.billing!.wouldBlock).toBe(0);
    expect(by.billing!.share).toBe(1);
    // search: the metadata service and a single-label name stay blocked, each with its reason.
    const blocked = Object.fromEntries(by.search!.destinationsToBlock.items.map((d) => [d.host, d]));
    expect(Object.keys(blocked).sort()).toEqual(['169.254.169.254', 'backend']);
    expect(blocked['169.254.169.254']!.reason).toMatch(/link-local|metadata/i);
    expect(blocked.backend!.reason).toMatch(/single-label|single label|FQDN/i);
    // Least ready first.
    expect(r.namespaces.map((n) => n.share)).toEqual(
      [...r.namespaces.map((n) => n.share)].sort((a, b) => a - b),
    );
  });

  it('past maxDestinations, says which requests were not examined, and the rest still add up', async () => {
    const opts = { registry: null, apiVersion: 'networking.istio.io/v1' } as const;
    const full = await readinessReport(store, window(), opts);
    const cut = await readinessReport(store, window(), { ...opts, maxDestinations: 1 });
    expect(full.destinationsTruncated).toBe(false);
    expect(cut.destinationsTruncated).toBe(true);
    const fullBy = new Map(full.namespaces.map((n) => [n.namespace, n]));
    let notExamined = 0;
    let examinedLess = 0;
    for (const n of cut.namespaces) {
      const f = fullBy.get(n.namespace)!;
      expect(n.requests, n.namespace).toBe(f.requests);
      expect(n.admittedByRegistry, n.namespace).toBe(f.admittedByRegistry);
      expect(
        n.admittedByRegistry + n.admittedWithSuggestions + n.wouldBlock + n.notExamined,
        n.namespace,
      ).toBe(n.requests);
      expect(n.notExamined).toBeGreaterThanOrEqual(0);
      for (const d of n.destinationsToBlock.items) expect(f.destinationsToBlock.items).toContainEqual(d);
      notExamined += n.notExamined;
      examinedLess += f.admittedWithSuggestions + f.wouldBlock - (n.admittedWithSuggestions + n.wouldBlock);
    }
    expect(notExamined).toBeGreaterThan(0);
    expect(notExamined).toBe(examinedLess);
  });

  it('a registry entry moves its destination from "with suggestions" to "by the registry"', async () => {
    const registry = parseRegistryText(
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: payments, namespace: shop }
spec: { hosts: [api.payments.example], ports: [{ number: 80, name: http, protocol: HTTP }], resolution: DNS, location: MESH_EXTERNAL }`,
      'registry.yaml',
    );
    const { without, withReg } = await withAndWithout(registry);
    const shop = (r: typeof without) => r.namespaces.find((n) => n.namespace === 'shop')!;
    const payments = lines.filter(
      (l) => l.src.ns === 'shop' && l.line.includes('api.payments.example'),
    ).length;
    expect(shop(withReg).admittedByRegistry - shop(without).admittedByRegistry).toBe(payments);
    expect(shop(without).admittedWithSuggestions - shop(withReg).admittedWithSuggestions).toBe(payments);
  });

  it('a registry that admits most destinations: counted as the rest of what the suggestions admit', async () => {
    // Every name under these suffixes, on any port: most of the fixture's named traffic.
    const registry = parseRegistryText(
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: broad, namespace: istio-system }
spec: { hosts: ["*.com", "*.example", "*.org", "*.net", "*.io", "*.local"], resolution: DNS, location: MESH_EXTERNAL }`,
      'registry.yaml',
    );
    const { without, withReg } = await withAndWithout(registry);
    const by = new Map(without.namespaces.map((n) => [n.namespace, n]));
    let moved = 0;
    for (const n of withReg.namespaces) {
      const w = by.get(n.namespace)!;
      expect(n.requests, n.namespace).toBe(w.requests);
      expect(n.admittedByRegistry + n.admittedWithSuggestions + n.wouldBlock, n.namespace).toBe(n.requests);
      expect(n.admittedByRegistry, n.namespace).toBeGreaterThanOrEqual(w.admittedByRegistry);
      // The in-mesh service (cluster.local) is now the registry's too; the link-local and single-label
      // destinations are not under these suffixes.
      expect(n.destinationsToBlock.items.map((d) => d.host).sort(), n.namespace).toEqual(
        w.destinationsToBlock.items
          .map((d) => d.host)
          .filter((h) => !h.endsWith('.local'))
          .sort(),
      );
      moved += n.admittedByRegistry - w.admittedByRegistry;
    }
    // More requests moved to the registry than stayed with the suggestions, so the engine summed the
    // suggestions' side and the registry's is what remains.
    const stayed = withReg.namespaces.reduce((s, n) => s + n.admittedWithSuggestions, 0);
    expect(moved).toBeGreaterThan(stayed);
  });

  it('a bare IP counts "with suggestions" by the engine, and "by the registry" when an entry declares its address', async () => {
    const registry = parseRegistryText(
      `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: partner-net, namespace: search }
spec: { hosts: [partner.internal.example], addresses: [203.0.113.0/24], ports: [{ number: 443, name: tcp, protocol: TCP }], resolution: NONE, location: MESH_EXTERNAL }`,
      'registry.yaml',
    );
    const { without, withReg } = await withAndWithout(registry);
    const search = (r: typeof without) => r.namespaces.find((n) => n.namespace === 'search')!;
    const toIp = lines.filter((l) => l.src.ns === 'search' && l.line.includes('203.0.113.50:443')).length;
    expect(toIp).toBeGreaterThan(0);
    expect(search(withReg).admittedByRegistry - search(without).admittedByRegistry).toBe(toIp);
    expect(search(without).admittedWithSuggestions - search(withReg).admittedWithSuggestions).toBe(toIp);
    for (const r of [without, withReg]) {
      const n = search(r);
      expect(n.admittedByRegistry + n.admittedWithSuggestions + n.wouldBlock + n.notExamined).toBe(
        n.requests,
      );
      expect(n.notExamined).toBe(0);
    }
  });

  it(
    "each namespace's Sidecar switches it to REGISTRY_ONLY, and Istio's validator accepts it",
    async () => {
      const r = await readinessReport(store, window(), {
        registry: null,
        apiVersion: 'networking.istio.io/v1',
      });
      for (const n of r.namespaces) {
        const doc = parseYaml(n.sidecarYaml) as {
          kind: string;
          metadata: { namespace: string };
          spec: Record<string, unknown>;
        };
        expect(doc.kind).toBe('Sidecar');
        expect(doc.metadata.namespace).toBe(n.namespace);
        expect(doc.spec['outboundTrafficPolicy']).toEqual({ mode: 'REGISTRY_ONLY' });
        recordIstioYaml(`readiness Sidecar ${n.namespace}`, n.sidecarYaml);
      }
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );

  it('pages namespaces with total and truncated', async () => {
    const r = await readinessReport(store, window(), {
      registry: null,
      apiVersion: 'networking.istio.io/v1',
      limit: 2,
    });
    expect(r.namespaces).toHaveLength(2);
    expect(r).toMatchObject({ total: 3, truncated: true });
    const rest = await readinessReport(store, window(), {
      registry: null,
      apiVersion: 'networking.istio.io/v1',
      limit: 2,
      offset: 2,
    });
    expect(rest.namespaces).toHaveLength(1);
    expect(rest).toMatchObject({ total: 3, truncated: true, offset: 2 });
    const all = await readinessReport(store, window(), {
      registry: null,
      apiVersion: 'networking.istio.io/v1',
    });
    expect(all).toMatchObject({ total: 3, truncated: false });
  });

  it('is served as JSON, a table and YAML by GET /v1/reports/readiness', async () => {
    const json = await app.inject({ method: 'GET', url: '/v1/reports/readiness?since=2d' });
    expect(json.statusCode, json.body).toBe(200);
    expect(JSON.parse(json.body)).toMatchObject({ total: 3, truncated: false });
    const table = await app.inject({ method: 'GET', url: '/v1/reports/readiness?since=2d&format=table' });
    expect(table.body).toMatch(/^egresslens: lockdown readiness/);
    expect(table.body).toContain('3 of 3 namespace(s)');
    expect(table.body).toContain('orders.shop.svc.cluster.local:8080');
    const yaml = await app.inject({
      method: 'GET',
      url: '/v1/reports/readiness?since=2d&format=yaml&limit=1',
    });
    expect(yaml.headers['content-type']).toMatch(/yaml/);
    expect(yaml.body).toContain('1 of 3 namespace(s)');
    expect(yaml.body.match(/kind: Sidecar/g)).toHaveLength(1);
    recordIstioYaml('readiness YAML through the API', yaml.body);
  });

  it(
    "Istio's validator accepts the YAML the API served",
    async () => {
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
