/**
 * Which destinations hit route timeouts: per host and route, the count and share of timed-out requests,
 * duration percentiles of timed-out and of successful requests, the configured timeout inferred from
 * where timed-out durations cluster (a 3 s VirtualService timeout shows as a cluster near 3,000 ms), and a
 * suggestion when successful p99 comes close to it.
 */

import type { Store } from '../store/store.js';
import { isoTime } from './clickhouse-time.js';
import { type ListInfo, listInfo, type PageRequest, pageOf } from './page.js';
import { HOST_SQL, TIMED_OUT_SQL } from './traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from './window.js';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

export interface TimeoutEntry {
  host: string;
  route: string;
  requests: number;
  timeouts: number;
  /** timeouts / requests */
  share: number;
  flags: string[];
  timedOut: Percentiles;
  successful: Percentiles | null;
  /** The timeout the durations point at, ms (null when they do not cluster). */
  inferredTimeoutMs: number | null;
  suggestion: string | null;
  firstSeen: string;
  lastSeen: string;
}

export interface TimeoutReport extends ListInfo {
  window: { since: string; until: string };
  /** Timed-out requests over every entry (not only this page). */
  timeouts: number;
  entries: TimeoutEntry[];
}

// Two passes: find where timeouts happened, then the distributions there only. The first pass names the
// places by the table's own sort-key columns (upstream_cluster, dst_host) and the route, so the second can
// use the primary index instead of deriving the host for every row (10 M rows: 100 ms instead of 500).
const TIMEOUT_QUERY = `
WITH ${HOST_SQL} AS host
SELECT host, route_name AS route,
  count() AS requests,
  countIf(${TIMED_OUT_SQL}) AS timeouts,
  groupUniqArrayArrayIf(response_flags_list, ${TIMED_OUT_SQL}) AS flags,
  quantilesExactIf(0.5, 0.95, 0.99)(duration, ${TIMED_OUT_SQL}) AS timed_out_q,
  quantilesTDigestIf(0.5, 0.95, 0.99)(duration, response_code >= 200 AND response_code < 400) AS ok_q,
  countIf(response_code >= 200 AND response_code < 400) AS ok_count,
  topKIf(1)(intDiv(duration + 50, 100) * 100, ${TIMED_OUT_SQL}) AS mode_bucket,
  toString(minIf(start_time, ${TIMED_OUT_SQL})) AS first_seen,
  toString(maxIf(start_time, ${TIMED_OUT_SQL})) AS last_seen,
  count() OVER () AS total_entries, sum(timeouts) OVER () AS total_timeouts
FROM access_log
WHERE ${WINDOW_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})
  AND (upstream_cluster, dst_host, route_name) IN (
    SELECT upstream_cluster, dst_host, route_name FROM access_log
    WHERE ${WINDOW_SQL} AND ${TIMED_OUT_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})
    GROUP BY upstream_cluster, dst_host, route_name)
GROUP BY host, route
ORDER BY timeouts DESC, host, route
LIMIT {limit:UInt32} OFFSET {offset:UInt32}`;

interface Row {
  host: string;
  route: string;
  requests: number | string;
  timeouts: number | string;
  flags: string[];
  timed_out_q: number[];
  ok_q: number[];
  ok_count: number | string;
  mode_bucket: number[];
  first_seen: string;
  last_seen: string;
  total_entries: number | string;
  total_timeouts: number | string;
}

export async function timeoutReport(
  store: Store,
  window: ReportWindow,
  opts: { namespace?: string } & PageRequest = {},
): Promise<TimeoutReport> {
  const page = pageOf(opts);
  const params = { ...windowParams(window), namespace: opts.namespace ?? '', ...page };
  const rows = await store.query<Row>(TIMEOUT_QUERY, { params });
  const entries = rows.map((r): TimeoutEntry => {
    const timeouts = Number(r.timeouts);
    const requests = Number(r.requests);
    const q = (xs: number[]): Percentiles => ({
      p50: Math.round(xs[0] ?? 0),
      p95: Math.round(xs[1] ?? 0),
      p99: Math.round(xs[2] ?? 0),
    });
    const timedOut = q(r.timed_out_q);
    const successful = Number(r.ok_count) > 0 ? q(r.ok_q) : null;
    const inferred = inferTimeout(r.mode_bucket[0], timedOut);
    return {
      host: r.host,
      route: r.route,
      requests,
      timeouts,
      share: Math.round((timeouts / Math.max(requests, 1)) * 10_000) / 10_000,
      flags: [...r.flags].sort(),
      timedOut,
      successful,
      inferredTimeoutMs: inferred,
      suggestion: suggest(inferred, successful),
      firstSeen: isoTime(r.first_seen),
      lastSeen: isoTime(r.last_seen),
    };
  });
  // An empty page (offset past the end) has no row to carry the totals: count them without the page.
  const [total, timeouts]: [number, number] = rows[0]
    ? [Number(rows[0].total_entries), Number(rows[0].total_timeouts)]
    : page.offset === 0
      ? [0, 0]
      : await store
          .query<Row>(TIMEOUT_QUERY, { params: { ...params, limit: 1, offset: 0 } })

          .then((r): [number, number] => [
            Number(r[0]?.total_entries ?? 0),
            Number(r[0]?.total_timeouts ?? 0),
          ]);
  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    ...listInfo(page, entries.length, total),
    timeouts,
    entries,
  };
}

/** Route timeouts fire at one duration, so timed-out requests pile up just above it. */
function inferTimeout(modeBucket: number | undefined, timedOut: Percentiles): number | null {
  if (modeBucket === undefined || modeBucket <= 0) return null;
  // The median of timed-out durations must sit at the mode for the pile-up to be a configured limit.
  return Math.abs(timedOut.p50 - modeBucket) <= Math.max(100, modeBucket * 0.05) ? modeBucket : null;
}

function suggest(timeoutMs: number | null, ok: Percentiles | null): string | null {
  if (timeoutMs === null || ok === null) return null;
  if (ok.p99 >= timeoutMs * 0.8) {
    return `successful requests' p99 (${ok.p99} ms) is within 20 % of the ~${timeoutMs} ms timeout: slow but successful calls are close to being cut off; raise the VirtualService timeout or speed up the upstream`;
  }
  return null;
}
