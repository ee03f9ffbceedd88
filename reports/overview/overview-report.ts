/**
 * The console's first view in one answer: external requests over time by state, how many destinations are
 * in each state, the busiest hosts, who is being blocked, and how timed-out requests are distributed.
 * Every part is grouped in the engine and bounded (points, rows); JS only shapes what comes back.
 */
import type { Store } from '../../store/store.js';
import { ALLOWED_EXTERNAL_BY_DOMAIN_SQL, clusterDomainParam } from '../shared/cluster-domain.js';
import { BLOCKED_SQL, HOST_SQL, PASSTHROUGH_SQL, TIMED_OUT_SQL } from '../shared/traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from '../shared/window.js';

export type TrafficState = 'passthrough' | 'blocked' | 'allowed';

export interface OverviewSeries {
  /** Bucket starts, epoch seconds. */
  t: number[];
  passthrough: number[];
  blocked: number[];
  allowed: number[];
  timeouts: number[];
}

export interface CountedList<T> {
  items: T[];
  total: number;
  truncated: boolean;
}

export interface OverviewReport {
  window: { since: string; until: string };
  stepSeconds: number;
  series: OverviewSeries;
  requests: Record<TrafficState | 'timeouts', number>;
  destinations: Record<TrafficState, number>;
  topHosts: CountedList<{ host: string; state: TrafficState; requests: number }>;
  blockedBySource: CountedList<{
    namespace: string;
    workload: string;
    requests: number;
    destinations: number;
  }>;
  timeouts: {
    total: number;
    /** Timed-out durations in ms, as an adaptive histogram. */
    histogram: Array<{ lowerMs: number; upperMs: number; count: number }>;
    p50Ms: number | null;
    p99Ms: number | null;
    /** Where timed-out durations cluster (the configured timeout, most likely), ms. */
    inferredTimeoutMs: number | null;
  };
}

const STATE_SQL = `multiIf(${PASSTHROUGH_SQL}, 'passthrough', ${BLOCKED_SQL}, 'blocked', 'allowed')`;
const EXTERNAL_SQL = `(${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL})`;
const FILTER_SQL = `${WINDOW_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String}) AND ${EXTERNAL_SQL}`;

const SERIES_QUERY = `
SELECT toUnixTimestamp(toStartOfInterval(start_time, toIntervalSecond({step:UInt32}))) AS t,
  countIf(${PASSTHROUGH_SQL}) AS passthrough, countIf(${BLOCKED_SQL}) AS blocked,
  countIf(NOT ${PASSTHROUGH_SQL} AND NOT ${BLOCKED_SQL}) AS allowed, countIf(${TIMED_OUT_SQL}) AS timeouts
FROM access_log WHERE ${FILTER_SQL}
GROUP BY t ORDER BY t
LIMIT 1000`;

const DESTINATIONS_QUERY = `
SELECT ${STATE_SQL} AS state, uniqExact(${HOST_SQL}, dst_port) AS destinations, count() AS requests
FROM access_log WHERE ${FILTER_SQL}
GROUP BY state`;

const TOP_HOSTS_QUERY = `
SELECT ${HOST_SQL} AS host, ${STATE_SQL} AS state, count() AS requests, count() OVER () AS total
FROM access_log WHERE ${FILTER_SQL}
GROUP BY host, state ORDER BY requests DESC, host
LIMIT {top:UInt32}`;

const BLOCKED_BY_SOURCE_QUERY = `
SELECT k8s_namespace AS namespace, k8s_workload AS workload, count() AS requests,
  uniqExact(${HOST_SQL}, dst_port) AS destinations, count() OVER () AS total
FROM access_log WHERE ${FILTER_SQL} AND ${BLOCKED_SQL}
GROUP BY namespace, workload ORDER BY requests DESC, namespace, workload
LIMIT {top:UInt32}`;

const TIMEOUTS_QUERY = `
SELECT count() AS total, histogram(12)(toFloat64(duration)) AS histogram,
  quantileExact(0.5)(duration) AS p50, quantileExact(0.99)(duration) AS p99,
  topK(1)(intDiv(duration + 50, 100) * 100) AS mode_bucket
FROM access_log WHERE ${FILTER_SQL} AND ${TIMED_OUT_SQL} AND duration IS NOT NULL`;

