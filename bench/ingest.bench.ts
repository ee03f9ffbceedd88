/**
 * Ingest benchmark, one run on the same generated lines:
 *   (a) the store's insert ceiling: the rows, already encoded as JSONCompactEachRow in 50k-row batches,
 *       inserted straight into a fresh embedded store (this process)
 *   (b) `egresslens ingest FILE` end to end in a child process (read, parse, encode, insert)
 *   (c) HTTP intake: a child `egresslens serve`, fed Fluent Bit json_lines bodies of 1,000 records by a
 *       client with many requests in flight (as many Fluent Bit workers would)
 * and the peak RSS of (b) for 1 M and for 5 M lines.
 */

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isTextMatch, LineDecoder } from '../ingest/line-decoder.js';
import { ChdbStore } from '../store/chdb-store.js';
import { RowEncoder } from '../store/row-encoder.js';
import { ACCESS_LOG_INSERT_COLUMNS } from '../store/schema.js';
import { CLI, runCli, waitReady } from './run-child.js';
import { writeLogFile } from './write-log-file.js';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const BIG_LINES = Number(process.env.BENCH_BIG_LINES ?? 5_000_000);
const HTTP_CONCURRENCY = Number(process.env.BENCH_HTTP_CONCURRENCY ?? 64);
const BATCH_ROWS = 50_000;

const work = mkdtempSync(join(tmpdir(), 'egresslens-bench-ingest-'));

async function insertCeiling(file: string): Promise<number> {
  const text = readFileSync(file);
  const decoder = new LineDecoder('auto');
  const source = { source: 'file', namespace: '', pod: '', container: '', workload: '', node: '' };
  const batches: Buffer[] = [];
  let encoder = new RowEncoder(64 << 20);
  let start = 0;
  while (start < text.length) {
    let nl = text.indexOf(10, start);
    if (nl < 0) nl = text.length;
    const r = decoder.decode(text, start, nl);
    if (isTextMatch(r)) encoder.addScan(r, text, r.state, source, false, start, nl, 0);
    if (encoder.rows === BATCH_ROWS) {
      batches.push(encoder.take());
      encoder = new RowEncoder(64 << 20);
    }
    start = nl + 1;
  }
  if (encoder.rows) batches.push(encoder.take());
  const store = ChdbStore.open(join(work, 'ceiling'));
  await store.migrate();
  const t0 = performance.now();
  for (const body of batches) {
    await store.insert({
      table: 'access_log',
      body,
      format: 'JSONCompactEachRow',
      columns: ACCESS_LOG_INSERT_COLUMNS,
    });
  }
  const seconds = (performance.now() - t0) / 1000;
  const n = (await store.query<{ n: number }>('SELECT count() AS n FROM access_log'))[0]?.n;
  await store.close();
  if (Number(n) !== LINES) throw new Error(`ceiling stored ${n} rows, expected ${LINES}`);
  return LINES / seconds;
}

async function fileIngest(file: string, dir: string): Promise<{ peakRssMb: number; seconds: number }> {
  const run = await runCli(['ingest', '--data', dir, file]);
  if (run.code !== 0) throw new Error(`ingest failed: ${run.stderr}`);
  return { peakRssMb: run.peakRssMb, seconds: run.seconds };
}

async function httpIntake(file: string): Promise<number> {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const dir = join(work, 'http');
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--data', dir, '--port', String(port), '--log-level', 'warn'],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const bodies: string[] = [];
  const date = Date.now() / 1000;
  for (let i = 0; i < lines.length; i += 1000) {
    bodies.push(
      lines
        .slice(i, i + 1000)
        .map((log, k) =>
          JSON.stringify({
            date: date + k / 1000,
            log,
            stream: 'stdout',
            kubernetes: {
              namespace_name: 'shop',
              pod_name: `checkout-7f9c8d-${(i / 1000) % 20}`,
              container_name: 'istio-proxy',
              host: 'node-1',
              labels: { app: 'checkout' },
            },
          }),
        )
        .join('\n'),
    );
  }
  let next = 0;
  let retries = 0;
  const t0 = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!;
      for (;;) {
        const res = await fetch(`${base}/v1/ingest/fluent-bit`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-ndjson' },
          body,
        });
        await res.arrayBuffer();
        if (res.ok) break;
        if (res.status !== 429 && res.status !== 503) throw new Error(`intake answered ${res.status}`);
        retries++;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: HTTP_CONCURRENCY }, worker));
  const seconds = (performance.now() - t0) / 1000;
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  console.log(`  (c) ${bodies.length} requests, ${retries} answered 429/503 and retried`);
  return lines.length / seconds;
}

async function main(): Promise<void> {
  const file = join(work, 'access-1m.log');
  const bytes = await writeLogFile(file, LINES);
  console.log(`generated ${LINES.toLocaleString('en')} lines, ${(bytes / 1e6).toFixed(0)} MB`);

  const a = await insertCeiling(file);
  console.log(
    `(a) store insert ceiling (pre-encoded, 50k-row batches): ${Math.round(a).toLocaleString('en')} lines/s`,
  );

  const b1 = await fileIngest(file, join(work, 'file-1m'));
  const b = LINES / b1.seconds;
  console.log(
    `(b) egresslens ingest, end to end:                     ${Math.round(b).toLocaleString('en')} lines/s, peak RSS ${b1.peakRssMb.toFixed(0)} MB`,
  );

  const c = await httpIntake(file);
  console.log(
    `(c) HTTP intake, Fluent Bit json_lines x1000, ${HTTP_CONCURRENCY} in flight: ${Math.round(c).toLocaleString('en')} lines/s`,
  );

  rmSync(join(work, 'ceiling'), { recursive: true, force: true });
  rmSync(join(work, 'file-1m'), { recursive: true, force: true });
  rmSync(join(work, 'http'), { recursive: true, force: true });
  const big = join(work, 'access-5m.log');
  await writeLogFile(big, BIG_LINES, 11);
  rmSync(file, { force: true });
  const b5 = await fileIngest(big, join(work, 'file-5m'));
  console.log(
    `peak RSS of egresslens ingest: ${b1.peakRssMb.toFixed(0)} MB for ${LINES.toLocaleString('en')} lines, ${b5.peakRssMb.toFixed(0)} MB for ${BIG_LINES.toLocaleString('en')} lines (${((100 * (b5.peakRssMb - b1.peakRssMb)) / b1.peakRssMb).toFixed(1)} %)`,
  );
  console.log(`b/a = ${(b / a).toFixed(2)}`);
  console.log(`c/a = ${(c / a).toFixed(2)}`);
  rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
