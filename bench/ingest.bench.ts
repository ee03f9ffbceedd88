/**
 * Ingest benchmark, one run on the same generated lines:
 *   (a) the store's insert ceiling: the rows, already encoded as JSONCompactEachRow in 50k-row batches,
 *       inserted straight into a fresh embedded store (this process), one insert at a time as egresslens does;
 *       (a2) the same with two inserts at a time (two Sessions), as a ClickHouse server takes them from several
 *       egresslens instances
 *   (b) `egresslens ingest FILE` end to end in a child process (read, parse, encode, insert), the file at the
 *       kubelet's path of one of (c)'s pods (bench/pod-log-files.ts), so that its rows get the pod, namespace,
 *       container and workload (c)'s records carry; (a) encodes the same metadata
 *   (c) HTTP intake: a child `egresslens serve --journal`, fed Fluent Bit bodies of 1,000 records by a client
 *       with many requests in flight (as many Fluent Bit workers would), once per body format, each against a
 *       fresh data directory and a fresh child: (c1) json_lines, (c2) json_lines + gzip, (c3) msgpack, (c4)
 *       msgpack + gzip; and (c2s) json_lines + gzip without a journal, each request answered once its rows are
 *       stored; the bodies are built before the clock starts, and the clock stops once every row is stored
 * and the peak RSS of (b) for 1 M and for 5 M lines.
 *
 * Next to each rate: the CPU seconds the measured process spent (per million lines, and lines per CPU second
 * = per core), which other load on a shared machine skews far less than wall time; for (c) also the client's
 * own CPU share, since it competes with the server for the same cores. (b) and each (c) are also run on one line,
 * and the CPU per line net of startup, (CPU − CPU for one line) per line beyond the first, is printed beside the
 * gross figure, as bench:kafka does: serve starts more (the API, the console) than ingest does, once per process.
 * BENCH_CPU_PROF=<dir> makes the (b) and (c) children write CPU profiles there (ingest-file.cpuprofile,
 * serve-c1.cpuprofile, ...).
 */

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { drainPending, Session } from 'chdb';
import { workloadFromPodName } from '../ingest/kubernetes-meta.js';
import { isTextMatch, LineDecoder } from '../ingest/line-decoder.js';
import { ChdbStore, ENGINE_ARGS } from '../store/chdb-store.js';
import { RowEncoder, type RowSource } from '../store/row-encoder.js';
import { ACCESS_LOG_INSERT_COLUMNS } from '../store/schema.js';
import { fluentHttpBodies, type HttpBodyFormat, podOfBody } from './fluent-http-bodies.js';
import { postBody } from './http-post.js';
import { kubeletLogPath } from './pod-log-files.js';
import {
  cpuByThreadName,
  netCpuPerLine,
  ownCpuSeconds,
  peakRssMb,
  processCpuSeconds,
} from './process-cpu.js';
import { CLI, cpuProfileArgs, runCli, waitReady } from './run-child.js';
import { writeLogFile } from './write-log-file.js';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
/** 0 skips the RSS comparison on a bigger file. */
const BIG_LINES = Number(process.env.BENCH_BIG_LINES ?? 5_000_000);
const HTTP_CONCURRENCY = Number(process.env.BENCH_HTTP_CONCURRENCY ?? 64);
const BATCH_ROWS = 50_000;
/** Records per HTTP body. */
const HTTP_RECORDS = 1000;
/** The pod whose log file (b) reads, at its kubelet path: one of the pods of (c)'s bodies. */
const FILE_POD = podOfBody(0);
/** `c1,c3`: only these HTTP variants (while iterating); all of them by default. */
const ONLY = process.env.BENCH_HTTP_VARIANTS?.split(',');

/**
 * Every store directory stays until the run ends. Removing one (thousands of part files) just before the next
 * path runs cost that path up to 0.76 CPU s per million lines of ext4 inode allocation (find_inode_bit,
 * recently_deleted: freshly freed inodes are skipped, not reused) in a perf profile of this benchmark, so (b),
 * run right after the ceilings' directories were removed, and each (c) after the one before it, paid for
 * another path's cleanup.
 */
const work = mkdtempSync(join(tmpdir(), 'egresslens-bench-ingest-'));

/** The file's lines as (a) inserts them: JSONCompactEachRow batches of BATCH_ROWS, with (b)'s metadata. */
function encodeBatches(file: string): Buffer[] {
  const text = readFileSync(file);
  const decoder = new LineDecoder('auto');
  // The metadata (b) reads from the file's kubelet path.
  const source: RowSource = {
    source: 'file',
    ...FILE_POD,
    workload: workloadFromPodName(FILE_POD.pod),
    node: '',
  };
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
  return batches;
}

