/**
 * Prometheus gauges teams alert on: external requests, timed-out requests and distinct destinations in the
 * last few minutes, by state (passthrough, blocked, allowed) and namespace. One engine query refreshes them
 * in the background; a scrape reads what the last refresh found and never waits on the store.
 *
 * Cardinality is bounded: never a series per host, and at most `maxNamespaces` namespaces by traffic, the
 * rest summed under namespace="_other".
 */

import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { ALLOWED_EXTERNAL_BY_DOMAIN_SQL, clusterDomainParam } from '../reports/shared/cluster-domain.js';
import type { Store } from '../store/store.js';
import { BLOCKED_SQL, HOST_SQL, PASSTHROUGH_SQL, TIMED_OUT_SQL } from '../store/traffic-classes.js';

export interface EgressGaugeOptions {
  /** How far back each refresh looks. */
  windowSeconds: number;
  refreshMs: number;
  maxNamespaces: number;
  /** The mesh's cluster DNS domain: outbound clusters under it are in-mesh, not external (default cluster.local). */
  clusterDomain?: string;
}

export const DEFAULT_EGRESS_GAUGES: EgressGaugeOptions = {
  windowSeconds: 300,
  refreshMs: 30_000,
  maxNamespaces: 50,
};

const OTHER = '_other';

const QUERY = `
WITH ranked AS (
  SELECT k8s_namespace AS ns FROM access_log
  WHERE start_time >= now64(3) - toIntervalSecond({window:UInt32})
    AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL})
  GROUP BY ns ORDER BY count() DESC LIMIT {max_ns:UInt32})
SELECT if(k8s_namespace IN (SELECT ns FROM ranked), k8s_namespace, '${OTHER}') AS namespace,
  multiIf(${BLOCKED_SQL}, 'blocked', ${PASSTHROUGH_SQL}, 'passthrough', 'allowed') AS state,
  count() AS requests, countIf(${TIMED_OUT_SQL}) AS timeouts, uniqExact(${HOST_SQL}, dst_port) AS destinations
FROM access_log
WHERE start_time >= now64(3) - toIntervalSecond({window:UInt32})
  AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL})
GROUP BY namespace, state`;

interface Row {
  namespace: string;
  state: string;
  requests: string | number;
  timeouts: string | number;
  destinations: string | number;
}

export class EgressGauges {
  private rows: Row[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** When the last refresh succeeded (epoch ms), 0 before the first. */
  lastRefreshMs = 0;

  constructor(
    private readonly store: Store,
    registry: Registry,
    private readonly opts: EgressGaugeOptions,
    private readonly log?: Logger,
    /** Runs the refresh query under the server's cap on analytic SQL (api/work-limiter.ts). */
    private readonly limit: <T>(work: () => Promise<T>) => Promise<T> = (work) => work(),
  ) {
    const window = `${opts.windowSeconds}s`;
    const gauge = (name: string, help: string, labels: string[], pick: (r: Row) => number) =>
      new Gauge({
        name,
        help,
        labelNames: labels,
        registers: [registry],
        collect: () => {
          const g = registry.getSingleMetric(name) as Gauge<string>;
          g.reset();
          for (const r of this.rows) {
            const value = pick(r);
            if (labels.length === 2) g.set({ state: r.state, namespace: r.namespace || '_none' }, value);
            else g.inc({ namespace: r.namespace || '_none' }, value);
          }
        },
      });
    gauge(
      'egresslens_egress_requests',
      `External requests in the last ${window}, by state and source namespace`,
      ['state', 'namespace'],
      (r) => Number(r.requests),
    );
    gauge(
      'egresslens_egress_destinations',
      `Distinct external host:port destinations in the last ${window}, by state and source namespace`,
      ['state', 'namespace'],
      (r) => Number(r.destinations),
    );
    gauge(
      'egresslens_egress_timeouts',
      `Timed-out external requests (UT, SI, 504 response_timeout) in the last ${window}, by source namespace`,
      ['namespace'],
      (r) => Number(r.timeouts),
    );
    new Gauge({
      name: 'egresslens_egress_gauges_age_seconds',
      help: 'Seconds since the egress gauges were last refreshed from the store',
      registers: [registry],
      collect: () => {
        const g = registry.getSingleMetric('egresslens_egress_gauges_age_seconds') as Gauge;
        g.set(this.lastRefreshMs ? (Date.now() - this.lastRefreshMs) / 1000 : -1);
      },
    });
  }

  start(): this {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.opts.refreshMs);
    this.timer.unref();
    return this;
  }

  /** One refresh; overlapping calls share the one in flight. */
  refresh(): Promise<void> {
    this.running ??= (async () => {
      try {
        this.rows = await this.limit(() =>
          this.store.query<Row>(QUERY, {
            params: {
              window: this.opts.windowSeconds,
              max_ns: this.opts.maxNamespaces,
              ...clusterDomainParam(this.opts.clusterDomain),
            },
          }),
        );
        this.lastRefreshMs = Date.now();
      } catch (err) {
        this.log?.warn({ err }, 'egress gauges: refresh failed; /metrics keeps the last values');
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
