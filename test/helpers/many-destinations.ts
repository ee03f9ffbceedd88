/**
 * A window with many destinations, inserted by the engine itself (INSERT … SELECT FROM numbers), one row per
 * destination and a few rows more where a test needs them: IP-only pass-through (IPv4 in networks of
 * `ipsPerNetwork`, every fifth network on 5432 instead of 443; a few IPv6 in one /64), TLS with SNI under
 * `sniParents` parents, plain HTTP hosts, and blocked HTTP hosts. Timestamps are within the last hour.
 */
import type { Store } from '../../store/store.js';

export interface ManyDestinations {
  ips: number;
  ipsPerNetwork: number;
  v6Ips: number;
  sniHosts: number;
  sniParents: number;
  httpHosts: number;
  blockedHosts: number;
}

const COLUMNS = `start_time, method, path, protocol, response_code, response_code_details, bytes_received, bytes_sent,
  duration, authority, upstream_cluster, downstream_local_address, upstream_host, requested_server_name, route_name,
  format, source, k8s_namespace, k8s_pod, k8s_workload`;

/** One INSERT of `count` rows; `select` gives the varying columns from `number` (0 .. count-1). */
async function insert(store: Store, count: number, select: string): Promise<void> {
  if (count <= 0) return;
  await store.command(`
INSERT INTO access_log (${COLUMNS})
SELECT now64(3) - toIntervalMillisecond(number % 3000000) AS start_time, ${select},
  'istio', 'test', 'shop', 'checkout-7f9c8d5b4-x2x9z', 'checkout'
FROM numbers(${count})`);
}

export async function insertManyDestinations(store: Store, d: ManyDestinations): Promise<void> {
  const tcp = `'' AS method, '' AS path, '' AS protocol, 0 AS response_code, '' AS response_code_details,
    500 AS bytes_received, 4000 AS bytes_sent, 20 AS duration, '' AS authority`;
  // IPv4 only: 52.<n / 256>.<n % 256>.<i + 1>, network n.
  await insert(
    store,
    d.ips,
    `${tcp}, 'PassthroughCluster' AS upstream_cluster,
    concat('52.', toString(intDiv(intDiv(number, ${d.ipsPerNetwork}), 256)), '.',
      toString(intDiv(number, ${d.ipsPerNetwork}) % 256), '.', toString(number % ${d.ipsPerNetwork} + 1),
      if(intDiv(number, ${d.ipsPerNetwork}) % 5 = 0, ':5432', ':443')) AS downstream_local_address,
    downstream_local_address AS upstream_host, '' AS requested_server_name, '' AS route_name`,
  );
  await insert(
    store,
    d.v6Ips,
    `${tcp}, 'PassthroughCluster' AS upstream_cluster,
    concat('[2001:db8:5:7::', hex(toUInt16(number + 1)), ']:443') AS downstream_local_address,
    downstream_local_address AS upstream_host, '' AS requested_server_name, '' AS route_name`,
  );
  await insert(
    store,
    d.sniHosts,
    `${tcp}, 'PassthroughCluster' AS upstream_cluster,
    concat('104.0.', toString(intDiv(number, 250)), '.', toString(number % 250 + 1), ':443') AS downstream_local_address,
    downstream_local_address AS upstream_host,
    concat('api', toString(number), '.r', toString(number % ${d.sniParents}), '.cloudvendor.net') AS requested_server_name,
    '' AS route_name`,
  );
  await insert(
    store,
    d.httpHosts,
    `'GET' AS method, '/v1/items' AS path, 'HTTP/1.1' AS protocol, 200 AS response_code,
    'via_upstream' AS response_code_details, 100 AS bytes_received, 900 AS bytes_sent, 15 AS duration,
    concat('svc', toString(number), '.tenant-app.io') AS authority, 'PassthroughCluster' AS upstream_cluster,
    concat('93.0.', toString(intDiv(number, 250)), '.', toString(number % 250 + 1), ':80') AS downstream_local_address,
    downstream_local_address AS upstream_host, '' AS requested_server_name, 'allow_any' AS route_name`,
  );
  await insert(
    store,
    d.blockedHosts,
    `'GET' AS method, '/x' AS path, 'HTTP/1.1' AS protocol, 502 AS response_code,
    'direct_response' AS response_code_details, 0 AS bytes_received, 0 AS bytes_sent, 1 AS duration,
    concat('b', toString(number), '.blocked.example') AS authority, '' AS upstream_cluster,
    concat('94.0.', toString(intDiv(number, 250)), '.', toString(number % 250 + 1), ':80') AS downstream_local_address,
    '' AS upstream_host, '' AS requested_server_name, 'block_all' AS route_name`,
  );
}
