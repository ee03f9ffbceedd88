/**
 * Registry coverage by `addresses`, end to end: IP-only traffic stored in real chDB, a registry read from YAML,
 * and the served API's service-entries (JSON, YAML, table) and readiness answers. Every ServiceEntry YAML the
 * API returns goes through Istio's validator (last test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegistryText } from '../../reports/registry/registry.js';
import { istioLine } from '../helpers/istio-line.js';
import { expectIstioAccepts, ISTIO_BUILD_TIMEOUT_MS, recordIstioYaml } from '../helpers/istio-validator.js';
import { type FixtureLine, fluentBitBody, SHOP } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

const NOW = Date.now();

const REGISTRY = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: aws-half, namespace: shop}
spec:
  hosts: [aws-half.internal]
  addresses: [52.0.1.0/25]
  ports: [{number: 443, name: tls, protocol: TLS}]
  resolution: NONE
  location: MESH_EXTERNAL
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: databases, namespace: shop}
spec:
  hosts: [databases.internal]
  addresses: ["::ffff:10.20.0.0/112", "2001:db8:5::/48"]
  ports: [{number: 5432, name: tcp-pg, protocol: TCP}]
  resolution: NONE
  location: MESH_EXTERNAL
`;

/** Opaque TCP/TLS without SNI through PassthroughCluster: the destination is known only by IP. */
function ipOnly(ip: string, port: number, n: number): FixtureLine[] {
  const ts = new Date(NOW - 60_000).toISOString();
  const hostPort = ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
  return Array.from({ length: n }, () => ({
    line: istioLine({
      ts,
      upstreamHost: hostPort,
      cluster: 'PassthroughCluster',
      downstreamLocal: hostPort,
      bytesIn: 100,
      bytesOut: 300,
    }),
    src: SHOP,
  }));
}

const LINES = [
  ...ipOnly('52.0.1.5', 443, 4), // inside aws-half
  ...ipOnly('52.0.1.200', 443, 3), // outside it
  ...ipOnly('10.20.1.5', 5432, 5), // inside databases (IPv4-mapped network)
  ...ipOnly('10.20.1.9', 5432, 2), // the same /24: one network suggestion
  ...ipOnly('2001:db8:5::10', 5432, 6), // inside databases (IPv6)
];

let served: ServedApp;

beforeAll(async () => {
  const registry = parseRegistryText(REGISTRY, 'registry.yaml');
  served = await startServedApp({ registry: async () => registry });
  await served.postFluentBit(fluentBitBody(LINES, NOW));
});

afterAll(async () => {
  await served.close();
});

const get = async (url: string) => {
  const res = await served.app.inject({ method: 'GET', url });
  expect(res.statusCode, res.body).toBe(200);
  return res.body;
};

describe('service-entries with a registry of networks', () => {
  it('JSON: the databases network covers its IPs; the half network covers part of 52.0.1.0/24', async () => {
    const r = JSON.parse(await get('/v1/reports/service-entries?since=1h&format=json'));
    expect(r.registry.covered).toEqual([
      { suggestion: 'ip-2001-db8-5-10', entry: 'shop/databases' },
      { suggestion: 'net-10-20-1-0-24', entry: 'shop/databases' },
    ]);
    expect(r.registry.partiallyCovered).toEqual([
      {
        suggestion: 'net-52-0-1-0-24',
        reason:
          'port 443: shop/aws-half (addresses 52.0.1.0/25) covers only part of 52.0.1.0/24; not 52.0.1.128/25',
      },
    ]);
    expect(r.total).toBe(1);
    expect(r.truncated).toBe(false);
    const [rest] = r.suggestions;
    expect(rest.name).toBe('net-52-0-1-0-24-443');
    expect(rest.resource.spec.addresses).toEqual(['52.0.1.128/25']);
    expect(rest.resource.spec.ports).toEqual([{ number: 443, name: 'tcp-443', protocol: 'TCP' }]);
    recordIstioYaml('served JSON remainder', rest.yaml);
  });

  it('YAML: the header says what is covered and what in part; the remainder is the only entry', async () => {
    const yaml = await get('/v1/reports/service-entries?since=1h&format=yaml');
    recordIstioYaml('served YAML', yaml);
    expect(yaml).toMatch(/# registry: 2 entries; 2 destination\(s\) already covered/);
    expect(yaml).toMatch(
      /# {3}partially covered: net-52-0-1-0-24: port 443: shop\/aws-half \(addresses 52\.0\.1\.0\/25\) covers only part/,
    );
    expect(yaml.match(/^kind: ServiceEntry$/gm)).toHaveLength(1);
    expect(yaml).toMatch(/addresses:\n\s+- 52\.0\.1\.128\/25/);
  });

  it('table: the remainder row names its network', async () => {
    const table = await get('/v1/reports/service-entries?since=1h&format=table');
    expect(table).toMatch(/^52\.0\.1\.128\/25 \(network\)\s+443\/TCP\s+7 /m);
    expect(table).toMatch(/partially covered: net-52-0-1-0-24/);
  });
});

describe('readiness with a registry of networks', () => {
  it('counts requests to IPs inside registry addresses as admitted by the registry', async () => {
    const r = JSON.parse(await get('/v1/reports/readiness?since=1h'));
    const shop = r.namespaces.find((n: { namespace: string }) => n.namespace === 'shop');
    // 52.0.1.5 (4), 10.20.1.5 (5), 10.20.1.9 (2), 2001:db8:5::10 (6) by the registry; 52.0.1.200 (3) by a suggestion
    expect(shop.requests).toBe(20);
    expect(shop.admittedByRegistry).toBe(17);
    expect(shop.admittedWithSuggestions).toBe(3);
    expect(shop.wouldBlock).toBe(0);
    const off = JSON.parse(await get('/v1/reports/readiness?since=1h&diff=off'));
    expect(off.namespaces[0].admittedByRegistry).toBe(0);
  });
});

describe("Istio's own validator", () => {
  it(
    'accepts every ServiceEntry YAML the API returned here',
    async () => {
      await expectIstioAccepts();
    },
    ISTIO_BUILD_TIMEOUT_MS,
  );
});
