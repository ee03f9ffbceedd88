/**
 * Traffic that went to PassthroughCluster (ALLOW_ANY), per destination and port: what the ServiceEntry
 * suggestions are built from. One query does the work in the engine: it aggregates the window's rows per
 * destination, joins the names recovered for bare IPs (hostname-recovery.ts), and groups the IPs still
 * without a name by network (`cidr` / `cidr6` prefix) and port set. What comes back is bounded by the distinct
 * names and networks, not by the rows or the IPs.
 */

import type { Store } from '../../store/store.js';
import { isoTime } from '../shared/clickhouse-time.js';
import { ALLOWED_EXTERNAL_BY_DOMAIN_SQL, clusterDomainParam } from '../shared/cluster-domain.js';
import type { DestinationTraffic } from '../shared/destination.js';
import { MIN_RECOVERY_CONFIDENCE, recoverySql } from '../shared/hostname-recovery.js';
import {
  KEY_SETTINGS,
  NAMESPACE_KEY_SQL,
  type SourceNames,
  sourceNames,
  WORKLOAD_KEY_SQL,
} from '../shared/source-keys.js';
import { CLUSTER_HOST_SQL, IS_IP_SQL, PASSTHROUGH_SQL } from '../shared/traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from '../shared/window.js';

/** IPs without a name that share a network and a port set: one CIDR ServiceEntry (cidr-groups.ts). */
export interface IpGroup {
  /** `52.0.1.0/24` */
  cidr: string;
  family: 4 | 6;
  /** The ports every IP of the group was seen on, sorted. */
  ports: number[];
  /** Distinct IPs in the group. */
  ipCount: number;
  /** A few of them, sorted. */
  exampleIps: string[];
  /** One traffic row per port, `host` = the CIDR. */
  traffic: DestinationTraffic[];
}

export interface PassthroughTraffic {
  /** Named destinations (seen by name or recovered), and single unnamed IPs. */
  traffic: DestinationTraffic[];
  /** Unnamed IPs grouped by network and port set (two or more IPs each). */
  ipGroups: IpGroup[];
  /** How many distinct IPs stayed without a name (in groups or alone). */
  unresolvedIpCount: number;
  /** The single unnamed IPs, sorted (the grouped ones are in `ipGroups`). */
  unresolvedIps: string[];
}

const WHERE = `${PASSTHROUGH_SQL} AND ${WINDOW_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})`;

/** Rows whose destination is known only by IP: no SNI and no authority (see dst_host in store/schema.ts). */
const IP_ROWS_SQL = `SELECT dst_ip FROM access_log WHERE ${WHERE} AND requested_server_name = '' AND authority = ''`;

const BARE = `trim(BOTH '[]' FROM host)`;
const CIDR_SQL = `if(isIPv4String(${BARE}),
  concat(IPv4NumToString(tupleElement(IPv4CIDRToRange(toIPv4(${BARE}), {cidr_v4:UInt8}), 1)), '/', toString({cidr_v4:UInt8})),
  concat(IPv6NumToString(tupleElement(IPv6CIDRToRange(toIPv6(${BARE}), {cidr_v6:UInt8}), 1)), '/', toString({cidr_v6:UInt8})))`;

const PASSTHROUGH_QUERY = `
SELECT kind, key, port,
  sum(requests) AS requests, sum(bytes) AS bytes, sum(http_requests) AS http_requests,
  sum(tls_with_sni) AS tls_with_sni, sum(grpc_requests) AS grpc_requests,
  groupUniqArrayArray(50)(namespaces) AS namespace_keys,
  groupUniqArrayArray(50)(workloads) AS workload_keys,
  toString(min(first_seen)) AS first_seen, toString(max(last_seen)) AS last_seen,
  groupUniqArrayArray(5)(example_paths) AS example_paths,
  any(ip) AS ip, uniqExact(host) AS hosts, arraySort(groupUniqArray(5)(${BARE})) AS example_hosts,
  min(confidence) AS confidence, max(shared_by) AS shared_by, sum(observations) AS observations,
  max(recovered_seen) AS recovered_seen, any(ip_family) AS ip_family
FROM (
  SELECT d.*, r.rec_name AS recovered_name, r.rec_confidence AS confidence, r.rec_shared_by AS shared_by,
    r.rec_observations AS observations, r.rec_last_seen AS recovered_seen,
    ${IS_IP_SQL('d.host')} AS is_ip,
    multiIf(NOT is_ip, 'host', r.rec_confidence >= {min_confidence:Float64}, 'recovered', 'ip') AS kind,
    if(isIPv4String(${BARE}), 4, 6) AS ip_family,
    multiIf(kind = 'host', d.host, kind = 'recovered', r.rec_name,
      concat(${CIDR_SQL}, ' ', arrayStringConcat(arraySort(groupUniqArray(d.port) OVER (PARTITION BY d.host)), ','))) AS key
  FROM (
    SELECT dst_host AS host, dst_port AS port, any(dst_ip) AS ip,
      count() AS requests,
      sum(ifNull(bytes_sent, 0) + ifNull(bytes_received, 0)) AS bytes,
      countIf(method != '') AS http_requests,
      countIf(requested_server_name != '') AS tls_with_sni,
      countIf(method != '' AND protocol = 'HTTP/2' AND match(path, '^/[A-Za-z0-9_.]+/[A-Za-z0-9_]+$')) AS grpc_requests,
      groupUniqArrayIf(50)(${NAMESPACE_KEY_SQL}, k8s_namespace != '') AS namespaces,
      groupUniqArrayIf(50)(${WORKLOAD_KEY_SQL}, k8s_workload != '') AS workloads,
      min(start_time) AS first_seen, max(start_time) AS last_seen,
      groupUniqArrayIf(5)(path, path != '') AS example_paths
    FROM access_log
    WHERE ${WHERE}
    GROUP BY host, port
  ) AS d
  LEFT JOIN ${recoverySql(IP_ROWS_SQL)} AS r ON d.host = r.ip
)
GROUP BY kind, key, port
ORDER BY kind, key, port`;

