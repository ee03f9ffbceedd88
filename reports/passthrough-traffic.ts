/**
 * Traffic that went to PassthroughCluster (ALLOW_ANY), per destination and port: what the ServiceEntry
 * suggestions are built from. Bare IPs are given the host name recovered for them when one is known.
 */

import type { Store } from '../store/store.js';
import { isoTime } from './clickhouse-time.js';
import type { DestinationTraffic } from './destination.js';
import { recoverHostnames } from './hostname-recovery.js';
import { isIpLiteral } from './ip-literal.js';
import { ALLOWED_EXTERNAL_SQL, CLUSTER_HOST_SQL, PASSTHROUGH_SQL } from './traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from './window.js';

const PASSTHROUGH_QUERY = `
SELECT dst_host AS host, dst_port AS port, any(dst_ip) AS ip,
  count() AS requests,
  sum(ifNull(bytes_sent, 0) + ifNull(bytes_received, 0)) AS bytes,
  countIf(method != '') AS http_requests,
  countIf(requested_server_name != '') AS tls_with_sni,
  countIf(method != '' AND protocol = 'HTTP/2' AND match(path, '^/[A-Za-z0-9_.]+/[A-Za-z0-9_]+$')) AS grpc_requests,
  groupUniqArrayIf(50)(k8s_namespace, k8s_namespace != '') AS namespaces,
  groupUniqArrayIf(50)(concat(k8s_namespace, '/', k8s_workload), k8s_workload != '') AS workloads,
  toString(min(start_time)) AS first_seen, toString(max(start_time)) AS last_seen,
  groupUniqArrayIf(5)(path, path != '') AS example_paths
FROM access_log
WHERE ${PASSTHROUGH_SQL} AND ${WINDOW_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})
GROUP BY host, port
ORDER BY requests DESC
LIMIT {limit:UInt32}`;

interface Row {
  host: string;
  port: number;
  ip: string;
  requests: number | string;
  bytes: number | string;
  http_requests: number | string;
  tls_with_sni: number | string;
  grpc_requests: number | string;
  namespaces: string[];
  workloads: string[];
  first_seen: string;
  last_seen: string;
  example_paths: string[];
}

/** Recovered names below this confidence leave the IP as it is (and it is reported as unresolved). */
const MIN_RECOVERY_CONFIDENCE = 0.5;

export async function passthroughTraffic(
  store: Store,
  window: ReportWindow,
  opts: { namespace?: string; limit?: number } = {},
): Promise<{ traffic: DestinationTraffic[]; unresolvedIps: string[] }> {
  const rows = await store.query<Row>(PASSTHROUGH_QUERY, {
    params: { ...windowParams(window), namespace: opts.namespace ?? '', limit: opts.limit ?? 10_000 },
  });
  const ips = [...new Set(rows.filter((r) => isIpLiteral(r.host)).map((r) => r.host))];
  const recovered = await recoverHostnames(store, window, ips);
  const merged = new Map<string, DestinationTraffic>();
  const unresolved = new Set<string>();
  for (const r of rows) {
    let host = r.host;
    let recoveredFrom: DestinationTraffic['recoveredFrom'];
    if (isIpLiteral(host)) {
      const name = recovered.get(host);
      if (name && name.confidence >= MIN_RECOVERY_CONFIDENCE) {
        recoveredFrom = {
          host,
          confidence: name.confidence,
          note: `IP ${host} was seen as ${name.host} in ${name.observations} named requests (${name.sharedBy} name(s) share it; last ${name.lastSeen})`,
        };
        host = name.host;
      } else {
        unresolved.add(host);
      }
    }
    const t: DestinationTraffic = {
      host,
      port: Number(r.port),
      ip: r.ip || undefined,
      requests: Number(r.requests),
      bytes: Number(r.bytes),
      httpRequests: Number(r.http_requests),
      tlsWithSni: Number(r.tls_with_sni),
      grpcRequests: Number(r.grpc_requests),
      namespaces: r.namespaces,
      workloads: r.workloads,
      firstSeen: isoTime(r.first_seen),
      lastSeen: isoTime(r.last_seen),
      examplePaths: r.example_paths,
      recoveredFrom,
    };
    const key = `${host}|${t.port}`;
    const prev = merged.get(key);
    merged.set(key, prev ? mergeTraffic(prev, t) : t);
  }
  return { traffic: [...merged.values()], unresolvedIps: [...unresolved].sort() };
}

function mergeTraffic(a: DestinationTraffic, b: DestinationTraffic): DestinationTraffic {
  return {
    ...a,
    requests: a.requests + b.requests,
    bytes: a.bytes + b.bytes,
    httpRequests: a.httpRequests + b.httpRequests,
    // A recovered IP connection is TLS to the host whose SNI named it.
    tlsWithSni: a.tlsWithSni + b.tlsWithSni + (b.recoveredFrom && b.httpRequests === 0 ? b.requests : 0),
    grpcRequests: a.grpcRequests + b.grpcRequests,
    namespaces: [...new Set([...a.namespaces, ...b.namespaces])],
    workloads: [...new Set([...a.workloads, ...b.workloads])],
    firstSeen: [a.firstSeen, b.firstSeen].sort()[0]!,
    lastSeen: [a.lastSeen, b.lastSeen].sort()[1]!,
    examplePaths: [...new Set([...a.examplePaths, ...b.examplePaths])].slice(0, 5),
    recoveredFrom: a.recoveredFrom ?? b.recoveredFrom,
  };
}

/** Hosts reached through ServiceEntry clusters in the window: registry entries with traffic are not unused. */
export async function allowedHosts(store: Store, window: ReportWindow): Promise<Set<string>> {
  const rows = await store.query<{ host: string }>(
    `SELECT DISTINCT ${CLUSTER_HOST_SQL} AS host FROM access_log WHERE ${ALLOWED_EXTERNAL_SQL} AND ${WINDOW_SQL}`,
    { params: windowParams(window) },
  );
  return new Set(rows.map((r) => r.host).filter(Boolean));
}
