/**
 * Reports at mesh scale, through the HTTP API on real chDB: ~70k destinations (60k IP-only) become at most a few
 * thousand ServiceEntries (CIDR entries for the unnamed IPs, wildcards for the many siblings); every list answer
 * says how much it holds of how much (`total`, `truncated`, "N of M" headers), and pages through `limit`/`offset`.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { buildServer } from '../../api/server.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { isDns1123Label } from '../../reports/service-entry-name.js';
import { validateServiceEntry } from '../../reports/service-entry-validate.js';
import { loadConfig } from '../../schemas/config.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { insertManyDestinations } from '../helpers/many-destinations.js';

const DATA = {
  ips: 60_000,
  ipsPerNetwork: 200,
  v6Ips: 40,
  sniHosts: 8_000,
  sniParents: 400,
  httpHosts: 2_000,
  blockedHosts: 3_000,
};

const dir = mkdtempSync(join(tmpdir(), 'egresslens-report-scale-'));
let store: ChdbStore;
let app: FastifyInstance;
let pipeline: IngestPipeline;

beforeAll(async () => {
  const config = loadConfig({ env: {}, flags: { data: dir } });
  store = ChdbStore.open(dir);
  await store.migrate();
  const log = pino({ level: 'silent' });
  pipeline = new IngestPipeline(
    store,
    { ...config.ingest, format: 'auto', storeRaw: false, retryBaseMs: 10, retryMaxMs: 50 },
    log,
  );
  ({ app } = await buildServer({ config, store, pipeline, log }));
  await insertManyDestinations(store, DATA);
});

afterAll(async () => {
  await app.close();
  await pipeline.close();
  await store.close();
});

async function get(url: string): Promise<{ status: number; body: string; json: () => any }> {
  const res = await app.inject({ method: 'GET', url });
  return { status: res.statusCode, body: res.body, json: () => res.json() };
}

async function getJson(url: string): Promise<any> {
  const res = await get(url);
  expect(res.status, res.body).toBe(200);
  return res.json();
}

describe('aggregation a person can apply', () => {
  let all: any;
  beforeAll(async () => {
    all = await getJson('/v1/reports/service-entries?format=json&limit=100000');
  });

  it('turns ~70k destinations into at most a few thousand entries, accounting for every IP', () => {
    const destinations = DATA.ips + DATA.v6Ips + DATA.sniHosts + DATA.httpHosts;
    expect(destinations).toBeGreaterThan(70_000);
    expect(all.total).toBe(all.suggestions.length);
    expect(all.truncated).toBe(false);
    expect(all.total).toBeLessThanOrEqual(3_000);
    const byKind = (k: string) => all.suggestions.filter((s: any) => s.kind === k);
    // 300 /24 networks of 200 IPs, one /64 with the IPv6 ones; 400 SNI parents; one HTTP parent.
    expect(byKind('cidr')).toHaveLength(DATA.ips / DATA.ipsPerNetwork + 1);
    expect(byKind('wildcard')).toHaveLength(DATA.sniParents + 1);
    expect(byKind('ip')).toHaveLength(0);
    const ipCount = byKind('cidr').reduce(
      (n: number, s: any) => n + Number(s.resource.metadata.annotations['egresslens.io/ip-count']),
      0,
    );
    expect(ipCount).toBe(DATA.ips + DATA.v6Ips);
    expect(all.unresolvedIpCount).toBe(DATA.ips + DATA.v6Ips);
    expect(all.cidrGroups).toEqual({
      entries: DATA.ips / DATA.ipsPerNetwork + 1,
      ips: DATA.ips + DATA.v6Ips,
      prefix: { v4: 24, v6: 64 },
    });
  });

  it('writes a CIDR entry Istio accepts: network addresses, a valid synthetic host, NONE, MESH_EXTERNAL, TCP', () => {
    const net = all.suggestions.find((s: any) => s.resource.spec.addresses?.[0] === '52.0.1.0/24');
    expect(net.resource.spec).toEqual({
      hosts: ['net-52-0-1-0-24.external'],
      addresses: ['52.0.1.0/24'],
      ports: [{ number: 443, name: 'tcp-443', protocol: 'TCP' }],
      resolution: 'NONE',
      location: 'MESH_EXTERNAL',
    });
    const a = net.resource.metadata.annotations;
    expect(a['egresslens.io/ip-count']).toBe('200');
    expect(a['egresslens.io/cidr']).toBe('52.0.1.0/24');
    expect(a['egresslens.io/example-ips'].split(',')).toHaveLength(5);
    for (const ip of a['egresslens.io/example-ips'].split(',')) expect(ip).toMatch(/^52\.0\.1\.\d+$/);
    expect(net.warnings[0]).toMatch(/200 IP-only destinations in 52\.0\.1\.0\/24/);
    const db = all.suggestions.find((s: any) => s.resource.spec.addresses?.[0] === '52.0.0.0/24');
    expect(db.resource.spec.ports).toEqual([{ number: 5432, name: 'tcp-5432', protocol: 'TCP' }]);
    const v6 = all.suggestions.find((s: any) => s.resource.spec.addresses?.[0] === '2001:db8:5:7::/64');
    expect(v6.resource.metadata.annotations['egresslens.io/ip-count']).toBe(String(DATA.v6Ips));
    for (const s of all.suggestions.filter((x: any) => x.kind === 'cidr')) {
      const [label, tld] = s.resource.spec.hosts[0].split('.');
      expect(isDns1123Label(label) && tld === 'external', s.resource.spec.hosts[0]).toBe(true);
      validateServiceEntry(s.resource, 'networking.istio.io/v1');
      // Istio's v1 ServiceEntry is v1beta1 promoted unchanged: one schema checks both (@kubernetes-models/istio 2.x).
      new ServiceEntry({
        ...s.resource,
        apiVersion: 'networking.istio.io/v1beta1',
      } as unknown as ConstructorParameters<typeof ServiceEntry>[0]).validate();
    }
  });

  it('takes the prefix from the request: /32 turns grouping off, /16 makes fewer networks', async () => {
    const off = await getJson('/v1/reports/service-entries?format=json&cidrPrefixV4=32&limit=1');
    expect(off.cidrGroups.entries).toBe(1); // the IPv6 /64 only
    expect(off.total).toBe(DATA.ips + 1 + DATA.sniParents + 1);
    const wide = await getJson(
      '/v1/reports/service-entries?format=json&cidrPrefixV4=16&cidrPrefixV6=128&limit=1',
    );
    // 52.0.0.0/16 and 52.1.0.0/16, each split by port set (443, 5432); the IPv6 IPs stay alone.
    expect(wide.cidrGroups).toMatchObject({ entries: 4, ips: DATA.ips, prefix: { v4: 16, v6: 128 } });
    for (const bad of ['cidrPrefixV4=7', 'cidrPrefixV4=33', 'cidrPrefixV6=20', 'cidrPrefixV4=x']) {
      expect((await get(`/v1/reports/service-entries?${bad}`)).status, bad).toBe(400);
    }
  });
});

describe('no silent cuts', () => {
  it('service-entries: the YAML header says N of M, JSON has total and truncated, pages do not overlap', async () => {
    const yaml = await get('/v1/reports/service-entries?limit=50');
    expect(yaml.status).toBe(200);
    const total = (await getJson('/v1/reports/service-entries?format=json&limit=1')).total;
    expect(yaml.body).toMatch(new RegExp(`^# 50 of ${total} suggestion\\(s\\); use limit and offset`, 'm'));
    const docs = parseAllDocuments(yaml.body).filter((d) => d.contents !== null);
    expect(docs).toHaveLength(50);
    const p1 = await getJson('/v1/reports/service-entries?format=json&limit=50');
    const p2 = await getJson('/v1/reports/service-entries?format=json&limit=50&offset=50');
    expect(p1).toMatchObject({ total, truncated: true, limit: 50, offset: 0 });
    expect(p2).toMatchObject({ total, truncated: true, limit: 50, offset: 50 });
    const names1 = p1.suggestions.map((s: any) => s.name);
    const names2 = p2.suggestions.map((s: any) => s.name);
    expect(new Set([...names1, ...names2]).size).toBe(100);
    const table = await get('/v1/reports/service-entries?format=table&limit=3&offset=3');
    expect(table.body).toMatch(new RegExp(`# 3 of ${total} suggestion\\(s\\) \\(from #4\\)`));
  });

  it('blocked, hosts and timeouts: JSON total/truncated over the whole list, table headers N of M', async () => {
    const blocked = await getJson('/v1/reports/blocked?format=json&limit=10');
    expect(blocked).toMatchObject({ total: DATA.blockedHosts, truncated: true, requests: DATA.blockedHosts });
    expect(blocked.destinations).toHaveLength(10);
    const last = await getJson(`/v1/reports/blocked?format=json&limit=10&offset=${DATA.blockedHosts - 4}`);
    expect(last).toMatchObject({ total: DATA.blockedHosts, truncated: true });
    expect(last.destinations).toHaveLength(4);
    const past = await getJson(`/v1/reports/blocked?format=json&offset=${DATA.blockedHosts + 10}`);
    expect(past).toMatchObject({ total: DATA.blockedHosts, truncated: true, requests: DATA.blockedHosts });
    expect(past.destinations).toHaveLength(0);
    const whole = await getJson('/v1/reports/blocked?format=json&limit=100000');
    expect(whole).toMatchObject({ total: DATA.blockedHosts, truncated: false });
    expect(new Set(whole.destinations.map((d: any) => d.host)).size).toBe(DATA.blockedHosts);
    expect((await get('/v1/reports/blocked?format=table&limit=2')).body).toMatch(
      new RegExp(`^2 of ${DATA.blockedHosts} destinations; use limit and offset`, 'm'),
    );

    const hostsTotal = DATA.ips + DATA.v6Ips + DATA.sniHosts + DATA.httpHosts + DATA.blockedHosts;
    const hosts = await getJson('/v1/hosts?format=json&limit=5');
    expect(hosts).toMatchObject({ total: hostsTotal, truncated: true });
    expect(hosts.hosts).toHaveLength(5);
    expect((await get('/v1/hosts?format=table&limit=5')).body).toMatch(
      new RegExp(`^5 of ${hostsTotal} host/port/status rows`, 'm'),
    );

    const timeouts = await getJson('/v1/reports/timeouts?format=json');
    expect(timeouts).toMatchObject({ total: 0, truncated: false, timeouts: 0, entries: [] });
    expect((await get('/v1/reports/timeouts?format=table')).body).toMatch(/^0 of 0 host\/route pairs/m);
  });

  it('validates limit and offset on every list route', async () => {
    for (const path of [
      '/v1/reports/service-entries',
      '/v1/reports/blocked',
      '/v1/reports/timeouts',
      '/v1/hosts',
    ]) {
      for (const q of [
        'limit=0',
        'limit=100001',
        'limit=-1',
        'limit=1.5',
        'offset=-1',
        'offset=x',
        'offset=10000001',
      ]) {
        expect((await get(`${path}?${q}`)).status, `${path}?${q}`).toBe(400);
      }
    }
  });

  it('documents limit and offset in the OpenAPI schema', async () => {
    const spec = await getJson('/docs/json');
    for (const path of [
      '/v1/reports/service-entries',
      '/v1/reports/blocked',
      '/v1/reports/timeouts',
      '/v1/hosts',
    ]) {
      const params = spec.paths[path].get.parameters as Array<{
        name: string;
        description?: string;
        schema: any;
      }>;
      const limit = params.find((p) => p.name === 'limit')!;
      const offset = params.find((p) => p.name === 'offset')!;
      expect(limit.description).toMatch(/total and truncated/);
      expect(limit.schema).toMatchObject({ minimum: 1, maximum: 100000 });
      expect(offset.description).toMatch(/skip/);
    }
    const se = spec.paths['/v1/reports/service-entries'].get.parameters.map((p: any) => p.name);
    expect(se).toEqual(expect.arrayContaining(['cidrPrefixV4', 'cidrPrefixV6']));
  });
});

describe('health while reports run', () => {
  it('answers /readyz while a report over every destination is still running', async () => {
    let reportDone = false;
    const running = app.inject({ url: '/v1/reports/service-entries?format=json' }).then((r) => {
      reportDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 50));
    const ready = await app.inject({ url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', store: 'up' });
    // The probe did not wait for the report (the store's health session is its own).
    expect(reportDone).toBe(false);
    expect((await running).statusCode).toBe(200);
  });
});
