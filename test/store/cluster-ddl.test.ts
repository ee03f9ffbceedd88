/**
 * Every statement the migrations render, for a single server and for a cluster, checked by the engine's own
 * parser (chDB's formatQuery): no cluster can run here, so this is how the cluster DDL is held to what
 * ClickHouse accepts. The single-server statements also run for real on chDB elsewhere (every store test).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session } from 'chdb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configFromFlags } from '../../bin/config-flags.js';
import {
  egressRequestsViewStatement,
  MIGRATIONS,
  migrationsTableStatement,
  recordMigrationStatement,
  type SchemaOptions,
} from '../../store/schema.js';
import { DEFAULT_CLUSTER_PATHS } from '../../store/table-ddl.js';

const CLUSTER: SchemaOptions['cluster'] = {
  name: 'egress-fleet',
  database: 'logs',
  ...DEFAULT_CLUSTER_PATHS,
};

const MODES: Array<[string, SchemaOptions]> = [
  ['single server', {}],
  ['single server with TTL', { ttlDays: 30 }],
  ['cluster', { cluster: CLUSTER }],
  [
    'cluster with TTL and custom paths',
    {
      ttlDays: 7,
      cluster: { ...CLUSTER!, replicaPath: '/ch/{shard}/t/{table}', replicaName: '{replica}-x' },
    },
  ],
];

function allStatements(opts: SchemaOptions): string[] {
  return [
    migrationsTableStatement(opts),
    ...MIGRATIONS.flatMap((m) => [...m.statements(opts), recordMigrationStatement(m)]),
    egressRequestsViewStatement(opts, 'corp.internal'),
  ];
}

let dir: string;
let session: Session;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'egresslens-ddl-'));
  session = new Session(dir);
});
afterAll(() => {
  session.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The engine's own formatting of `sql`; throws the engine's syntax error if it does not parse. */
async function formatted(sql: string): Promise<string> {
  const r = await session.queryBindAsync(
    'SELECT formatQuery({q:String}) AS f',
    { q: sql },
    { format: 'JSONEachRow' },
  );
  return (JSON.parse(r.text()) as { f: string }).f;
}

describe.each(MODES)('migrations rendered for a %s', (_mode, opts) => {
  it('every statement parses with the engine, and its formatted form parses to itself', async () => {
    const statements = allStatements(opts);
    expect(statements.length).toBeGreaterThan(3);
    for (const sql of statements) {
      const once = await formatted(sql);
      expect(await formatted(once)).toBe(once);
    }
  });

  it("re-creates the egress_requests view for serve's cluster domain, ON CLUSTER in cluster mode", async () => {
    const text = await formatted(egressRequestsViewStatement(opts, 'corp.internal'));
    expect(text).toMatch(/^CREATE OR REPLACE VIEW egress_requests/);
    expect(text).toContain("'corp.internal'");
    expect(text.includes('ON CLUSTER')).toBe(opts.cluster !== undefined);
  });

  it('creates each table the way the mode needs', async () => {
    const creates = allStatements(opts).filter((s) => s.startsWith('CREATE TABLE'));
    const texts = await Promise.all(creates.map(formatted));
    const ttl = opts.ttlDays ? `TTL toDateTime(start_time) + toIntervalDay(${opts.ttlDays})` : undefined;
    if (!opts.cluster) {
      expect(texts.every((t) => !t.includes('ON CLUSTER'))).toBe(true);
      const accessLog = texts.find((t) => t.startsWith('CREATE TABLE IF NOT EXISTS access_log\n'))!;
      expect(accessLog).toContain('ENGINE = MergeTree');
      expect(accessLog).toContain('non_replicated_deduplication_window = 10000');
      if (ttl) expect(accessLog).toContain(ttl);
      return;
    }
    const c = opts.cluster;
    expect(
      texts.every((t) => t.includes(`ON CLUSTER \`${c.name}\``) || t.includes(`ON CLUSTER ${c.name}`)),
    ).toBe(true);
    for (const table of ['access_log', 'dead_letters', 'report_runs']) {
      const local = texts.find((t) => t.startsWith(`CREATE TABLE IF NOT EXISTS ${table}_local `))!;
      const dist = texts.find((t) => t.startsWith(`CREATE TABLE IF NOT EXISTS ${table} `))!;
      expect(local).toContain(`ENGINE = ReplicatedMergeTree('${c.replicaPath}', '${c.replicaName}')`);
      expect(dist).toContain(`AS ${table}_local`);
      expect(dist).toContain(
        `ENGINE = Distributed('${c.name}', '${c.database}', '${table}_local', cityHash64(`,
      );
      expect(dist).not.toContain('TTL');
    }
    const accessLocal = texts.find((t) => t.startsWith('CREATE TABLE IF NOT EXISTS access_log_local '))!;
    expect(accessLocal).toContain('replicated_deduplication_window = 10000');
    if (ttl) expect(accessLocal).toContain(ttl);
    const migrations = texts.find((t) => t.startsWith('CREATE TABLE IF NOT EXISTS schema_migrations '))!;
    // One replication group over the whole cluster: no {shard} in the path.
    expect(migrations).toContain(`ReplicatedMergeTree('${c.migrationsPath}', '${c.migrationsReplicaName}')`);
    expect(c.migrationsPath).not.toContain('{shard}');
  });
});

