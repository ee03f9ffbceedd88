/**
 * What REGISTRY_ONLY denied, per destination and per source namespace/workload: counts, first/last seen, the
 * host name recovered for bare IPs, and (by the caller) the ServiceEntry that would allow it.
 *
 * One query: the engine groups the window's denials per destination, counts them all (`total`), sorts and cuts
 * the page, and joins the names recovered for the bare IPs among the window's denials; JS only shapes the page.
 */

import type { Store } from '../../store/store.js';
import { isoTime } from '../shared/clickhouse-time.js';
import { clusterDomainParam } from '../shared/cluster-domain.js';
import { type RecoveredName, recoverySql } from '../shared/hostname-recovery.js';
import { isIpLiteral } from '../shared/ip-literal.js';
import { type ListInfo, listInfo, type PageRequest, pageOf } from '../shared/page.js';
import { BLOCKED_SQL, IS_IP_SQL } from '../shared/traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from '../shared/window.js';

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
  /** The busiest sources (at most MAX_SOURCES); `sourceCount` says how many there were. */
  sources: BlockedSource[];
  sourceCount: number;
  recovered?: RecoveredName;
  examplePaths: string[];
}

export interface BlockedReport extends ListInfo {
  window: { since: string; until: string };
  /** Denied requests and connections, over every destination (not only this page). */
  requests: number;
  destinations: BlockedDestination[];
  /** Bare IPs on this page no name could be found for in the window. */
  unresolvedIps: string[];
}

/** Sources listed per destination; the rest are counted in `sourceCount`. */
export const MAX_SOURCES = 20;

const WHERE = `${WINDOW_SQL} AND ${BLOCKED_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})`;

/** The destinations of the window's denials, busiest first: one row each, with the totals over all of them. */
const DESTINATIONS_SQL = `
  SELECT dst_host AS host, dst_port AS port, if(method != '', 'http', 'tcp') AS kind, any(dst_ip) AS ip,
    count() AS count, toString(min(start_time)) AS first_seen, toString(max(start_time)) AS last_seen,
    groupUniqArrayIf(3)(path, path != '') AS paths,
    count() OVER () AS total, sum(count()) OVER () AS total_requests
  FROM access_log
  WHERE ${WHERE}
  GROUP BY host, port, kind
  ORDER BY count DESC, host, port, kind
  LIMIT {limit:UInt32} OFFSET {offset:UInt32}`;

// The page first; then the sources of the page's destinations only (dst_host is in the table's sort key, so
// the engine reads only their granules), and the names of the page's bare IPs. Grouping every destination by
// every source would multiply the groups by the sources per destination.
const BLOCKED_QUERY = `
SELECT p.host AS host, p.port AS port, p.kind AS kind, p.ip AS ip, p.count AS count, p.first_seen AS first_seen,
  p.last_seen AS last_seen, p.paths AS paths, p.total AS total, p.total_requests AS total_requests,
  s.sources AS sources, s.source_count AS source_count,
  r.rec_name AS rec_name, r.rec_confidence AS rec_confidence, r.rec_shared_by AS rec_shared_by,
  r.rec_observations AS rec_observations, r.rec_last_seen AS rec_last_seen
FROM (${DESTINATIONS_SQL}) AS p
LEFT JOIN (
  SELECT host, port, kind,
    arraySlice(arraySort(x -> (-toInt64(x.3), x.1, x.2), groupArray((namespace, workload, n))), 1, ${MAX_SOURCES}) AS sources,
    count() AS source_count
  FROM (
    SELECT dst_host AS host, dst_port AS port, if(method != '', 'http', 'tcp') AS kind,
      k8s_namespace AS namespace, k8s_workload AS workload, count() AS n
    FROM access_log
    WHERE ${WHERE} AND dst_host IN (SELECT host FROM (${DESTINATIONS_SQL}))
    GROUP BY host, port, kind, namespace, workload
  )
  GROUP BY host, port, kind
) AS s ON p.host = s.host AND p.port = s.port AND p.kind = s.kind
LEFT JOIN ${recoverySql(`SELECT host FROM (${DESTINATIONS_SQL}) WHERE ${IS_IP_SQL('host')}`)} AS r ON p.host = r.ip
ORDER BY count DESC, host, port, kind`;

interface Row {
  host: string;
  port: number;
  kind: 'http' | 'tcp';
  ip: string;
  count: number | string;
  first_seen: string;
  last_seen: string;
  sources: Array<[string, string, number | string]>;
  source_count: number | string;
  paths: string[];
  total: number | string;
  total_requests: number | string;
  rec_name: string;
  rec_confidence: number;
  rec_shared_by: number | string;
  rec_observations: number | string;
  rec_last_seen: string;
}

export async function blockedReport(
  store: Store,
  window: ReportWindow,
  opts: { namespace?: string; clusterDomain?: string } & PageRequest = {},
): Promise<BlockedReport> {
  const page = pageOf(opts);
  const params = {
    ...windowParams(window),
    namespace: opts.namespace ?? '',
    ...page,
    ...clusterDomainParam(opts.clusterDomain),
  };
  const rows = await store.query<Row>(BLOCKED_QUERY, { params });
  const destinations = rows.map((r): BlockedDestination => {
    const d: BlockedDestination = {
      host: r.host,
      port: Number(r.port),
      kind: r.kind,
      ip: r.ip,
      count: Number(r.count),
      firstSeen: isoTime(r.first_seen),
      lastSeen: isoTime(r.last_seen),
      sources: r.sources.map(([namespace, workload, n]) => ({ namespace, workload, count: Number(n) })),
      sourceCount: Number(r.source_count),
      examplePaths: r.paths,
    };
    if (r.rec_name) {
      d.recovered = {
        ip: r.host,
        host: r.rec_name,
        confidence: Number(r.rec_confidence),
        sharedBy: Number(r.rec_shared_by),
        observations: Number(r.rec_observations),
        lastSeen: isoTime(r.rec_last_seen),
      };
    }
    return d;
  });
  // An empty page (offset past the end) has no row to carry the totals: count them on their own.
  const first =
    rows[0] ??
    (page.offset > 0
      ? (await store.query<Row>(BLOCKED_QUERY, { params: { ...params, limit: 1, offset: 0 } }))[0]
      : undefined);
  const [total, requests] = first ? [Number(first.total), Number(first.total_requests)] : [0, 0];
  const unresolved = destinations.filter((d) => !d.recovered && isIpLiteral(d.host)).map((d) => d.host);
  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    ...listInfo(page, destinations.length, total),
    requests,
    destinations,
    unresolvedIps: [...new Set(unresolved)].sort(),
  };
}
