/**
 * The provisioned Grafana dashboard (deploy/grafana/dashboards/egresslens.json) against the real schema: every
 * panel's SQL and the namespace variable's query run on chDB over a day of mesh traffic, with the ClickHouse
 * data source's macros expanded as the plugin expands them, and answer rows.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { fluentBitBody, meshFixture } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

interface Panel {
  title: string;
  type: string;
  datasource: { uid: string };
  targets: Array<{ rawSql: string; datasource: { uid: string } }>;
}
const dashboard = JSON.parse(readFileSync('deploy/grafana/dashboards/egresslens.json', 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: Array<{ name: string; query: string; datasource: { uid: string } }> };
};
const datasources = parseYaml(
  readFileSync('deploy/grafana/provisioning/datasources/clickhouse.yaml', 'utf8'),
) as {
  datasources: Array<{ uid: string; type: string }>;
};

/** The macros as grafana-clickhouse-datasource expands them, for the last 24 h and every namespace. */
function expand(sql: string, namespaces: string[]): string {
  return sql
    .replace(/\$__timeFilter\((\w+)\)/g, '$1 >= now() - INTERVAL 1 DAY AND $1 <= now()')
    .replace(/\$__timeInterval\((\w+)\)/g, 'toStartOfInterval($1, INTERVAL 60 second)')
    .replace(/\$\{namespace:singlequote\}/g, namespaces.map((n) => `'${n}'`).join(','));
}

let served: ServedApp;
let store: ServedApp['store'];
const NOW = Date.now();

beforeAll(async () => {
  served = await startServedApp();
  store = served.store;
  const lines = meshFixture(NOW);
  await served.postFluentBit(fluentBitBody(lines, NOW));
  const counted = await store.query<{ n: number }>('SELECT count() AS n FROM access_log');
  expect(Number(counted[0]?.n)).toBe(lines.length);
});

afterAll(async () => {
  await served.close();
});

describe('the Grafana dashboard', () => {
  it('uses the provisioned ClickHouse data source everywhere', () => {
    const uid = datasources.datasources[0]!.uid;
    expect(datasources.datasources[0]!.type).toBe('grafana-clickhouse-datasource');
    for (const p of dashboard.panels) {
      expect(p.datasource.uid).toBe(uid);
      for (const t of p.targets) expect(t.datasource.uid).toBe(uid);
    }
    for (const v of dashboard.templating.list) expect(v.datasource.uid).toBe(uid);
  });

  it('the namespace variable lists the namespaces', async () => {
    const q = dashboard.templating.list.find((v) => v.name === 'namespace')!;
    const rows = await store.query<{ namespace: string }>(expand(q.query, []));
    expect(rows.map((r) => r.namespace)).toEqual(['billing', 'search', 'shop']);
  });

  it.each(dashboard.panels.map((p) => [p.title, p] as const))(
    'panel "%s" answers rows',
    async (_title, panel) => {
      for (const t of panel.targets) {
        const rows = await store.query(expand(t.rawSql, ['billing', 'search', 'shop']));
        expect(rows.length).toBeGreaterThan(0);
      }
    },
  );
});
