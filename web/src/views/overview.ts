/** Overview: requests over time by state, destinations per state, top hosts, blocked sources, timeouts. */
import { getJson } from '../api.js';
import { histogramChart, stateSeriesChart } from '../charts.js';
import { countNote, fmt, h, singular, stateBadge, table } from '../dom.js';
import type { Filters } from '../filters.js';

interface Overview {
  stepSeconds: number;
  series: { t: number[]; passthrough: number[]; blocked: number[]; allowed: number[]; timeouts: number[] };
  requests: { passthrough: number; blocked: number; allowed: number; timeouts: number };
  destinations: { passthrough: number; blocked: number; allowed: number };
  topHosts: { items: Array<{ host: string; state: string; requests: number }>; total: number };
  blockedBySource: {
    items: Array<{ namespace: string; workload: string; requests: number; destinations: number }>;
    total: number;
  };
  timeouts: {
    total: number;
    histogram: Array<{ lowerMs: number; upperMs: number; count: number }>;
    p50Ms: number | null;
    p99Ms: number | null;
    inferredTimeoutMs: number | null;
  };
}

const destinations = (n: number) => `${fmt.format(n)} ${n === 1 ? singular('destinations') : 'destinations'}`;

function stat(label: string, n: number, sub?: string): HTMLElement {
  return h(
    'div',
    { class: 'card stat' },
    h('div', { class: 'l' }, label),
    h('div', { class: 'n' }, fmt.format(n)),
    sub ? h('div', { class: 'muted' }, sub) : null,
  );
}

export async function overviewView(root: HTMLElement, filters: Filters): Promise<void> {
  const o = await getJson<Overview>('/v1/reports/overview', { ...filters, top: 10 });
  const seriesEl = h('div', { class: 'chart', id: 'chart-series' });
  const histEl = h('div', { class: 'chart', id: 'chart-timeouts' });
  const maxTop = Math.max(1, ...o.topHosts.items.map((r) => r.requests));
  root.replaceChildren(
    h('h1', {}, 'External traffic'),
    h(
      'div',
      { class: 'cards' },
      stat('passthrough requests', o.requests.passthrough, destinations(o.destinations.passthrough)),
      stat('blocked requests', o.requests.blocked, destinations(o.destinations.blocked)),
      stat('allowed by an entry', o.requests.allowed, destinations(o.destinations.allowed)),
      stat(
        'timed out',
        o.requests.timeouts,
        o.timeouts.inferredTimeoutMs !== null
          ? `timeout ≈ ${fmt.format(o.timeouts.inferredTimeoutMs)} ms`
          : undefined,
      ),
    ),
    h(
      'div',
      { class: 'card' },
      h('h2', {}, `Requests over time (per ${stepLabel(o.stepSeconds)})`),
      seriesEl,
    ),
    h(
      'div',
      { class: 'grid', style: 'margin-top:16px' },
      h(
        'div',
        { class: 'card', id: 'top-hosts' },
        h('h2', {}, 'Top hosts'),
        countNote(o.topHosts.items.length, o.topHosts.total, 'destinations'),
        table(
          ['host', 'state', ['requests', 'num'], ''],
          o.topHosts.items.map((r) => [
            r.host,
            stateBadge(r.state),
            fmt.format(r.requests),
            h(
              'div',
              { class: 'bar' },
              h('span', { style: `width:${(100 * r.requests) / maxTop}%;background:var(--${r.state})` }),
            ),
          ]),
        ),
      ),
      h(
        'div',
        { class: 'card', id: 'blocked-sources' },
        h('h2', {}, 'Blocked, by source workload'),
        o.blockedBySource.total === 0
          ? h('p', { class: 'empty' }, 'Nothing was blocked in this window.')
          : h(
              'div',
              {},
              countNote(o.blockedBySource.items.length, o.blockedBySource.total, 'workloads'),
              table(
                ['namespace', 'workload', ['requests', 'num'], ['destinations', 'num']],
                o.blockedBySource.items.map((r) => [
                  r.namespace || '—',
                  r.workload || '—',
                  fmt.format(r.requests),
                  fmt.format(r.destinations),
                ]),
              ),
            ),
      ),
      h(
        'div',
        { class: 'card', id: 'timeouts' },
        h('h2', {}, 'Timed-out requests: duration'),
        o.timeouts.total === 0
          ? h('p', { class: 'empty' }, 'No timeouts in this window.')
          : h(
              'p',
              { class: 'legend-note' },
              `${fmt.format(o.timeouts.total)} timed out · p50 ${fmt.format(o.timeouts.p50Ms ?? 0)} ms · p99 ${fmt.format(o.timeouts.p99Ms ?? 0)} ms`,
              o.timeouts.inferredTimeoutMs !== null
                ? ` · inferred timeout ${fmt.format(o.timeouts.inferredTimeoutMs)} ms (dashed)`
                : '',
            ),
        histEl,
      ),
    ),
  );
  if (o.series.t.length > 0) stateSeriesChart(seriesEl, o.series);
  else seriesEl.append(h('p', { class: 'empty' }, 'No external requests in this window.'));
  if (o.timeouts.histogram.length > 0)
    histogramChart(histEl, o.timeouts.histogram, o.timeouts.inferredTimeoutMs);
}

function stepLabel(s: number): string {
  if (s % 86_400 === 0) return `${s / 86_400} d`;
  if (s % 3600 === 0) return `${s / 3600} h`;
  return `${s / 60} min`;
}
