/**
 * Reports benchmark, through the HTTP API of a child `egresslens serve` on the embedded store. Two data sets:
 * - baseline: 10 M generated rows with a few hundred known destinations (bench/report-data.ts), timed for the
 *   default 24 h window and for the whole 29-day data set;
 * - high: 10 M rows with tens of thousands of destinations (bench/high-cardinality-data.ts), all inside 24 h.
 * Each report: median of several runs after a warm-up, and the server's CPU time per request (user + system of
 * the child, engine threads included; Linux only), which other work on a shared machine disturbs far less than
 * wall time. While they run, /readyz is polled every 50 ms and its latency reported: a health probe must never
 * wait behind a report.
 *
 *   npm run bench:reports -- [--rows N] [--set baseline|high|both] [--runs N]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ChdbStore } from '../store/chdb-store.js';
import { listSize, pollReadyz } from './api-timing.js';
import { HIGH, loadHighCardinalityData } from './high-cardinality-data.js';
import { processCpuSeconds } from './process-cpu.js';
import { loadReportData } from './report-data.js';
import { CLI, waitReady } from './run-child.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: process.env.BENCH_ROWS ?? '10000000' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '5' },
    set: { type: 'string', default: 'both' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const TARGET_MS = 1000;

/** CPU ms of the served child so far (NaN where /proc is not available). */
const cpuMs = (pid: number | undefined): number =>
  pid === undefined ? Number.NaN : processCpuSeconds(pid) * 1000;

const REPORTS = [
  ['service-entries (yaml)', '/v1/reports/service-entries'],
  ['service-entries (json)', '/v1/reports/service-entries?format=json'],
  ['blocked', '/v1/reports/blocked'],
  ['timeouts', '/v1/reports/timeouts'],
  ['hosts', '/v1/hosts'],
  ['readiness', '/v1/reports/readiness'],
] as const;

type Loader = (store: ChdbStore, rows: number, endMs: number) => Promise<void>;

async function withServer(
  name: string,
  load: Loader,
  windows: ReadonlyArray<readonly [string, string]>,
): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-bench-reports-'));
  const store = ChdbStore.open(dir);
  await store.migrate();
  const t0 = performance.now();
  await load(store, ROWS, Date.now());
  // Settle the store before timing: a bulk load leaves parts that background merges combine over the next
  // minute or two, and those merges ran in the served child during the first reports (4-5 s of its CPU per
  // report), which measured the merges, not the reports.
  await store.command('OPTIMIZE TABLE access_log FINAL');
  const rows = (await store.query<{ n: number }>('SELECT count() AS n FROM access_log'))[0]?.n;
  console.log(
    `\n== ${name}: loaded and merged ${Number(rows).toLocaleString('en')} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (name === 'high') await describeHigh(store);
  await store.close();

  const port = 19000 + Math.floor(Math.random() * 500);
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--data', dir, '--port', String(port), '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const base = `http://127.0.0.1:${port}`;
  let worst = 0;
  try {
    await waitReady(base);
    for (const [label, since] of windows) {
      console.log(`${label}: median of ${RUNS} runs through the API (readyz polled meanwhile)`);
      for (const [report, path] of REPORTS) {
        const url = `${base}${path}${path.includes('?') ? '&' : '?'}since=${since}`;
        const probe = pollReadyz(base);
        const times: number[] = [];
        const cpu: number[] = [];
        let body = '';
        for (let i = 0; i <= RUNS; i++) {
          const started = performance.now();
          const cpuBefore = cpuMs(child.pid);
          const res = await fetch(url);
          body = await res.text();
          if (!res.ok) throw new Error(`${url}: ${res.status} ${body}`);
          if (i > 0) times.push(performance.now() - started);
          if (i > 0) cpu.push(cpuMs(child.pid) - cpuBefore);
        }
        const readyz = await probe.stop();
        times.sort((a, b) => a - b);
        const median = times[Math.floor(times.length / 2)]!;
        cpu.sort((a, b) => a - b);
        const cpuMedian = cpu[Math.floor(cpu.length / 2)]!;
        if (since === '24h') worst = Math.max(worst, median);
        console.log(
          `  ${report.padEnd(24)} ${median.toFixed(0).padStart(5)} ms  (min ${times[0]!.toFixed(0)}, max ${times[times.length - 1]!.toFixed(0)}; server CPU ${Number.isNaN(cpuMedian) ? '?' : cpuMedian.toFixed(0)} ms; ${(body.length / 1024).toFixed(0)} KiB, ${listSize(body)}; readyz max ${readyz.max.toFixed(0)} ms over ${readyz.n})`,
        );
      }
    }
    console.log(`slowest report on ${name}, 24 h window: ${worst.toFixed(0)} ms (target < ${TARGET_MS} ms)`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.on('close', r));
    rmSync(dir, { recursive: true, force: true });
  }
  return worst;
}

async function describeHigh(store: ChdbStore): Promise<void> {
  const q = async (sql: string) => Number((await store.query<{ n: number }>(sql))[0]?.n);
  const ipOnly = await q(
    "SELECT uniqExact(dst_ip) AS n FROM access_log WHERE upstream_cluster = 'PassthroughCluster' AND dst_host = dst_ip",
  );
  const blockedHosts = await q(
    "SELECT uniqExact(dst_host) AS n FROM access_log WHERE route_name = 'block_all'",
  );
  const blockedIps = await q(
    "SELECT uniqExact(dst_ip) AS n FROM access_log WHERE upstream_cluster = 'BlackHoleCluster'",
  );
  const http = await q("SELECT uniqExact(dst_host) AS n FROM access_log WHERE route_name = 'allow_any'");
  const sni = await q(
    "SELECT uniqExact(dst_host) AS n FROM access_log WHERE upstream_cluster = 'PassthroughCluster' AND requested_server_name != ''",
  );
  const timeouts = await q(
    "SELECT uniqExact(upstream_cluster) AS n FROM access_log WHERE response_flags = 'UT'",
  );
  console.log(
    `destinations: ${ipOnly} IP-only (plan ${HIGH.ips}), ${blockedHosts} blocked hosts (${HIGH.blockedHosts}), ` +
      `${blockedIps} blocked IPs (${HIGH.blockedIps}), ${http} HTTP hosts (${HIGH.httpHosts}), ${sni} SNI hosts ` +
      `(${HIGH.sniHosts}), ${timeouts} timing-out hosts (${HIGH.timeoutHosts})`,
  );
}

async function main(): Promise<void> {
  const results: string[] = [];
  if (args.set === 'baseline' || args.set === 'both') {
    const worst = await withServer('baseline', loadReportData, [
      ['default window (24 h)', '24h'],
      ['whole data set (30 d)', '30d'],
    ]);
    results.push(`baseline ${worst.toFixed(0)} ms`);
  }
  if (args.set === 'high' || args.set === 'both') {
    const worst = await withServer('high', loadHighCardinalityData, [['default window (24 h)', '24h']]);
    results.push(`high-cardinality ${worst.toFixed(0)} ms`);
  }
  console.log(`\nslowest report per data set (24 h window): ${results.join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
