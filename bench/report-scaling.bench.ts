/**
 * Report latency against rows and destinations, for the sizing guide: each report through the HTTP API of a
 * child `egresslens serve` on the embedded store, over a grid of row counts × data sets:
 * - baseline: bench/report-data.ts, a few hundred external destinations;
 * - high: bench/high-cardinality-data.ts, up to ~100k destinations (every one of them appears from
 *   HIGH_MIN_ROWS = 6 M rows on; below that, about rows ÷ 60 of them: the table prints how many there were).
 * Every report asks `since=all`, so it reads every row of the set (the baseline set spans days, and the default
 * 24 h window would read only the last day's rows). Each cell is the median of `--runs` runs after one warm-up;
 * /readyz is polled every 50 ms meanwhile and its slowest answer printed.
 *
 *   npm run bench:report-scaling -- [--rows 1000000,3000000,10000000] [--sets baseline,high] [--runs 5]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChdbStore } from '../store/chdb-store.js';
import { listSize, timeGet } from './api-timing.js';
import { loadHighCardinalityData } from './high-cardinality-data.js';
import { loadReportData } from './report-data.js';
import { CLI, waitReady } from './run-child.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: process.env.BENCH_ROWS ?? '1000000,3000000,10000000' },
    sets: { type: 'string', default: 'baseline,high' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '5' },
  },
});
const ROW_COUNTS = args.rows.split(',').map(Number);
const SETS = args.sets.split(',');
const RUNS = Number(args.runs);
const LOADERS = { baseline: loadReportData, high: loadHighCardinalityData } as const;
for (const set of SETS) if (!(set in LOADERS)) throw new Error(`unknown set ${set} (baseline, high)`);

const REPORTS = [
  ['service-entries', '/v1/reports/service-entries?format=json'],
  ['blocked', '/v1/reports/blocked'],
  ['timeouts', '/v1/reports/timeouts'],
  ['hosts', '/v1/hosts'],
  ['readiness', '/v1/reports/readiness'],
] as const;

interface Cell {
  set: string;
  rows: number;
  destinations: number;
  ms: Record<string, number>;
  readyzMax: number;
}

async function measure(set: keyof typeof LOADERS, rows: number): Promise<Cell> {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-bench-report-scaling-'));
  try {
    const store = ChdbStore.open(dir);
    await store.migrate();
    const t0 = performance.now();
    await LOADERS[set](store, rows, Date.now());
    // Merged before timing, as in bench:reports: otherwise the background merges of the bulk load run in the
    // served child during the first reports and are timed with them.
    await store.command('OPTIMIZE TABLE access_log FINAL');
    await store.close();
    console.log(
      `\n== ${set}, ${rows.toLocaleString('en')} rows (loaded and merged in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );

    const port = 19500 + Math.floor(Math.random() * 400);
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--data', dir, '--port', String(port), '--log-level', 'warn'],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const base = `http://127.0.0.1:${port}`;
    const cell: Cell = { set, rows, destinations: Number.NaN, ms: {}, readyzMax: 0 };
    try {
      await waitReady(base);
      // Every external destination the reports see: the hosts list's total.
      const hosts = await fetch(`${base}/v1/hosts?since=all&limit=1`);
      cell.destinations = Number(((await hosts.json()) as { total?: number }).total);
      console.log(`external destinations (GET /v1/hosts total): ${cell.destinations.toLocaleString('en')}`);
      for (const [report, path] of REPORTS) {
        const url = `${base}${path}${path.includes('?') ? '&' : '?'}since=all`;
        const t = await timeGet(base, url, RUNS);
        cell.ms[report] = t.median;
        cell.readyzMax = Math.max(cell.readyzMax, t.readyzMax);
        console.log(
          `  ${report.padEnd(16)} ${t.median.toFixed(0).padStart(6)} ms  (median of ${RUNS}; min ${t.min.toFixed(0)}, max ${t.max.toFixed(0)}, ${(t.body.length / 1024).toFixed(0)} KiB, ${listSize(t.body)}; readyz max ${t.readyzMax.toFixed(0)} ms over ${t.readyzCount})`,
        );
      }
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.on('close', r));
    }
    return cell;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function table(cells: Cell[]): string {
  const head = ['set', 'rows', 'destinations', ...REPORTS.map(([r]) => r), 'readyz max'];
  const lines = cells.map((c) => [
    c.set,
    c.rows.toLocaleString('en'),
    c.destinations.toLocaleString('en'),
    ...REPORTS.map(([r]) => `${c.ms[r]!.toFixed(0)} ms`),
    `${c.readyzMax.toFixed(0)} ms`,
  ]);
  return [head, head.map(() => '---'), ...lines].map((l) => `| ${l.join(' | ')} |`).join('\n');
}

async function main(): Promise<void> {
  const cells: Cell[] = [];
  for (const set of SETS as (keyof typeof LOADERS)[]) {
    for (const rows of ROW_COUNTS) cells.push(await measure(set, rows));
  }
  console.log(`\nreport latency through the API, since=all, median of ${RUNS} runs after a warm-up:\n`);
  console.log(table(cells));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
