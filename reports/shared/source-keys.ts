/**
 * Source namespaces and workloads collected per destination as 64-bit keys instead of text. `k8s_namespace` and
 * `k8s_workload` are LowCardinality columns, so the engine hashes each distinct value once (per dictionary), not
 * once per row, and the per-destination sets hold 8-byte numbers instead of strings (the high-cardinality bench
 * set has 60k destinations × tens of workloads each). A second, small query lists the keys'
 * names (one row per distinct namespace/workload pair in the window), and JS maps the keys back. A key that
 * two names share (a collision) is an error, never a wrong name.
 *
 * Keys are cut to 53 bits, the integers a JS number holds exactly, so that they travel as JSON numbers
 * (KEY_SETTINGS) and are parsed without a string per key; a 53-bit collision among a mesh's workloads is still
 * far less likely than one in a million.
 */
import type { Store } from '../../store/store.js';

const KEY_BITS = '0x1FFFFFFFFFFFFF';

/** The key of a row's source namespace. */
export const NAMESPACE_KEY_SQL = `bitAnd(cityHash64(k8s_namespace), ${KEY_BITS})`;
/** The key of a row's source workload (`namespace/workload`). */
export const WORKLOAD_KEY_SQL = `bitAnd(cityHash64(k8s_namespace) * 1000003 + cityHash64(k8s_workload), ${KEY_BITS})`;

/** Query settings that write the keys (UInt64 below 2^53) as JSON numbers, not quoted text. */
export const KEY_SETTINGS = { output_format_json_quote_64bit_integers: 0 } as const;

export class SourceKeyError extends Error {
  override name = 'SourceKeyError';
}

export interface SourceNames {
  namespaces: (keys: readonly number[]) => string[];
  workloads: (keys: readonly number[]) => string[];
}

/**
 * The names of the keys of the rows `whereSql` selects (the same filter, and so the same parameters, as the
 * query that collected the keys).
 */
export async function sourceNames(
  store: Store,
  whereSql: string,
  params: Record<string, unknown>,
): Promise<SourceNames> {
  const rows = await store.query<{ ns_key: number; wl_key: number; ns: string; wl: string }>(
    `SELECT ${NAMESPACE_KEY_SQL.replaceAll('k8s_namespace', 'ns')} AS ns_key,
  ${WORKLOAD_KEY_SQL.replaceAll('k8s_namespace', 'ns').replaceAll('k8s_workload', 'wl')} AS wl_key, ns, wl
FROM (SELECT k8s_namespace AS ns, k8s_workload AS wl FROM access_log WHERE ${whereSql} GROUP BY ns, wl)`,
    { params, settings: KEY_SETTINGS },
  );
  const namespaces = new Map<number, string>();
  const workloads = new Map<number, string>();
  const add = (map: Map<number, string>, key: number, name: string) => {
    const prev = map.get(key);
    if (prev !== undefined && prev !== name)
      throw new SourceKeyError(`source key ${key} stands for both ${prev} and ${name}`);
    map.set(key, name);
  };
  for (const r of rows) {
    add(namespaces, r.ns_key, r.ns);
    add(workloads, r.wl_key, `${r.ns}/${r.wl}`);
  }
  const resolve = (map: Map<number, string>, keys: readonly number[]) =>
    keys.map((k) => {
      const name = map.get(k);
      if (name === undefined) throw new SourceKeyError(`source key ${k} has no name in the window`);
      return name;
    });
  return {
    namespaces: (keys) => resolve(namespaces, keys),
    workloads: (keys) => resolve(workloads, keys),
  };
}
