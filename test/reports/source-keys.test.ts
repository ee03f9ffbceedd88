/**
 * Source keys on real chDB: the keys the engine collects for a destination name the namespaces and workloads
 * of its rows, and a key the window does not name is an error, never a made-up name.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KEY_SETTINGS,
  NAMESPACE_KEY_SQL,
  SourceKeyError,
  sourceNames,
  WORKLOAD_KEY_SQL,
} from '../../reports/shared/source-keys.js';
import { ChdbStore } from '../../store/chdb-store.js';

let dir: string;
let store: ChdbStore;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'egresslens-source-keys-'));
  store = ChdbStore.open(dir);
  await store.migrate();
  await store.command(`INSERT INTO access_log (start_time, upstream_cluster, downstream_local_address, k8s_namespace, k8s_workload)
    VALUES (now64(3), 'PassthroughCluster', '192.0.2.1:443', 'shop', 'checkout'),
           (now64(3), 'PassthroughCluster', '192.0.2.1:443', 'shop', 'cart'),
           (now64(3), 'PassthroughCluster', '192.0.2.1:443', 'billing', 'checkout'),
           (now64(3), 'PassthroughCluster', '192.0.2.2:443', 'search', '')`);
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const WHERE = `upstream_cluster = 'PassthroughCluster'`;

describe('source keys', () => {
  it('name what each destination collected, as the text columns would', async () => {
    const [row] = await store.query<{ ns: number[]; wl: number[] }>(
      `SELECT groupUniqArrayIf(${NAMESPACE_KEY_SQL}, k8s_namespace != '') AS ns,
        groupUniqArrayIf(${WORKLOAD_KEY_SQL}, k8s_workload != '') AS wl
       FROM access_log WHERE ${WHERE} AND dst_ip = '192.0.2.1'`,
      { settings: KEY_SETTINGS },
    );
    // Numbers a JS number holds exactly.
    for (const k of [...row!.ns, ...row!.wl]) expect(Number.isSafeInteger(k)).toBe(true);
    const names = await sourceNames(store, WHERE, {});
    expect(names.namespaces(row!.ns).sort()).toEqual(['billing', 'shop']);
    expect(names.workloads(row!.wl).sort()).toEqual(['billing/checkout', 'shop/cart', 'shop/checkout']);
  });

  it('a key without a name in the window is an error', async () => {
    const names = await sourceNames(store, `${WHERE} AND k8s_namespace = 'shop'`, {});
    const [search] = await store.query<{ k: number }>(
      `SELECT ${NAMESPACE_KEY_SQL.replace('k8s_namespace', `'search'`)} AS k`,
      { settings: KEY_SETTINGS },
    );
    expect(() => names.namespaces([search!.k])).toThrow(SourceKeyError);
  });
});