describe('the egress_requests view', () => {
  it('classifies every row the way the reports do, with the destination host and port', async () => {
    const viewDir = mkdtempSync(join(tmpdir(), 'egresslens-view-'));
    const { ChdbStore } = await import('../../store/chdb-store.js');
    // chDB opens one data directory per process: this test file's own Session is on another, so close it.
    session.close();
    const store = ChdbStore.open(viewDir);
    try {
      await store.migrate();
      const rows = [
        ['PassthroughCluster', 'api.example.com:443', 'api.example.com', '', 200],
        ['BlackHoleCluster', '203.0.113.5:443', '', 'UH', 0],
        ['outbound|443||pay.example.com', '198.51.100.1:443', 'pay.example.com', '', 200],
        ['outbound|9080||reviews.shop.svc.cluster.local', '10.96.0.1:9080', '', '', 200],
        ['outbound|80||slow.example.com', '198.51.100.2:80', '', 'UT', 504],
        ['outbound|8080||cart.shop.svc.corp.internal', '10.96.0.2:8080', '', '', 200],
      ];
      const body = rows
        .map(([cluster, local, sni, flags, code]) =>
          JSON.stringify({
            start_time: '2026-11-29 10:00:00.000',
            upstream_cluster: cluster,
            downstream_local_address: local,
            requested_server_name: sni,
            response_flags: flags,
            response_code: code,
          }),
        )
        .join('\n');
      await store.insert({ table: 'access_log', body: Buffer.from(body), format: 'JSONEachRow' });
      const stateOf = async () =>
        Object.fromEntries(
          (
            await store.query<{ upstream_cluster: string; state: string }>(
              'SELECT upstream_cluster, state FROM egress_requests',
            )
          ).map((r) => [r.upstream_cluster, r.state]),
        );
      // serve's cluster domain: the view is re-created with it, and back with the default.
      await store.migrate({ clusterDomain: 'corp.internal' });
      expect(await stateOf()).toMatchObject({
        'outbound|9080||reviews.shop.svc.cluster.local': 'allowed',
        'outbound|8080||cart.shop.svc.corp.internal': 'in-mesh',
        'outbound|443||pay.example.com': 'allowed',
      });
      await store.migrate({ clusterDomain: 'cluster.local' });
      expect(await stateOf()).toMatchObject({
        'outbound|9080||reviews.shop.svc.cluster.local': 'in-mesh',
        'outbound|8080||cart.shop.svc.corp.internal': 'allowed',
      });
      const got = await store.query<{
        state: string;
        destination_host: string;
        destination_port: number;
        timed_out: number;
      }>(
        "SELECT state, destination_host, destination_port, timed_out FROM egress_requests WHERE upstream_cluster NOT LIKE '%corp.internal' ORDER BY upstream_cluster",
      );
      expect(got).toEqual([
        { state: 'blocked', destination_host: '203.0.113.5', destination_port: 443, timed_out: 0 },
        { state: 'passthrough', destination_host: 'api.example.com', destination_port: 443, timed_out: 0 },
        { state: 'allowed', destination_host: 'pay.example.com', destination_port: 443, timed_out: 0 },
        { state: 'allowed', destination_host: 'slow.example.com', destination_port: 80, timed_out: 1 },
        {
          state: 'in-mesh',
          destination_host: 'reviews.shop.svc.cluster.local',
          destination_port: 9080,
          timed_out: 0,
        },
      ]);
    } finally {
      await store.close();
      rmSync(viewDir, { recursive: true, force: true });
      session = new Session(dir);
    }
  });
});

describe('the cluster flag', () => {
  it('--clickhouse-cluster fills clickhouse.cluster with the default Keeper paths', () => {
    const config = configFromFlags({ 'clickhouse-url': 'http://ch:8123', 'clickhouse-cluster': 'fleet' });
    expect(config.clickhouse).toMatchObject({
      cluster: 'fleet',
      ...{ replicaPath: DEFAULT_CLUSTER_PATHS.replicaPath },
    });
  });

  it('refuses a cluster without a server URL, naming the setting', () => {
    expect(() => configFromFlags({ 'clickhouse-cluster': 'fleet' })).toThrow(/clickhouse\.url/);
  });

  it('refuses a cluster name that could not be in remote_servers', () => {
    expect(() =>
      configFromFlags({ 'clickhouse-url': 'http://ch:8123', 'clickhouse-cluster': "x' y" }),
    ).toThrow(/clickhouse\.cluster/);
  });
});

describe('recording a migration', () => {
  it('records a version once however many instances record it (deduplication token)', async () => {
    await session.queryAsync(migrationsTableStatement({}), { format: 'TSV' });
    for (let i = 0; i < 3; i++)
      await session.queryAsync(recordMigrationStatement(MIGRATIONS[0]!), { format: 'TSV' });
    const r = await session.queryAsync('SELECT count() AS n FROM schema_migrations WHERE version = 1', {
      format: 'JSONEachRow',
    });
    expect(JSON.parse(r.text())).toEqual({ n: 1 });
  });
});