/**
 * The batches inserted into a fresh embedded store by `streams` inserts at a time, each on a chDB Session of its
 * own (one Session runs one operation at a time), as the store's own ingest Session does with one.
 */
async function insertCeiling(
  batches: Buffer[],
  streams: number,
): Promise<{ linesPerSecond: number; cpuSeconds: number }> {
  const dir = join(work, `ceiling-${streams}`);
  const store = ChdbStore.open(dir);
  await store.migrate();
  await store.close();
  const sessions = Array.from({ length: streams }, () => new Session(dir, { connectionArgs: ENGINE_ARGS }));
  let next = 0;
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    sessions.map(async (session) => {
      while (next < batches.length) {
        const body = batches[next++]!;
        await session.insert({
          table: 'access_log',
          values: body,
          format: 'JSONCompactEachRow',
          columns: [...ACCESS_LOG_INSERT_COLUMNS],
        });
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuSeconds = ownCpuSeconds(cpu);
  const n = JSON.parse(
    (await sessions[0]!.queryAsync('SELECT count() AS n FROM access_log', { format: 'JSONEachRow' })).text(),
  ).n;
  for (const session of sessions) session.close();
  await drainPending();
  // The directory stays until the run ends (see the note at `work`).
  if (Number(n) !== LINES) throw new Error(`ceiling stored ${n} rows, expected ${LINES}`);
  return { linesPerSecond: LINES / seconds, cpuSeconds };
}

async function fileIngest(
  file: string,
  dir: string,
  profile?: string,
): Promise<{
  peakRssMb: number;
  seconds: number;
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  threads: Array<[string, number]>;
}> {
  const run = await runCli(['ingest', '--data', dir, file], {
    nodeArgs: profile ? cpuProfileArgs(profile) : [],
  });
  if (run.code !== 0) throw new Error(`ingest failed: ${run.stderr}`);
  return {
    peakRssMb: run.peakRssMb,
    seconds: run.seconds,
    cpuSeconds: run.cpuSeconds,
    mainThreadCpuSeconds: run.mainThreadCpuSeconds,
    threads: run.threads,
  };
}

interface HttpRun {
  linesPerSecond: number;
  /** CPU of the serve child from its start until every row is stored, and the part spent starting up. */
  cpuSeconds: number;
  mainThreadCpuSeconds: number;
  startupCpuSeconds: number;
  /** This process's CPU while it sent the bodies. */
  clientCpuSeconds: number;
  seconds: number;
  requests: number;
  /** Bytes of all the bodies as sent (compressed for the gzip variants). */
  bodyBytes: number;
  retries: number;
  /** Batches the server sealed (inserts into access_log). */
  batches: number;
  /** CPU seconds by thread name at the end. */
  threads: Array<[string, number]>;
  latencyMs: { p50: number; p99: number; max: number };
  /** From the last 2xx until every row was stored (the journal answers before the store has the rows). */
  storedAfterMs: number;
  peakRssMb: number;
}

async function httpIntake(
  lines: string[],
  format: HttpBodyFormat,
  name: string,
  journal: boolean,
): Promise<HttpRun> {
  const bodies = fluentHttpBodies(lines, format, HTTP_RECORDS);
  const port = 18000 + Math.floor(Math.random() * 1000);
  const dir = join(work, `http-${name}`);
  const child = spawn(
    process.execPath,
    [
      ...cpuProfileArgs(`serve-${name}`),
      CLI,
      'serve',
      '--data',
      dir,
      '--port',
      String(port),
      '--log-level',
      'warn',
      ...(journal ? ['--journal', join(dir, 'journal')] : []),
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const base = `http://127.0.0.1:${port}`;
  await waitReady(base);
  const startupCpuSeconds = processCpuSeconds(child.pid);
  let next = 0;
  let retries = 0;
  const latencies: number[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: HTTP_CONCURRENCY });
  const intake = new URL(`${base}/v1/ingest/fluent-bit`);
  const clientCpu = process.cpuUsage();
  const t0 = performance.now();
  const worker = async () => {
    while (next < bodies.length) {
      const { body, headers } = bodies[next++]!;
      const sent = performance.now();
      for (;;) {
        const res = await postBody(agent, intake, headers, body);
        if (res.status >= 200 && res.status < 300) break;
        if (res.status !== 429 && res.status !== 503) throw new Error(`intake answered ${res.status}`);
        retries++;
        await new Promise((r) => setTimeout(r, 50));
      }
      latencies.push(performance.now() - sent);
    }
  };
  await Promise.all(Array.from({ length: HTTP_CONCURRENCY }, worker));
  const answered = performance.now();
  const clientCpuSeconds = ownCpuSeconds(clientCpu);
  agent.destroy();
  let metrics = '';
  for (const deadline = answered + 300_000; ; ) {
    metrics = await (await fetch(`${base}/metrics`)).text();
    if (counterOf(metrics, 'egresslens_stored_rows_total') >= lines.length) break;
    if (performance.now() > deadline)
      throw new Error(`(${name}) rows still unstored 300 s after the last 2xx`);
    // Each poll costs the server a /metrics answer (counted in its CPU): often enough to time the end of
    // a run of several seconds closely, seldom enough not to weigh on it.
    await new Promise((r) => setTimeout(r, 100));
  }
  const storedAt = performance.now();
  const seconds = (storedAt - t0) / 1000;
  const batches = counterOf(metrics, 'egresslens_batches_total');
  const cpuSeconds = processCpuSeconds(child.pid);
  const mainThreadCpuSeconds = processCpuSeconds(child.pid, true);
  const threads = cpuByThreadName(child.pid);
  const peakRss = peakRssMb(child.pid);
  child.kill('SIGTERM');
  await new Promise((r) => child.on('close', r));
  // The directory stays until the run ends (see the note at `work`).
  latencies.sort((x, y) => x - y);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!;
  return {
    linesPerSecond: lines.length / seconds,
    cpuSeconds,
    mainThreadCpuSeconds,
    startupCpuSeconds,
    clientCpuSeconds,
    seconds,
    requests: bodies.length,
    bodyBytes: bodies.reduce((n, b) => n + b.body.length, 0),
    retries,
    batches,
    threads,
    latencyMs: { p50: at(0.5), p99: at(0.99), max: latencies[latencies.length - 1]! },
    storedAfterMs: storedAt - answered,
    peakRssMb: peakRss,
  };
}

function counterOf(metrics: string, name: string): number {
  return Number(new RegExp(`^${name}\\S* (\\d+)`, 'm').exec(metrics)?.[1] ?? Number.NaN);
}

const HTTP_VARIANTS: Array<{ id: string; format: HttpBodyFormat; label: string; journal: boolean }> = [
  { id: 'c1', format: 'json_lines', label: 'json_lines', journal: true },
  { id: 'c2', format: 'json_lines_gzip', label: 'json_lines + gzip', journal: true },
  { id: 'c3', format: 'msgpack', label: 'msgpack', journal: true },
  { id: 'c4', format: 'msgpack_gzip', label: 'msgpack + gzip', journal: true },
  { id: 'c2s', format: 'json_lines_gzip', label: 'json_lines + gzip, no journal', journal: false },
];

const rate = (n: number) => Math.round(n).toLocaleString('en');

/** CPU seconds per million lines and lines per CPU second, the figures other load on the machine skews least. */
function cpuFigures(cpuSeconds: number, lines: number, mainThread?: number): string {
  const main = mainThread === undefined ? '' : ` (main thread ${mainThread.toFixed(1)} s)`;
  return `CPU ${cpuSeconds.toFixed(1)} s${main} = ${((cpuSeconds * 1e6) / lines).toFixed(2)} s per M lines, ${rate(lines / cpuSeconds)} lines/s per core`;
}

/** CPU seconds per line net of startup (netCpuPerLine): serve starts more than ingest does, once per process. */
function netPerLine(cpuSeconds: number, oneLine: number): number {
  return netCpuPerLine(cpuSeconds, oneLine, LINES);
}

function netFigures(cpuSeconds: number, oneLine: number): string {
  const net = netPerLine(cpuSeconds, oneLine);
  return `net of startup (${oneLine.toFixed(1)} CPU s for one line): ${(net * 1e6).toFixed(2)} s per M lines, ${rate(1 / net)} lines/s per core`;
}

async function main(): Promise<void> {
  const file = kubeletLogPath(join(work, 'pods-1m'), FILE_POD);
  mkdirSync(dirname(file), { recursive: true });
  const bytes = await writeLogFile(file, LINES);
  console.log(`generated ${LINES.toLocaleString('en')} lines, ${(bytes / 1e6).toFixed(0)} MB`);

  const batches = encodeBatches(file);
  const ceiling = await insertCeiling(batches, 1);
  const a = ceiling.linesPerSecond;
  console.log(
    `(a) store insert ceiling (pre-encoded, 50k-row batches): ${rate(a)} lines/s; ${cpuFigures(ceiling.cpuSeconds, LINES)}`,
  );
  const two = await insertCeiling(batches, 2);
  batches.length = 0;
  console.log(
    `(a2) the same batches, two inserts at a time:          ${rate(two.linesPerSecond)} lines/s (${(two.linesPerSecond / a).toFixed(2)} × a); ${cpuFigures(two.cpuSeconds, LINES)}`,
  );

  const b1 = await fileIngest(file, join(work, 'file-1m'), 'ingest-file');
  const b = LINES / b1.seconds;
  console.log(
    `(b) egresslens ingest, end to end:                     ${rate(b)} lines/s, peak RSS ${b1.peakRssMb.toFixed(0)} MB; ${cpuFigures(b1.cpuSeconds, LINES, b1.mainThreadCpuSeconds)}`,
  );

  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const oneFile = kubeletLogPath(join(work, 'pods-one'), FILE_POD);
  mkdirSync(dirname(oneFile), { recursive: true });
  writeFileSync(oneFile, `${lines[0]}\n`);
  const bOne = await fileIngest(oneFile, join(work, 'file-one'));
  console.log(`  (b) ${netFigures(b1.cpuSeconds, bOne.cpuSeconds)}`);
  const c: Array<{ id: string; label: string; run: HttpRun; oneLineCpuSeconds: number }> = [];
  for (const v of HTTP_VARIANTS.filter((x) => !ONLY || ONLY.includes(x.id))) {
    const run = await httpIntake(lines, v.format, v.id, v.journal);
    const one = await httpIntake(lines.slice(0, 1), v.format, `${v.id}-one`, v.journal);
    c.push({ id: v.id, label: v.label, run, oneLineCpuSeconds: one.cpuSeconds });
    const cores = availableParallelism();
    console.log(
      `(${v.id}) HTTP intake, Fluent Bit ${v.label} x1000, ${HTTP_CONCURRENCY} in flight: ${rate(run.linesPerSecond)} lines/s; serve ${cpuFigures(run.cpuSeconds, LINES, run.mainThreadCpuSeconds)} (${run.startupCpuSeconds.toFixed(1)} s of it starting up)`,
    );
    console.log(`  (${v.id}) ${netFigures(run.cpuSeconds, one.cpuSeconds)}`);
    console.log(
      `  (${v.id}) ${run.requests} requests of ${(run.bodyBytes / 1e6).toFixed(0)} MB in all, ${run.retries} answered 429/503 and retried; ${run.batches} batches of ${rate(LINES / run.batches)} rows on average; latency to 2xx p50 ${run.latencyMs.p50.toFixed(0)} ms, p99 ${run.latencyMs.p99.toFixed(0)} ms, max ${run.latencyMs.max.toFixed(0)} ms, all stored ${run.storedAfterMs.toFixed(0)} ms after the last 2xx; peak RSS ${run.peakRssMb.toFixed(0)} MB; client CPU ${run.clientCpuSeconds.toFixed(1)} s in ${run.seconds.toFixed(1)} s = ${((100 * run.clientCpuSeconds) / (run.seconds * cores)).toFixed(0)} % of ${cores} cores, serve ${((100 * (run.cpuSeconds - run.startupCpuSeconds)) / (run.seconds * cores)).toFixed(0)} %`,
    );
  }
  lines.length = 0;
  const byThread = (threads: Array<[string, number]>) =>
    threads
      .slice(0, 6)
      .map(([name, s]) => `${name} ${s.toFixed(1)} s`)
      .join(', ');
  console.log(`  (b) CPU by thread: ${byThread(b1.threads)}`);
  for (const v of c) console.log(`  (${v.id}) serve CPU by thread: ${byThread(v.run.threads)}`);

  if (BIG_LINES > 0) {
    const big = kubeletLogPath(join(work, 'pods-5m'), FILE_POD);
    mkdirSync(dirname(big), { recursive: true });
    await writeLogFile(big, BIG_LINES, 11);
    const b5 = await fileIngest(big, join(work, 'file-5m'));
    console.log(
      `peak RSS of egresslens ingest: ${b1.peakRssMb.toFixed(0)} MB for ${LINES.toLocaleString('en')} lines, ${b5.peakRssMb.toFixed(0)} MB for ${BIG_LINES.toLocaleString('en')} lines (${((100 * (b5.peakRssMb - b1.peakRssMb)) / b1.peakRssMb).toFixed(1)} %)`,
    );
  }
  console.log(`b/a = ${(b / a).toFixed(2)}`);
  for (const v of c) console.log(`c/a = ${(v.run.linesPerSecond / a).toFixed(2)} (${v.id}, ${v.label})`);
  const bNet = netPerLine(b1.cpuSeconds, bOne.cpuSeconds);
  for (const v of c)
    console.log(
      `CPU per line, c/b: ${(v.run.cpuSeconds / b1.cpuSeconds).toFixed(2)}, net of startup ${(netPerLine(v.run.cpuSeconds, v.oneLineCpuSeconds) / bNet).toFixed(2)} (${v.id}, ${v.label})`,
    );
  rmSync(work, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  rmSync(work, { recursive: true, force: true });
  process.exit(1);
});
