/**
 * A high-cardinality access_log, as a real mesh produces: cloud services behind rotating IPs, per-tenant SaaS
 * subdomains, databases by IP. Generated inside ClickHouse (INSERT … SELECT FROM numbers), all rows inside the
 * last 23 h so the default 24 h window sees all of them. Row i belongs to a class by i % 100, and to a
 * destination of that class by intDiv(i, 100) % (destinations of the class):
 *   0–37 mesh · 38–47 allowed by ServiceEntries (40 hosts) · 48–55 passthrough HTTP (HIGH.httpHosts)
 *   56–61 passthrough TLS with SNI (HIGH.sniHosts) · 62–77 passthrough TLS/TCP to bare IPs (HIGH.ips, in /24s
 *   of 200, port 5432 for every fifth /24, else 443) · 78–84 blocked HTTP (HIGH.blockedHosts)
 *   85–89 blocked TCP to bare IPs (HIGH.blockedIps; every fourth is also the IP of an SNI host, so a name is
 *   recoverable for it)
 *   90–94 route timeouts (HIGH.timeoutHosts) · 95–99 slow successes to the same hosts
 */
import type { Store } from '../store/store.js';

export const HIGH = {
  httpHosts: 5_000,
  sniHosts: 3_000,
  ips: 60_000,
  blockedHosts: 20_000,
  blockedIps: 8_000,
  timeoutHosts: 2_000,
} as const;

/** Rows needed for every destination of every class to appear at least once. */
export const HIGH_MIN_ROWS = 100 * HIGH.ips;

const SPAN_MS = 23 * 3_600_000;

function sql(total: number, endMs: number, from: number, count: number): string {
  const stepMs = SPAN_MS / total;
  const startMs = endMs - SPAN_MS;
  return `
INSERT INTO access_log (start_time, method, path, protocol, response_code, response_flags, response_code_details,
  bytes_received, bytes_sent, duration, upstream_service_time, user_agent, request_id, authority,
  upstream_cluster, downstream_local_address, upstream_host, downstream_remote_address, requested_server_name, route_name,
  format, source, k8s_namespace, k8s_pod, k8s_workload)
SELECT
  fromUnixTimestamp64Milli(toInt64(${startMs} + number * ${stepMs})) AS start_time,
  if(c < 38 OR c >= 48 AND c < 56 OR c >= 78 AND c < 85 OR c >= 90, 'GET', '') AS method,
  if(method = '', '', concat('/api/v', toString(number % 3), '/items')) AS path,
  if(method = '', '', 'HTTP/1.1') AS protocol,
  multiIf(c >= 78 AND c < 85, 502, c >= 85 AND c < 90, 0, c >= 90 AND c < 95, 504, method = '', 0, 200) AS response_code,
  multiIf(c >= 85 AND c < 90, 'UH', c >= 90 AND c < 95, 'UT', '') AS response_flags,
  multiIf(c >= 78 AND c < 85, 'direct_response', c >= 90 AND c < 95, 'response_timeout', method != '', 'via_upstream', '') AS response_code_details,
  number % 900 AS bytes_received,
  (number * 7) % 90000 AS bytes_sent,
  toUInt32(multiIf(c >= 90 AND c < 95, 3000 + number % 10, c >= 95, 1500 + number % 1400, c >= 85 AND c < 90, number % 9, 1 + number % 400)) AS duration,
  if(method != '' AND c < 78, duration, NULL) AS upstream_service_time,
  'curl/8.8.0' AS user_agent,
  if(method != '', hex(cityHash64(number)), '') AS request_id,
  multiIf(c < 38, concat('svc', toString(number % 6), '.shop:9080'),
          c >= 48 AND c < 56, concat('t', toString(k % ${HIGH.httpHosts}), '.p', toString(k % ${HIGH.httpHosts} % 500), '.saas-tenants.com'),
          c >= 78 AND c < 85, concat('b', toString(k % ${HIGH.blockedHosts}), '.g', toString(k % ${HIGH.blockedHosts} % 2000), '.blocked.org'),
          c >= 90, concat('slow', toString(k % ${HIGH.timeoutHosts}), '.v', toString(k % ${HIGH.timeoutHosts} % 100), '.vendor.io'), '') AS authority,
  multiIf(c < 38, concat('outbound|9080||svc', toString(number % 6), '.shop.svc.cluster.local'),
          c < 48, concat('outbound|443||ext', toString(number % 40), '.example.com'),
          c < 78, 'PassthroughCluster',
          c < 85, '',
          c < 90, 'BlackHoleCluster',
          concat('outbound|80||slow', toString(k % ${HIGH.timeoutHosts}), '.v', toString(k % ${HIGH.timeoutHosts} % 100), '.vendor.io')) AS upstream_cluster,
  multiIf(c < 38, '10.96.0.10:9080',
          c < 48, concat(IPv4NumToString(toUInt32(0x22000000 + number % 40)), ':443'),
          c < 56, concat(IPv4NumToString(toUInt32(0x5D000000 + k % ${HIGH.httpHosts})), ':80'),
          c < 62, concat(IPv4NumToString(toUInt32(if(k % ${HIGH.sniHosts} < ${HIGH.blockedIps / 4}, 0xCB000000 + k % ${HIGH.sniHosts} * 4, 0x68000000 + k % ${HIGH.sniHosts}))), ':443'),
          c < 78, concat(IPv4NumToString(toUInt32(0x34000000 + intDiv(k % ${HIGH.ips}, 200) * 256 + k % ${HIGH.ips} % 200)),
                         if(intDiv(k % ${HIGH.ips}, 200) % 5 = 0, ':5432', ':443')),
          c < 85, concat(IPv4NumToString(toUInt32(0x5E000000 + k % ${HIGH.blockedHosts})), ':80'),
          c < 90, concat(IPv4NumToString(toUInt32(0xCB000000 + k % ${HIGH.blockedIps})), ':443'),
          concat(IPv4NumToString(toUInt32(0x5F000000 + k % ${HIGH.timeoutHosts})), ':80')) AS downstream_local_address,
  if(upstream_cluster = '' OR upstream_cluster = 'BlackHoleCluster', '', downstream_local_address) AS upstream_host,
  concat('10.244.', toString(number % 250), '.7:40000') AS downstream_remote_address,
  multiIf(c >= 38 AND c < 48, concat('ext', toString(number % 40), '.example.com'),
          c >= 56 AND c < 62, concat('api', toString(k % ${HIGH.sniHosts}), '.r', toString(k % ${HIGH.sniHosts} % 300), '.cloudvendor.net'), '') AS requested_server_name,
  multiIf(c >= 78 AND c < 85, 'block_all', c >= 48 AND c < 56, 'allow_any', method != '', 'default', '') AS route_name,
  'istio' AS format, 'bench' AS source,
  concat('ns', toString(number % 12)) AS k8s_namespace,
  concat('wl', toString(number % 30), '-7f9c8d-abcde') AS k8s_pod,
  concat('wl', toString(number % 30)) AS k8s_workload
FROM (SELECT number, number % 100 AS c, intDiv(number, 100) AS k FROM numbers(${from}, ${count}))`;
}

/** `rows` rows (at least HIGH_MIN_ROWS for every destination to appear) ending just before `endMs`. */
export async function loadHighCardinalityData(store: Store, rows: number, endMs: number): Promise<void> {
  const chunk = 2_000_000;
  for (let from = 0; from < rows; from += chunk) {
    await store.command(sql(rows, endMs, from, Math.min(chunk, rows - from)));
  }
}
