/**
 * REGISTRY_ONLY logs of TLS/TCP without SNI show only an IP, and ALLOW_ANY pass-through TLS usually has no
 * SNI either. The same IP often appears elsewhere in the window with a name: HTTP authority, SNI, or an
 * `outbound|443||host` cluster. Each IP maps to the names seen with it, with a confidence: the share of
 * named observations the best name has (a CDN address shared by many hosts scores low), and how recent.
 */

import type { Store } from '../store/store.js';
import { isoTime } from './clickhouse-time.js';
import { CLUSTER_HOST_SQL, IS_IP_SQL } from './traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from './window.js';

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

const RECOVERY_SQL = `
SELECT ip, name, count() AS n, toString(max(start_time)) AS last_seen
FROM (
  SELECT dst_ip AS ip, start_time,
    lower(multiIf(requested_server_name != '', requested_server_name,
                  authority != '', replaceRegexpOne(authority, ':[0-9]+$', ''),
                  ${CLUSTER_HOST_SQL})) AS name
  FROM access_log
  WHERE ${WINDOW_SQL} AND dst_ip IN {ips:Array(String)}
)
WHERE name != '' AND NOT ${IS_IP_SQL('name')} AND NOT endsWith(name, '.svc.cluster.local')
GROUP BY ip, name`;

export async function recoverHostnames(
  store: Store,
  window: ReportWindow,
  ips: string[],
): Promise<Map<string, RecoveredName>> {
  const out = new Map<string, RecoveredName>();
  if (ips.length === 0) return out;
  const rows = await store.query<{ ip: string; name: string; n: string | number; last_seen: string }>(
    RECOVERY_SQL,
    {
      params: { ...windowParams(window), ips },
    },
  );
  const byIp = new Map<string, typeof rows>();
  for (const r of rows) {
    const list = byIp.get(r.ip) ?? [];
    list.push(r);
    byIp.set(r.ip, list);
  }
  for (const [ip, names] of byIp) {
    const total = names.reduce((s, r) => s + Number(r.n), 0);
    names.sort((a, b) => Number(b.n) - Number(a.n) || a.name.localeCompare(b.name));
    const best = names[0]!;
    out.set(ip, {
      ip,
      host: best.name,
      confidence: Math.round((Number(best.n) / total) * 100) / 100,
      sharedBy: names.length,
      observations: total,
      lastSeen: isoTime(best.last_seen),
    });
  }
  return out;
}
