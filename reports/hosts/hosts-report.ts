/** Every external destination in the window with its status: allowed by an entry, passthrough, or blocked. */

import type { Store } from '../../store/store.js';
import { isoTime } from '../shared/clickhouse-time.js';
import { ALLOWED_EXTERNAL_BY_DOMAIN_SQL, clusterDomainParam } from '../shared/cluster-domain.js';
import { type ListInfo, listInfo, type PageRequest, pageOf } from '../shared/page.js';
import { BLOCKED_SQL, HOST_SQL, PASSTHROUGH_SQL } from '../shared/traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from '../shared/window.js';

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
  toString(min(start_time)) AS first_seen, toString(max(start_time)) AS last_seen,
  count() OVER () AS total
FROM access_log
WHERE ${WINDOW_SQL} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL})
  AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})
GROUP BY host, port, status
HAVING ({search:String} = '' OR positionCaseInsensitiveUTF8(host, {search:String}) > 0)
  AND ({status:String} = '' OR status = {status:String})
  AND ({port:UInt16} = 0 OR port = {port:UInt16})
ORDER BY requests DESC, host, port, status
LIMIT {limit:UInt32} OFFSET {offset:UInt32}`;

/** Which destinations to list: the console's hosts view searches and filters through these. */
export interface HostFilter {
  namespace?: string;
  /** Part of the host name, any case. */
  search?: string;
  status?: HostStatus;
  port?: number;
  /** The mesh's cluster DNS domain: outbound clusters of names under it are in-mesh, not listed. */
  clusterDomain?: string;
}

export interface HostsReport extends ListInfo {
  window: { since: string; until: string };
  hosts: ExternalHost[];
}

export async function hostsReport(
  store: Store,
  window: ReportWindow,
  opts: HostFilter & PageRequest = {},
): Promise<HostsReport> {
  const page = pageOf(opts);
  const params = {
    ...windowParams(window),
    namespace: opts.namespace ?? '',
    search: opts.search ?? '',
    status: opts.status ?? '',
    port: opts.port ?? 0,
    ...page,
    ...clusterDomainParam(opts.clusterDomain),
  };
  const rows = await store.query<{
    host: string;
    port: number;
    status: HostStatus;
    requests: number | string;
    namespaces: string[];
    first_seen: string;
    last_seen: string;
    total: number | string;
  }>(HOSTS_QUERY, { params });
  const hosts = rows.map((r) => ({
    host: r.host,
    port: Number(r.port),
    status: r.status,
    requests: Number(r.requests),
    namespaces: r.namespaces,
    firstSeen: isoTime(r.first_seen),
    lastSeen: isoTime(r.last_seen),
  }));
  // An empty page (offset past the end) has no row to carry the total: count it without the page.
  const total = rows[0]
    ? Number(rows[0].total)
    : page.offset === 0
      ? 0
      : Number(
          (
            await store.query<{ total: number }>(HOSTS_QUERY, { params: { ...params, limit: 1, offset: 0 } })
          )[0]?.total ?? 0,
        );
  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    ...listInfo(page, hosts.length, total),
    hosts,
  };
}