/** About 120 points across the window, on a step a person reads easily. */
const STEPS = [60, 300, 600, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 7 * 86_400];
export function stepFor(window: ReportWindow): number {
  const seconds = (window.untilMs - window.sinceMs) / 1000;
  return STEPS.find((s) => seconds / s <= 120) ?? STEPS[STEPS.length - 1]!;
}

export async function overviewReport(
  store: Store,
  window: ReportWindow,
  opts: { namespace?: string; top?: number; clusterDomain?: string } = {},
): Promise<OverviewReport> {
  const step = stepFor(window);
  const params = {
    ...windowParams(window),
    ...clusterDomainParam(opts.clusterDomain),
    namespace: opts.namespace ?? '',
    step,
    top: Math.min(Math.max(opts.top ?? 10, 1), 100),
  };
  const [series, destinations, topHosts, blocked, timeouts] = await Promise.all([
    store.query<{ t: number; passthrough: string; blocked: string; allowed: string; timeouts: string }>(
      SERIES_QUERY,
      { params },
    ),
    store.query<{ state: TrafficState; destinations: string; requests: string }>(DESTINATIONS_QUERY, {
      params,
    }),
    store.query<{ host: string; state: TrafficState; requests: string; total: string }>(TOP_HOSTS_QUERY, {
      params,
    }),
    store.query<{
      namespace: string;
      workload: string;
      requests: string;
      destinations: string;
      total: string;
    }>(BLOCKED_BY_SOURCE_QUERY, { params }),
    store.query<{
      total: string;
      histogram: Array<[number, number, number]>;
      p50: number | null;
      p99: number | null;
      mode_bucket: number[];
    }>(TIMEOUTS_QUERY, { params }),
  ]);
  const perState = (pick: 'destinations' | 'requests') => {
    const out: Record<TrafficState, number> = { passthrough: 0, blocked: 0, allowed: 0 };
    for (const r of destinations) out[r.state] = Number(r[pick]);
    return out;
  };
  const t = timeouts[0];
  const timeoutTotal = Number(t?.total ?? 0);
  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    stepSeconds: step,
    series: {
      t: series.map((r) => Number(r.t)),
      passthrough: series.map((r) => Number(r.passthrough)),
      blocked: series.map((r) => Number(r.blocked)),
      allowed: series.map((r) => Number(r.allowed)),
      timeouts: series.map((r) => Number(r.timeouts)),
    },
    requests: { ...perState('requests'), timeouts: series.reduce((s, r) => s + Number(r.timeouts), 0) },
    destinations: perState('destinations'),
    topHosts: counted(
      topHosts.map((r) => ({ host: r.host, state: r.state, requests: Number(r.requests) })),
      topHosts,
    ),
    blockedBySource: counted(
      blocked.map((r) => ({
        namespace: r.namespace,
        workload: r.workload,
        requests: Number(r.requests),
        destinations: Number(r.destinations),
      })),
      blocked,
    ),
    timeouts: {
      total: timeoutTotal,
      histogram:
        timeoutTotal > 0
          ? (t?.histogram ?? []).map(([lower, upper, count]) => ({
              lowerMs: Math.round(lower),
              upperMs: Math.round(upper),
              count: Math.round(count),
            }))
          : [],
      p50Ms: timeoutTotal > 0 ? Number(t?.p50) : null,
      p99Ms: timeoutTotal > 0 ? Number(t?.p99) : null,
      inferredTimeoutMs: timeoutTotal > 0 && t?.mode_bucket.length ? Number(t.mode_bucket[0]) : null,
    },
  };
}

/** `total` comes from the engine (count() OVER () over the grouped rows, before LIMIT). */
function counted<T>(items: T[], rows: Array<{ total: string }>): CountedList<T> {
  const total = rows.length > 0 ? Number(rows[0]!.total) : 0;
  return { items, total, truncated: items.length < total };
}
