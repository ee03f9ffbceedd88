/**
 * Reports benchmark: 10 M generated rows with known destinations (bench/report-data.ts), served by a child
 * `egresslens serve` on the embedded store; each report is timed through the HTTP API, median of several
 * runs after a warm-up, for the default 24 h window and for the whole 29-day data set.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChdbStore } from '../store/chdb-store.js';
import { loadReportData } from './report-data.js';
import { CLI, waitReady } from './run-child.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TARGET_MS = 300;

const REPORTS = [
  ['service-entries (yaml)', '/v1/reports/service-entries'],
  ['service-entries (json)', '/v1/reports/service-entries?format=json'],
  ['blocked', '/v1/reports/blocked'],
  ['timeouts', '/v1/reports/timeouts'],
  ['hosts', '/v1/hosts'],
] as const;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-bench-reports-'));
  const end = Date.now();
  const store = ChdbStore.open(dir);
  await store.migrate();
  const t0 = performance.now();
  await loadReportData(store, ROWS, end);
  const rows = (await store.query<{ n: number }>('SELECT count() AS n FROM access_log'))[0]?.n;
  console.log(
    `loaded ${Number(rows).toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  await store.close();

  const port = 19000 + Math.floor(Math.random() * 500);
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--data', dir, '--port', String(port), '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base);
    let worst = 0;
    for (const [label, since] of [
      ['default window (24 h)', '24h'],
      ['whole data set (30 d)', '30d'],
    ] as const) {
      console.log(`\n${label}: median of ${RUNS} runs through the API`);
      for (const [name, path] of REPORTS) {
        const url = `${base}${path}${path.includes('?') ? '&' : '?'}since=${since}`;
        const times: number[] = [];
        let bytes = 0;
        for (let i = 0; i <= RUNS; i++) {
          const started = performance.now();
          const res = await fetch(url);
          const body = await res.text();
          if (!res.ok) throw new Error(`${url}: ${res.status} ${body}`);
          if (i > 0) times.push(performance.now() - started);
          bytes = body.length;
        }
        times.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)]!;
        if (since === '24h') worst = Math.max(worst, median);
        console.log(
          `  ${name.padEnd(24)} ${median.toFixed(0).padStart(5)} ms  (min ${times[0]!.toFixed(0)}, max ${times[times.length - 1]!.toFixed(0)}, ${(bytes / 1024).toFixed(0)} KiB)`,
        );
      }
    }
    console.log(`\nslowest report, default window: ${worst.toFixed(0)} ms (target < ${TARGET_MS} ms)`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('close', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
