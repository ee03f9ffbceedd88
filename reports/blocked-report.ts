/**
 * What REGISTRY_ONLY denied, per destination and per source namespace/workload: counts, first/last seen, the
 * host name recovered for bare IPs, and (by the caller) the ServiceEntry that would allow it.
 */

import type { Store } from '../store/store.js';
import { isoTime } from './clickhouse-time.js';
import { type RecoveredName, recoverHostnames } from './hostname-recovery.js';
import { isIpLiteral } from './ip-literal.js';
import { BLOCKED_SQL } from './traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from './window.js';

export interface BlockedSource {
  namespace: string;
  workload: string;
  count: number;
}

export interface BlockedDestination {
  host: string;
  port: number;
  /** `http` for the 502 block_all response, `tcp` for BlackHoleCluster connections. */
  kind: 'http' | 'tcp';
  ip: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  sources: BlockedSource[];
  recovered?: RecoveredName;
  examplePaths: string[];
}

export interface BlockedReport {
  window: { since: string; until: string };
  total: number;
  destinations: BlockedDestination[];
  /** Bare IPs no name could be found for in the window. */
  unresolvedIps: string[];
}

const BLOCKED_QUERY = `
SELECT dst_host AS host, dst_port AS port, if(method != '', 'http', 'tcp') AS kind,
  k8s_namespace AS namespace, k8s_workload AS workload, any(dst_ip) AS ip,
  count() AS n, toString(min(start_time)) AS first_seen, toString(max(start_time)) AS last_seen,
  groupUniqArrayIf(3)(path, path != '') AS paths
FROM access_log
WHERE ${WINDOW_SQL} AND ${BLOCKED_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})
GROUP BY host, port, kind, namespace, workload
ORDER BY n DESC
LIMIT {limit:UInt32}`;

interface Row {
  host: string;
  port: number;
  kind: 'http' | 'tcp';
  namespace: string;
  workload: string;
  ip: string;
  n: number | string;
  first_seen: string;
  last_seen: string;
  paths: string[];
}

export async function blockedReport(
  store: Store,
  window: ReportWindow,
  opts: { namespace?: string; limit?: number } = {},
): Promise<BlockedReport> {
  const rows = await store.query<Row>(BLOCKED_QUERY, {
    params: { ...windowParams(window), namespace: opts.namespace ?? '', limit: opts.limit ?? 100_000 },
  });
  const byDest = new Map<string, BlockedDestination>();
  for (const r of rows) {
    const key = `${r.host}|${r.port}|${r.kind}`;
    let d = byDest.get(key);
    if (!d) {
      d = {
        host: r.host,
        port: Number(r.port),
        kind: r.kind,
        ip: r.ip,
        count: 0,
        firstSeen: isoTime(r.first_seen),
        lastSeen: isoTime(r.last_seen),
        sources: [],
        examplePaths: [],
      };
      byDest.set(key, d);
    }
    d.count += Number(r.n);
    if (isoTime(r.first_seen) < d.firstSeen) d.firstSeen = isoTime(r.first_seen);
    if (isoTime(r.last_seen) > d.lastSeen) d.lastSeen = isoTime(r.last_seen);
    d.sources.push({ namespace: r.namespace, workload: r.workload, count: Number(r.n) });
    for (const p of r.paths)
      if (d.examplePaths.length < 3 && !d.examplePaths.includes(p)) d.examplePaths.push(p);
  }
  const destinations = [...byDest.values()].sort((a, b) => b.count - a.count || a.host.localeCompare(b.host));
  const ips = destinations.filter((d) => isIpLiteral(d.host)).map((d) => d.host);
  const recovered = await recoverHostnames(store, window, [...new Set(ips)]);
  for (const d of destinations) {
    const r = recovered.get(d.host);
    if (r) d.recovered = r;
  }
  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    total: destinations.reduce((s, d) => s + d.count, 0),
    destinations,
    unresolvedIps: [...new Set(ips.filter((ip) => !recovered.has(ip)))].sort(),
  };
}
