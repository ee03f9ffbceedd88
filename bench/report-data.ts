/**
 * A 10 M-row access_log with known destinations, generated inside ClickHouse (INSERT … SELECT FROM numbers)
 * so loading takes seconds, not minutes. Row i belongs to a class by i % 100:
 *   0–44 mesh · 45–59 allowed by ServiceEntries (40 hosts) · 60–74 passthrough HTTP (200 hosts)
 *   75–81 passthrough TLS to bare IPs (500) · 82–86 blocked HTTP (502 block_all) · 87–91 blocked TCP
 *   (BlackHoleCluster) · 92–95 route timeouts (504 UT near 3 s) · 96–99 slow successes to the same hosts
 * Rows are 250 ms apart, so 10 M rows span about 29 days ending at `endMs`.
 */
import type { Store } from '../store/store.js';

export const REPORT_DATA_CLASSES = {
  passthroughHttpHosts: 200,
  passthroughIps: 500,
  allowedHosts: 40,
} as const;

const STEP_MS = 250;

/** Rows `from .. from+count` of a data set of `total` rows ending at `endMs`. */
export function reportDataSql(total: number, endMs: number, from: number, count: number): string {
  const stepMs = STEP_MS;
  const startMs = endMs - total * stepMs;
  return `
INSERT INTO access_log (start_time, method, path, protocol, response_code, response_flags, response_code_details,
  bytes_received, bytes_sent, duration, upstream_service_time, user_agent, request_id, authority,
  upstream_cluster, downstream_local_address, upstream_host, downstream_remote_address, requested_server_name, route_name,
  format, source, k8s_namespace, k8s_pod, k8s_workload)
SELECT
  fromUnixTimestamp64Milli(toInt64(${startMs} + number * ${stepMs})) AS start_time,
  if(c >= 60 AND c < 75 OR c >= 82 AND c < 87 OR c >= 92 OR c < 45, 'GET', '') AS method,
  if(method = '', '', concat('/api/v', toString(number % 3), '/items')) AS path,
  if(method = '', '', 'HTTP/1.1') AS protocol,
  multiIf(c >= 82 AND c < 87, 502, c >= 87 AND c < 92, 0, c >= 92 AND c < 96, 504, method = '', 0, 200) AS response_code,
  multiIf(c >= 87 AND c < 92, 'UH', c >= 92 AND c < 96, 'UT', '') AS response_flags,
  multiIf(c >= 82 AND c < 87, 'direct_response', c >= 92 AND c < 96, 'response_timeout', method != '', 'via_upstream', '') AS response_code_details,
  number % 900 AS bytes_received,
  (number * 7) % 90000 AS bytes_sent,
  toUInt32(multiIf(c >= 92 AND c < 96, 3000 + number % 10, c >= 96, 1500 + number % 1400, c >= 87 AND c < 92, number % 9, 1 + number % 400)) AS duration,
  if(method != '' AND c < 82, duration, NULL) AS upstream_service_time,
  'curl/8.8.0' AS user_agent,
  if(method != '', hex(cityHash64(number)), '') AS request_id,
  multiIf(c < 45, concat('svc', toString(number % 6), '.shop:9080'),
          c >= 60 AND c < 75, concat('pt', toString(number % 200), '.partner', toString(number % 7), '.com'),
          c >= 82 AND c < 87, concat('blocked', toString(number % 25), '.example.org'),
          c >= 92, concat('slow', toString(number % 8), '.vendor.io'), '') AS authority,
  multiIf(c < 45, concat('outbound|9080||svc', toString(number % 6), '.shop.svc.cluster.local'),
          c < 60, concat('outbound|443||ext', toString(number % 40), '.example.com'),
          c < 82, 'PassthroughCluster',
          c < 87, '',
          c < 92, 'BlackHoleCluster',
          concat('outbound|80||slow', toString(number % 8), '.vendor.io')) AS upstream_cluster,
  multiIf(c < 45, '10.96.0.10:9080', c >= 60 AND c < 75, concat('93.184.', toString(number % 200), '.1:80'),
          c >= 82 AND c < 87, '93.185.0.1:80', c >= 92, concat('93.186.', toString(number % 8), '.1:80'), ip_port) AS downstream_local_address,
  if(upstream_cluster = '' OR upstream_cluster = 'BlackHoleCluster', '', downstream_local_address) AS upstream_host,
  concat('10.244.', toString(number % 250), '.7:40000') AS downstream_remote_address,
  if(c >= 45 AND c < 60, concat('ext', toString(number % 40), '.example.com'), '') AS requested_server_name,
  multiIf(c >= 82 AND c < 87, 'block_all', c >= 60 AND c < 75, 'allow_any', method != '', 'default', '') AS route_name,
  'istio' AS format, 'bench' AS source,
  concat('ns', toString(number % 12)) AS k8s_namespace,
  concat('wl', toString(number % 30), '-7f9c8d-abcde') AS k8s_pod,
  concat('wl', toString(number % 30)) AS k8s_workload
FROM (SELECT number, number % 100 AS c, concat(IPv4NumToString(toUInt32(3232235520 + number % 500)), ':443') AS ip_port
      FROM numbers(${from}, ${count}))`;
}

export async function loadReportData(store: Store, rows: number, endMs: number): Promise<void> {
  const chunk = 2_000_000;
  for (let from = 0; from < rows; from += chunk) {
    await store.command(reportDataSql(rows, endMs, from, Math.min(chunk, rows - from)));
  }
}