interface Row {
  kind: 'host' | 'recovered' | 'ip';
  key: string;
  port: number;
  requests: number | string;
  bytes: number | string;
  http_requests: number | string;
  tls_with_sni: number | string;
  grpc_requests: number | string;
  namespace_keys: number[];
  workload_keys: number[];
  first_seen: string;
  last_seen: string;
  example_paths: string[];
  ip: string;
  hosts: number | string;
  example_hosts: string[];
  confidence: number;
  shared_by: number | string;
  observations: number | string;
  recovered_seen: string;
  ip_family: number;
}

export interface PassthroughOptions {
  namespace?: string;
  /** Network prefix lengths for grouping unnamed IPs (default /24 and /64). */
  cidrPrefix?: { v4?: number; v6?: number };
  /** The mesh's cluster DNS domain: its names are never recovered for an IP (default cluster.local). */
  clusterDomain?: string;
}

export async function passthroughTraffic(
  store: Store,
  window: ReportWindow,
  opts: PassthroughOptions = {},
): Promise<PassthroughTraffic> {
  const params = {
    ...windowParams(window),
    namespace: opts.namespace ?? '',
    cidr_v4: opts.cidrPrefix?.v4 ?? 24,
    cidr_v6: opts.cidrPrefix?.v6 ?? 64,
    min_confidence: MIN_RECOVERY_CONFIDENCE,
    ...clusterDomainParam(opts.clusterDomain),
  };
  const rows = await store.query<Row>(PASSTHROUGH_QUERY, { params, settings: KEY_SETTINGS });
  const names = await sourceNames(store, WHERE, params);
  const traffic: DestinationTraffic[] = [];
  const groups = new Map<string, IpGroup>();
  const singles = new Set<string>();
  let unresolvedIpCount = 0;
  for (const r of rows) {
    const t = toTraffic(r, names);
    if (r.kind === 'host') {
      traffic.push(t);
    } else if (r.kind === 'recovered') {
      const ips = Number(r.hosts);
      const from = r.example_hosts[0] ?? r.ip;
      t.recoveredFrom = {
        host: from,
        confidence: Number(r.confidence),
        note:
          `IP ${from}${ips > 1 ? ` and ${ips - 1} other IP(s)` : ''} seen as ${r.key} in ` +
          `${Number(r.observations)} named requests (${Number(r.shared_by)} name(s) share it; last ` +
          `${isoTime(r.recovered_seen)})`,
      };
      // Its counts stay what the logs show: these connections had no SNI (and no Host header), so they are
      // never counted as TLS with SNI, whatever the name's other traffic shows. They stay a row of their own
      // (with `recoveredFrom`), apart from the rows that named the host, so the warnings can tell whether the
      // host was also in this traffic by name.
      traffic.push(t);
    } else {
      const [cidr = '', portList = ''] = r.key.split(' ');
      const ipCount = Number(r.hosts);
      if (ipCount === 1) {
        // One IP in its network: the network is not suggested for it, the IP is.
        const ip = r.example_hosts[0]!;
        traffic.push({ ...t, host: ip });
        if (!singles.has(ip)) unresolvedIpCount++;
        singles.add(ip);
        continue;
      }
      let g = groups.get(r.key);
      if (!g) {
        g = {
          cidr,
          family: Number(r.ip_family) === 6 ? 6 : 4,
          ports: portList.split(',').map(Number),
          ipCount,
          exampleIps: r.example_hosts,
          traffic: [],
        };
        groups.set(r.key, g);
        unresolvedIpCount += ipCount;
      }
      g.traffic.push({ ...t, host: cidr });
    }
  }
  return { traffic, ipGroups: [...groups.values()], unresolvedIpCount, unresolvedIps: [...singles].sort() };
}

function toTraffic(r: Row, names: SourceNames): DestinationTraffic {
  return {
    host: r.key,
    port: Number(r.port),
    ip: r.ip || undefined,
    requests: Number(r.requests),
    bytes: Number(r.bytes),
    httpRequests: Number(r.http_requests),
    tlsWithSni: Number(r.tls_with_sni),
    grpcRequests: Number(r.grpc_requests),
    namespaces: names.namespaces(r.namespace_keys),
    workloads: names.workloads(r.workload_keys),
    firstSeen: isoTime(r.first_seen),
    lastSeen: isoTime(r.last_seen),
    examplePaths: r.example_paths,
  };
}

/** Hosts reached through ServiceEntry clusters in the window: registry entries with traffic are not unused. */
export async function allowedHosts(
  store: Store,
  window: ReportWindow,
  clusterDomain?: string,
): Promise<Set<string>> {
  const rows = await store.query<{ host: string }>(
    `SELECT DISTINCT ${CLUSTER_HOST_SQL} AS host FROM access_log WHERE ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL} AND ${WINDOW_SQL}`,
    { params: { ...windowParams(window), ...clusterDomainParam(clusterDomain) } },
  );
  return new Set(rows.map((r) => r.host).filter(Boolean));
}
