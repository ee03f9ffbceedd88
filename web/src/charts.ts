/** Charts drawn with uPlot (canvas, ~50 KB): chosen for size and speed over larger chart libraries. */
import uPlot from 'uplot';

const COLORS = {
  passthrough: '#d98e04',
  blocked: '#c2362b',
  allowed: '#2f8a4c',
  timeouts: '#6f42c1',
} as const;

function width(el: HTMLElement): number {
  return Math.max(320, el.clientWidth || el.parentElement?.clientWidth || 600);
}

/** Requests per bucket by state, one line each, on a shared time axis. */
export function stateSeriesChart(
  el: HTMLElement,
  series: { t: number[]; passthrough: number[]; blocked: number[]; allowed: number[]; timeouts: number[] },
): uPlot {
  const keys = ['passthrough', 'blocked', 'allowed', 'timeouts'] as const;
  const opts: uPlot.Options = {
    width: width(el),
    height: 240,
    scales: { x: { time: true } },
    axes: [{}, { label: 'requests', size: 60 }],
    series: [
      {},
      ...keys.map((k) => ({
        label: k,
        stroke: COLORS[k],
        fill: `${COLORS[k]}22`,
        width: 2,
        points: { show: series.t.length < 40 },
      })),
    ],
  };
  return new uPlot(opts, [series.t, ...keys.map((k) => series[k])], el);
}

/** Counts per duration bucket as bars; a marker line at the inferred timeout. */
export function histogramChart(
  el: HTMLElement,
  buckets: Array<{ lowerMs: number; upperMs: number; count: number }>,
  inferredMs: number | null,
): uPlot {
  const xs = buckets.map((b) => (b.lowerMs + b.upperMs) / 2);
  const ys = buckets.map((b) => b.count);
  const bars = uPlot.paths.bars ? uPlot.paths.bars({ size: [0.8, 60] }) : undefined;
  const opts: uPlot.Options = {
    width: width(el),
    height: 220,
    scales: {
      x: {
        time: false,
        // Keep the inferred-timeout marker and the outer bars inside the plot.
        range: (): [number, number] => {
          const lo = Math.min(buckets[0]?.lowerMs ?? 0, inferredMs ?? Infinity);
          const hi = Math.max(buckets[buckets.length - 1]?.upperMs ?? 1, inferredMs ?? -Infinity);
          const pad = Math.max(1, (hi - lo) * 0.08);
          return [Math.max(0, lo - pad), hi + pad];
        },
      },
    },
    axes: [{ label: 'duration of timed-out requests (ms)' }, { label: 'requests', size: 60 }],
    series: [
      {},
      {
        label: 'timed out',
        stroke: COLORS.timeouts,
        fill: `${COLORS.timeouts}88`,
        paths: bars,
        points: { show: false },
      },
    ],
    hooks: {
      draw: [
        (u) => {
          if (inferredMs === null) return;
          const x = u.valToPos(inferredMs, 'x', true);
          const ctx = u.ctx;
          ctx.save();
          ctx.strokeStyle = COLORS.blocked;
          ctx.setLineDash([6, 4]);
          ctx.beginPath();
          ctx.moveTo(x, u.bbox.top);
          ctx.lineTo(x, u.bbox.top + u.bbox.height);
          ctx.stroke();
          ctx.restore();
        },
      ],
    },
  };
  return new uPlot(opts, [xs, ys], el);
}
