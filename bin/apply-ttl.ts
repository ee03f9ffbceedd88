/**
 * `--ttl-days` on a store that already exists: the tables were created with the TTL of their first start
 * (or none), so a new value is applied with ALTER TABLE … MODIFY TTL, only where it differs.
 */
import type { Store } from '../store/store.js';

/** Each table with a TTL and the column it counts from (store/schema.ts). */
const TTL_COLUMNS = { access_log: 'start_time', dead_letters: 'time' } as const;

/** Applies `days` to every table whose TTL differs; returns the tables changed. */
export async function applyTtl(store: Store, days: number): Promise<string[]> {
  const n = Math.floor(days);
  const rows = await store.query<{ name: string; engine_full: string }>(
    `SELECT name, engine_full FROM system.tables
     WHERE database = currentDatabase() AND name IN ({tables:Array(String)})`,
    { params: { tables: Object.keys(TTL_COLUMNS) } },
  );
  const changed: string[] = [];
  for (const { name, engine_full } of rows) {
    const column = TTL_COLUMNS[name as keyof typeof TTL_COLUMNS];
    if (
      new RegExp(`TTL toDateTime\\(${column}\\) \\+ (toIntervalDay\\(${n}\\)|INTERVAL ${n} DAY)`).test(
        engine_full,
      )
    )
      continue;
    await store.command(`ALTER TABLE ${name} MODIFY TTL toDateTime(${column}) + INTERVAL ${n} DAY`);
    changed.push(name);
  }
  return changed;
}
