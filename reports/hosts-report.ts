/** Every external destination in the window with its status: allowed by an entry, passthrough, or blocked. */

import type { Store } from '../store/store.js';
import { isoTime } from './clickhouse-time.js';
import { ALLOWED_EXTERNAL_SQL, BLOCKED_SQL, HOST_SQL, PASSTHROUGH_SQL } from './traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from './window.js';

export type HostStatus = 'allowed' | 'passthrough' | 'blocked';

export interface ExternalHost {
  host: string;
  port: number;
  status: HostStatus;
  requests: number;
  namespaces: string[];
  firstSeen: string;
  lastSeen: string;
}

const HOSTS_QUERY = `
SELECT ${HOST_SQL} AS host, dst_port AS port,
  multiIf(${PASSTHROUGH_SQL}, 'passthrough', ${BLOCKED_SQL}, 'blocked', 'allowed') AS status,
  count() AS requests,
  groupUniqArrayIf(20)(k8s_namespace, k8s_namespace != '') AS namespaces,
  toString(min(start_time)) AS first_seen, toString(max(start_time)) AS last_seen
FROM access_log
WHERE ${WINDOW_SQL} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_SQL})
  AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})
GROUP BY host, port, status
ORDER BY requests DESC
LIMIT {limit:UInt32}`;

export async function hostsReport(
  store: Store,
  window: ReportWindow,
  opts: { namespace?: string; limit?: number } = {},
): Promise<ExternalHost[]> {
  const rows = await store.query<{
    host: string;
    port: number;
    status: HostStatus;
    requests: number | string;
    namespaces: string[];
    first_seen: string;
    last_seen: string;
  }>(HOSTS_QUERY, {
    params: { ...windowParams(window), namespace: opts.namespace ?? '', limit: opts.limit ?? 10_000 },
  });
  return rows.map((r) => ({
    host: r.host,
    port: Number(r.port),
    status: r.status,
    requests: Number(r.requests),
    namespaces: r.namespaces,
    firstSeen: isoTime(r.first_seen),
    lastSeen: isoTime(r.last_seen),
  }));
}
