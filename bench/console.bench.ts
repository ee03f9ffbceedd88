/**
 * The web console's first view, in Debian's Chromium (playwright-core) against a child `egresslens serve` on
 * the embedded store: time from navigation to each view showing its data, over 1 M rows of high-cardinality
 * mesh traffic in the last 24 h, and the same over an empty store as the baseline in the same run (the cost of
 * the page itself). Also the bytes the first view downloads, as sent and gzipped.
 *
 *   npm run bench:console -- [--rows N] [--runs N]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { ChdbStore } from '../store/chdb-store.js';
import { loadHighCardinalityData } from './high-cardinality-data.js';
import { CLI, waitReady } from './run-child.js';

const { values: args } = parseArgs({
  options: {
    rows: { type: 'string', default: process.env.BENCH_ROWS ?? '1000000' },
    runs: { type: 'string', default: process.env.BENCH_RUNS ?? '5' },
  },
});
const ROWS = Number(args.rows);
const RUNS = Number(args.runs);
const VIEWS = ['overview', 'hosts', 'service-entries', 'readiness'] as const;
const CHROMIUM = process.env['EGRESSLENS_CHROMIUM'] ?? '/usr/bin/chromium';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Timings {
  /** view → median ms from navigation to data shown */
  views: Record<string, number>;
  /** Bytes of the first view's own files (HTML, JS, CSS, icon), as sent. */
  pageBytes: number;
}

async function measure(rows: number): Promise<Timings> {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-bench-console-'));
  const store = ChdbStore.open(dir);
  await store.migrate();
  if (rows > 0) await loadHighCardinalityData(store, rows, Date.now());
  await store.close();
  const port = 18_000 + Math.floor(Math.random() * 2000);
  const child = spawn(
    process.execPath,
    [CLI.replace(/\.js$/, '.cjs'), 'serve', '--data', dir, '--port', String(port), '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  try {
    await waitReady(base);
    const views: Record<string, number> = {};
    let pageBytes = 0;
    for (const view of VIEWS) {
      const times: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        // A new context each time: nothing cached, as a first visit.
        const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
        const page = await context.newPage();
        let bytes = 0;
        page.on('response', async (r) => {
          if (!r.url().includes('/v1/')) bytes += (await r.body().catch(() => Buffer.alloc(0))).length;
        });
        const t0 = performance.now();
        await page.goto(`${base}/#/${view}`);
        await page.locator(`#view[data-view="${view}"][data-state=ready]`).waitFor({ timeout: 120_000 });
        times.push(performance.now() - t0);
        if (view === 'overview' && run === 0) pageBytes = bytes;
        await context.close();
      }
      views[view] = Math.round(median(times));
    }
    return { views, pageBytes };
  } finally {
    await browser.close();
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const dist = join(process.cwd(), 'dist', 'console');
const gz = ['index.html', 'app.js', 'app.css', 'favicon.svg']
  .map((f) => gzipSync(readFileSync(join(dist, f))).length)
  .reduce((a, b) => a + b, 0);
const empty = await measure(0);
const full = await measure(ROWS);
console.log(
  `console first view, median of ${RUNS} fresh browser contexts (ms): empty store (baseline) → ${ROWS.toLocaleString('en')} rows`,
);
for (const v of VIEWS) {
  const e = empty.views[v]!;
  const f = full.views[v]!;
  console.log(
    `  ${v.padEnd(16)} ${String(e).padStart(6)} → ${String(f).padStart(6)}  (×${(f / e).toFixed(2)})${f < 1000 ? '' : '  over 1 s'}`,
  );
}
console.log(
  `page weight of the first view: ${empty.pageBytes} B as sent, ${gz} B gzipped (index.html, app.js, app.css, favicon.svg)`,
);
