/**
 * The engine's part of the readiness report (readiness-report.ts): one scan that counts each namespace's
 * requests by kind and lists the destinations not yet allowed, and the follow-up queries that break some of them
 * down per namespace. Every value reaches the SQL as a bound parameter.
 */
import { ALLOWED_EXTERNAL_BY_DOMAIN_SQL } from '../shared/cluster-domain.js';
import {
  BLOCKED_SQL,
  HOST_SQL,
  IS_IP_SQL,
  IS_LINK_LOCAL_SQL,
  PASSTHROUGH_SQL,
} from '../shared/traffic-sql.js';
import { WINDOW_SQL } from '../shared/window.js';

const FILTER = `${WINDOW_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})`;

/** Rows to bare IPs that are not link-local: admitted by an IP or network entry, counted without a plan. */
const PLAIN_IP_SQL = `(NOT {list_ips:UInt8} AND upstream_cluster NOT LIKE 'outbound|%' AND ${IS_IP_SQL('dst_host')}
  AND NOT ${IS_LINK_LOCAL_SQL('dst_host')})`;

/** Which part of the answer a row of the window is: reached through a ServiceEntry, a plain IP, or examined. */
const KIND_SQL = `multiIf(NOT (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL}), 'allowed', ${PLAIN_IP_SQL}, 'plain', 'examined')`;

/**
 * One scan of the window, two groupings (GROUPING SETS): the examined destinations, one row each (host, port),
 * the most requested first up to `max`, with how many there are in all; and per namespace the requests of each
 * kind. A destination's requests per namespace are not grouped here (namespaces × destinations groups): only
 * some destinations need them (breakdownSql).
 */
export const SCAN_QUERY = `
SELECT kind, namespace, host, port, any(ip) AS ip, count() AS requests,
  countIf(method != '') AS http_requests, countIf(requested_server_name != '') AS tls_with_sni,
  grouping(namespace) = 1 AS is_destination,
  countIf(is_destination) OVER () AS destinations
FROM (
  SELECT ${KIND_SQL} AS kind, k8s_namespace AS namespace,
    if(kind = 'examined', ${HOST_SQL}, '') AS host, if(kind = 'examined', dst_port, 0) AS port,
    dst_ip AS ip, method, requested_server_name
  FROM access_log
  WHERE ${FILTER} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL}))
GROUP BY GROUPING SETS ((kind, host, port), (kind, namespace))
HAVING NOT is_destination OR kind = 'examined'
ORDER BY is_destination, requests DESC, host, port
LIMIT {max:UInt32} BY is_destination, if(is_destination, '', concat(kind, '/', namespace))`;

/** The examined rows' namespace and destination, where `also` holds. */
const examinedSql = (
  also = 'true',
) => `SELECT k8s_namespace AS namespace, ${HOST_SQL} AS host, dst_port AS port
  FROM access_log
  WHERE ${also} AND ${FILTER} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL}) AND NOT ${PLAIN_IP_SQL}`;

/** The destinations given as two arrays of the same length, `<name>_hosts` and `<name>_ports`, as a set. */
const destinationSet = (name: string) => `(
  SELECT tupleElement(d, 1), tupleElement(d, 2)
  FROM (SELECT arrayJoin(arrayZip({${name}_hosts:Array(String)}, {${name}_ports:Array(UInt16)})) AS d))`;

/**
 * Per namespace, the requests to the `summed` destinations (one sum, `blocked` false) and to each destination
 * nothing can admit (one row each). When the destinations carry a small share of the
 * requests, the rows are first narrowed by their dst_host (a key column, LowCardinality, most often the host);
 * when they carry most of them, the rows are first counted per namespace and destination, so that each group,
 * not each row, is looked up in the sets.
 */
export function breakdownSql(narrowFirst: boolean): string {
  const examined = narrowFirst
    ? `SELECT namespace, host, port, 1 AS n
    FROM (${examinedSql(`(dst_host IN {prefilter_hosts:Array(String)} OR upstream_cluster LIKE 'outbound|%')`)})`
    : `SELECT namespace, host, port, count() AS n FROM (${examinedSql()}) GROUP BY namespace, host, port`;
  return `
SELECT namespace, blocked, if(blocked, host, '') AS block_host, if(blocked, port, 0) AS block_port, sum(n) AS requests
FROM (
  SELECT namespace, host, port, n, (host, port) IN ${destinationSet('blocked')} AS blocked
  FROM (${examined})
  WHERE blocked OR (host, port) IN ${destinationSet('summed')})
GROUP BY namespace, blocked, block_host, block_port`;
}

/** Up to this share of the examined requests, the breakdown narrows the rows by host first. */
export const NARROW_FIRST_SHARE = 0.25;

/**
 * Past `max` destinations, how many requests each namespace sent to the `max` examined ones (the rest are not
 * examined): the same ranking as SCAN_QUERY's, in the engine.
 */
export const EXAMINED_PER_NAMESPACE_QUERY = `
SELECT namespace, count() AS requests
FROM (${examinedSql()})
WHERE (host, port) IN (
  SELECT host, port FROM (${examinedSql()}) GROUP BY host, port ORDER BY count() DESC, host, port LIMIT {max:UInt32})
GROUP BY namespace`;

export interface ScanRow {
  kind: 'allowed' | 'plain' | 'examined';
  namespace: string;
  host: string;
  port: number;
  ip: string;
  requests: string | number;
  http_requests: string | number;
  tls_with_sni: string | number;
  is_destination: number | boolean;
  destinations: string | number;
}

export interface CountRow {
  namespace: string;
  requests: string | number;
}

export interface BreakdownRow extends CountRow {
  blocked: number | boolean;
  block_host: string;
  block_port: number;
}
