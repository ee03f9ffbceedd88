/**
 * REGISTRY_ONLY logs of TLS/TCP without SNI show only an IP, and ALLOW_ANY pass-through TLS usually has no
 * SNI either. The same IP often appears elsewhere in the window with a name: HTTP authority, SNI, or an
 * `outbound|443||host` cluster. Each IP maps to the names seen with it, with a confidence: the share of
 * named observations the best name has (a CDN address shared by many hosts scores low), and how recent.
 *
 * In-mesh rows (`outbound|…|*.svc.<cluster domain>` clusters) are not read: their IPs are service addresses,
 * never an external destination's, and skipping them (the table is sorted by cluster first) halves the rows
 * read. Names in the mesh's cluster domain are never recovered names either (cluster-domain.ts).
 *
 * The recovery is a subquery the reports join to: the IPs to name come from another subquery over the same
 * window, so the work follows the rows scanned, and no list of IPs travels between the engine and JS.
 */

import { IN_MESH_NAME_SQL } from './cluster-domain.js';
import { CLUSTER_HOST_SQL, IS_IP_SQL } from './traffic-sql.js';
import { WINDOW_SQL } from './window.js';

export interface RecoveredName {
  ip: string;
  host: string;
  /** 0..1: the best name's share of the named observations of this IP. */
  confidence: number;
  /** How many distinct names this IP was seen with. */
  sharedBy: number;
  observations: number;
  lastSeen: string;
}

/** Recovered names below this confidence leave the IP as it is (and it is reported as unresolved). */
export const MIN_RECOVERY_CONFIDENCE = 0.5;

/** The name a row carries for its destination IP ('' when none). */
const ROW_NAME_SQL = `lower(multiIf(requested_server_name != '', requested_server_name,
  authority != '', replaceRegexpOne(authority, ':[0-9]+$', ''),
  ${CLUSTER_HOST_SQL}))`;

/**
 * A subquery with columns `ip, rec_name, rec_confidence, rec_shared_by, rec_observations, rec_last_seen` (one row per IP of
 * `ipsSql` that was seen with a name in the window). The best name is the most observed (ties: the first by
 * name); `last_seen` is when that name was last seen. Uses the window parameters and `cluster_domain`
 * (`clusterDomainParam`).
 */
export function recoverySql(ipsSql: string): string {
  return `(
  SELECT ip,
    argMin(name, (-toInt64(n), name)) AS rec_name,
    round(max(n) / sum(n), 2) AS rec_confidence,
    count() AS rec_shared_by,
    sum(n) AS rec_observations,
    toString(argMin(seen, (-toInt64(n), name))) AS rec_last_seen
  FROM (
    SELECT ip, ${ROW_NAME_SQL} AS name, count() AS n, max(start_time) AS seen
    FROM (
      SELECT dst_ip AS ip, requested_server_name, authority, upstream_cluster, start_time
      FROM access_log
      PREWHERE ${WINDOW_SQL}
        AND (requested_server_name != '' OR authority != '' OR upstream_cluster LIKE 'outbound|%')
        AND NOT endsWith(upstream_cluster, concat('.svc.', {cluster_domain:String}))
      WHERE dst_ip IN (${ipsSql})
    )
    GROUP BY ip, name
    HAVING name != '' AND NOT ${IS_IP_SQL('name')} AND NOT ${IN_MESH_NAME_SQL('name')}
  )
  GROUP BY ip)`;
}
