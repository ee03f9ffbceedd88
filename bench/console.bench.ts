/**
 * The web console's first view, in Debian's Chromium (playwright-core) against a child `egresslens serve` on
 * the embedded store: time from navigation start to each view showing its data (the page's own
 * `egresslens:view-ready` performance mark, so the browser automation's overhead is not counted), over 1 M rows of high-cardinality
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
import { chromium, type Page } from 'playwright-core';
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

/** Milliseconds from navigation start to the console's `egresslens:view-ready` mark. */
async function readyMark(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      (globalThis as unknown as { performance: Performance }).performance.getEntriesByName(
        'egresslens:view-ready',
      )[0]!.startTime,
  );
}

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
  if (rows > 0) {
    await loadHighCardinalityData(store, rows, Date.now());
    // Merge now, as a store that has been running would be: otherwise the server's first minutes of
    // background merges compete with the pages being timed.
    await store.command('OPTIMIZE TABLE access_log FINAL');
  }
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
    // In a browser already open (one context), each view opened in a new tab with the HTTP cache off: what a
    // person opening the console sees. A fresh context per run also times the browser starting its processes,
    // which on 2 cores competes with the server for the CPU: reported apart as `cold`.
    const warm = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    for (const view of VIEWS) {
      const times: number[] = [];
      const coldTimes: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const page = await warm.newPage();
        const cdp = await warm.newCDPSession(page);
        await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
        await page.goto(`${base}/#/${view}`);
        await page.locator(`#view[data-view="${view}"][data-state=ready]`).waitFor({ timeout: 120_000 });
        times.push(await readyMark(page));
        await page.close();
        const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
        const cold = await context.newPage();
        await cold.goto(`${base}/#/${view}`);
        await cold.locator(`#view[data-view="${view}"][data-state=ready]`).waitFor({ timeout: 120_000 });
        coldTimes.push(await readyMark(cold));
        await context.close();
      }
      views[view] = Math.round(median(times));
      views[`${view} (cold)`] = Math.round(median(coldTimes));
    }
    await warm.close();
    {
      const context = await browser.newContext();
      const page = await context.newPage();
      // Each file's body is read before the context closes: read in the event handler and not awaited, a
      // body still pending at close was counted as 0 bytes, and the figure moved by a file from run to run.
      const bodies: Array<Promise<number>> = [];
      page.on('response', (r) => {
        const path = new URL(r.url()).pathname;
        if (!path.startsWith('/v1/') && path !== '/healthz') bodies.push(r.body().then((b) => b.length));
      });
      await page.goto(`${base}/#/overview`);
      await page.locator('#view[data-state=ready]').waitFor({ timeout: 120_000 });
      await page.waitForLoadState('networkidle');
      pageBytes = (await Promise.all(bodies)).reduce((a, b) => a + b, 0);
      await context.close();
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
  `console view to data, median of ${RUNS} (ms; "cold": a fresh browser context each time): empty store (baseline) → ${ROWS.toLocaleString('en')} rows`,
);
for (const v of VIEWS.flatMap((view) => [view, `${view} (cold)`])) {
  const e = empty.views[v]!;
  const f = full.views[v]!;
  console.log(
    `  ${v.padEnd(16)} ${String(e).padStart(6)} → ${String(f).padStart(6)}  (×${(f / e).toFixed(2)})${f < 1000 ? '' : '  over 1 s'}`,
  );
}
console.log(
  `page weight of the first view: ${empty.pageBytes} B as sent, ${gz} B gzipped (index.html, app.js, app.css, favicon.svg)`,
);
