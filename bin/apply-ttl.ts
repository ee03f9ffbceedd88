/**
 * `--ttl-days` on a store that already exists: the tables were created with the TTL of their first start
 * (or none), so a new value is applied with ALTER TABLE … MODIFY TTL, only where it differs. On a cluster
 * the TTL lives on the Replicated local tables behind the Distributed ones, and is changed ON CLUSTER.
 */
import type { Store } from '../store/store.js';
import { localTableName, quoteIdentifier } from '../store/table-ddl.js';

/** Each table with a TTL and the column it counts from (store/schema.ts). */
const TTL_COLUMNS = { access_log: 'start_time', dead_letters: 'time' } as const;

/** The cluster a Distributed table spreads over: `Distributed('fleet', 'db', 't_local', …)` → fleet. */
function clusterOf(engineFull: string): string | undefined {
  return /^Distributed\('((?:[^'\\]|\\.)*)'/.exec(engineFull)?.[1];
}

/** Applies `days` to every table whose TTL differs; returns the tables changed. */
export async function applyTtl(store: Store, days: number): Promise<string[]> {
  const n = Math.floor(days);
  const names = Object.keys(TTL_COLUMNS);
  const rows = await store.query<{ name: string; engine_full: string }>(
    `SELECT name, engine_full FROM system.tables
     WHERE database = currentDatabase() AND name IN ({tables:Array(String)})`,
    { params: { tables: [...names, ...names.map(localTableName)] } },
  );
  const engines = new Map(rows.map((r) => [r.name, r.engine_full]));
  const changed: string[] = [];
  for (const [name, column] of Object.entries(TTL_COLUMNS)) {
    const engine = engines.get(name);
    if (engine === undefined) continue;
    const cluster = clusterOf(engine);
    const target = cluster ? localTableName(name) : name;
    const current = engines.get(target) ?? '';
    if (
      new RegExp(`TTL toDateTime\\(${column}\\) \\+ (toIntervalDay\\(${n}\\)|INTERVAL ${n} DAY)`).test(
        current,
      )
    )
      continue;
    const where = cluster ? `${target} ON CLUSTER ${quoteIdentifier(cluster)}` : target;
    await store.command(`ALTER TABLE ${where} MODIFY TTL toDateTime(${column}) + INTERVAL ${n} DAY`);
    changed.push(target);
  }
  return changed;
}
