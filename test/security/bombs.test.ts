/**
 * Memory and time bombs against a real served instance (fastify listening on a socket, embedded chDB): each is
 * answered with a 4xx quickly, the process's peak RSS stays within a bound over its baseline, /healthz answers
 * all along, no request holds the event loop (perf_hooks.monitorEventLoopDelay), and a good batch is stored
 * afterwards. Then, in child processes running `egresslens serve`: the heap guard refuses bodies, a real heap
 * exhaustion ends the process (it used to hang for minutes in chDB's SIGABRT handler), and the watchdog kills
 * a process whose event loop is stuck.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../api/server.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { pipelineOptions } from '../../ingest/pipeline-options.js';
import { loadConfig } from '../../schemas/config.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { count, generatedLines, joinLines } from '../helpers/lines.js';

const FB = '/v1/ingest/fluent-bit';
const LINES = '/v1/ingest/lines';
/** Peak RSS a single bomb may add over the RSS before it (measured: up to ~130 MB, for 64 MB inflated). */
const RSS_BOUND_MB = 400;
/** Longest the event loop may be held (main-thread CPU time) while bombs and big legal bodies are posted. */
const MAX_LOOP_HOLD_MS = 150;
const EGRESSLENS = join(import.meta.dirname, '../../dist/bin/egresslens.js');

interface Answer {
  status: number;
  body: string;
  ms: number;
  headers: http.IncomingHttpHeaders;
}

const agent = new http.Agent({ keepAlive: true });

function request(
  port: number,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          ms: performance.now() - t0,
          headers: res.headers,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

function rssMb(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s*(\\d+) kB`).exec(status)![1]) / 1024;
}

/**
 * The longest time the event loop was held, in CPU time of the main thread: a 5 ms timer reads the thread's
 * on-CPU time (/proc/thread-self/schedstat); between two ticks it can only have run the loop's own work. Unlike
 * the wall-clock delay of monitorEventLoopDelay, this does not grow when a busy machine keeps the thread
 * waiting for a core (this 2-core box runs other test processes), so it can be asserted tightly.
 */
class LoopStretches {
  private max = 0;
  private last = LoopStretches.cpuNs();
  private readonly timer = setInterval(() => {
    const now = LoopStretches.cpuNs();
    this.max = Math.max(this.max, now - this.last);
    this.last = now;
  }, 5);

  static cpuNs(): number {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
  }

  /** The longest stretch in ms, and stops measuring. */
  stop(): number {
    clearInterval(this.timer);
    const now = LoopStretches.cpuNs();
    return Math.max(this.max, now - this.last) / 1e6;
  }
}

/** Resets the process's peak RSS (VmHWM) to its current RSS, so the next peak is one bomb's. */
function resetPeak(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

/** gzip of `total` bytes of `chunk` repeated: one gzip member per chunk, concatenated (gunzip reads them all). */
function gzipOf(chunk: Buffer, total: number): Buffer {
  const member = gzipSync(chunk, { level: 9 });
  return Buffer.concat(Array.from({ length: Math.ceil(total / chunk.length) }, () => member));
}

/** 16 MB of msgpack one-element arrays nested in each other (0x91 0x91 … 0x00). */
function nestedMsgpack(bytes: number): Buffer {
  const b = Buffer.alloc(bytes, 0x91);
  b[bytes - 1] = 0;
  return b;
}

function makeBodies() {
  const nested = nestedMsgpack(16_000_000);
  // Nested maps: {"a": {"a": …}} as fixmap(1) + fixstr "a" repeated.
  const nestedMaps = Buffer.alloc(15_000_000);
  for (let i = 0; i + 3 <= nestedMaps.length; i += 3) nestedMaps.set([0x81, 0xa1, 0x61], i);
  const wide = Object.fromEntries(Array.from({ length: 1_000_000 }, (_, i) => [`k${i}`, 1]));
  const lines = generatedLines(40_000, 11).map((g) => g.line);
  const [good] = generatedLines(1, 7).map((g) => g.line);
  const criLine = `2024-05-01T10:00:00.000000000Z stdout P ${'x'.repeat(100)}\n`;
  return {
    nested,
    nestedGz: gzipSync(nested, { level: 9 }),
    nestedMaps,
    jsonArrays: Buffer.from('['.repeat(16_000_000)),
    jsonObjects: Buffer.from('{"a":'.repeat(3_000_000)),
    zeros: gzipOf(Buffer.alloc(1 << 20), 1 << 30),
    newlines: gzipOf(Buffer.alloc(1 << 20, 10), 1 << 30),
    newlines64: gzipOf(Buffer.alloc(1 << 20, 10), 63 << 20),
    newlines16: Buffer.alloc(16_000_000, 10),
    tinyJson: Buffer.from('{"log":"x"}\n'.repeat(100_001)),
    tinyMsgpack: Buffer.concat(Array.from({ length: 100_001 }, () => encode([1, { log: 'x' }]))),
    tinyLines: Buffer.from('x\n'.repeat(100_001)),
    wideJson: Buffer.from(JSON.stringify(wide)),
    wideMsgpack: Buffer.from(encode([1, wide])),
    longArray: Buffer.from(`[[${'0,'.repeat(999_999)}0]]`),
    overLong: Buffer.from(
      `${JSON.stringify({ log: 'x'.repeat(2 << 20) })}\n${JSON.stringify({ log: good })}\n`,
    ),
    lines: joinLines(lines),
    linesGz: gzipSync(joinLines(lines.slice(0, 20_000))),
    cri: Buffer.from(`${criLine.repeat(5_000)}2024-05-01T10:00:00.000000000Z stdout F end\n`),
    // 60 MB of P pieces of one CRI line, then its F piece and a good line.
    criBomb: gzipSync(
      `${`2024-05-01T10:00:00.000000000Z stdout P ${'x'.repeat(1000)}\n`.repeat(60_000)}2024-05-01T10:00:00.000000000Z stdout F end\n${good}\n`,
    ),
    good: joinLines(generatedLines(100, 99).map((g) => g.line)),
  };
}

describe('bombs against a served instance', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-bombs-'));
  let store: ChdbStore;
  let pipeline: IngestPipeline;
  let app: FastifyInstance;
  let port: number;
  const figures: string[] = [];
  /** Per request: the longest event-loop delay (wall clock) and the longest stretch of main-thread CPU time. */
  const delays: Array<{ name: string; ms: number; cpuMs: number }> = [];
  /** Runs `fn` with the event loop measured; records the figures under `name`. */
  async function measured<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const h = monitorEventLoopDelay({ resolution: 10 });
    const stretch = new LoopStretches();
    h.enable();
    try {
      return await fn();
    } finally {
      h.disable();
      delays.push({ name, ms: h.max / 1e6, cpuMs: stretch.stop() });
    }
  }
  // /healthz polled all along: every answer must be 200, none slow.
  const health = { answered: 0, failed: 0, maxMs: 0 };
  let poller: NodeJS.Timeout | undefined;

  // Built before anything is measured: the test and the server share this process and its event loop.
  let bodies: ReturnType<typeof makeBodies>;

  beforeAll(async () => {
    bodies = makeBodies();
    store = ChdbStore.open(dir);
    await store.migrate();
    const config = loadConfig({ env: {}, flags: { ingest: { flushIntervalMs: 50 } } });
    pipeline = new IngestPipeline(store, pipelineOptions(config));
    ({ app } = await buildServer({ config, store, pipeline, log: pino({ level: 'silent' }) }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
    let inFlight = false;
    poller = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      request(port, 'GET', '/healthz').then(
        (a) => {
          inFlight = false;
          if (a.status === 200) health.answered++;
          else health.failed++;
          health.maxMs = Math.max(health.maxMs, a.ms);
        },
        () => {
          inFlight = false;
          health.failed++;
        },
      );
    }, 50);
  });

  afterAll(async () => {
    clearInterval(poller);
    process.stdout.write(`bombs (served instance):\n${figures.map((f) => `  ${f}`).join('\n')}\n`);
    await app?.close();
    await pipeline?.close(5000);
    await store?.close();
  });

  /** Posts a bomb; checks status, reason, time and the peak RSS it caused; returns the answer. */
  async function bomb(
    name: string,
    path: string,
    body: Buffer,
    headers: Record<string, string>,
    expected: { status: number; error: RegExp },
  ): Promise<Answer> {
    await sleep(20); // let the previous bomb's buffers go
    const before = rssMb('self', 'VmRSS');
    resetPeak();
    const answer = await measured(name, () => request(port, 'POST', path, body, headers));
    const peak = rssMb('self', 'VmHWM');
    figures.push(
      `${name}: ${body.length} B → ${answer.status} in ${answer.ms.toFixed(0)} ms, peak RSS +${Math.max(0, peak - before).toFixed(0)} MB`,
    );
    expect(answer.status, answer.body).toBe(expected.status);
    if (expected.status >= 400) {
      expect((JSON.parse(answer.body) as { error: string }).error).toMatch(expected.error);
    }
    expect(answer.ms, name).toBeLessThan(10_000);
    expect(peak - before, `${name}: peak RSS over baseline (MB)`).toBeLessThan(RSS_BOUND_MB);
    return answer;
  }

  const depth = /nested more than 64 levels deep .*ingest\.maxDepth/;
  const keys = /more than 1000 keys \(limit ingest\.maxKeysPerRecord\)/;
  const decoded = /decoded body exceeds 67108864 bytes \(limit ingest\.maxDecodedBytes\)/;
  const records = /more than 100000 (records|lines) \(limit ingest\.maxRecords\)/;
  const msgpack = { 'content-type': 'application/msgpack' };
  const ndjson = { 'content-type': 'application/x-ndjson' };
  const json = { 'content-type': 'application/json' };
  const text = { 'content-type': 'text/plain' };

  it('nesting bombs: 16 MB of nested msgpack arrays (plain and as a 58 KB gzip), nested JSON arrays and objects → 400', async () => {
    const { nested, nestedGz: gz, nestedMaps: maps } = bodies;
    expect(gz.length).toBeLessThan(60_000);
    await bomb('msgpack nested arrays 16 MB', FB, nested, msgpack, { status: 400, error: depth });
    await bomb(
      'msgpack nested arrays, 58 KB gzip',
      FB,
      gz,
      { ...msgpack, 'content-encoding': 'gzip' },
      {
        status: 400,
        error: depth,
      },
    );
    await bomb('msgpack nested maps 15 MB', FB, maps, msgpack, { status: 400, error: depth });
    await bomb('JSON nested arrays 16 MB', FB, bodies.jsonArrays, json, {
      status: 400,
      error: depth,
    });
    await bomb('JSON nested objects 15 MB', FB, bodies.jsonObjects, ndjson, {
      status: 400,
      error: depth,
    });
  });

  it('gzip bombs: 1 GB of zeros or newlines in ~1 MB → 413 without inflating past the cap', async () => {
    const { zeros, newlines } = bodies;
    const gz = { 'content-encoding': 'gzip' };
    await bomb(
      'gzip of 1 GB of zeros (lines)',
      LINES,
      zeros,
      { ...text, ...gz },
      { status: 413, error: decoded },
    );
    await bomb(
      'gzip of 1 GB of zeros (msgpack)',
      FB,
      zeros,
      { ...msgpack, ...gz },
      { status: 413, error: decoded },
    );
    await bomb(
      'gzip of 1 GB of newlines (ndjson)',
      FB,
      newlines,
      { ...ndjson, ...gz },
      {
        status: 413,
        error: decoded,
      },
    );
  });

  it('eight 64 KB gzips of newlines at once: each answered quickly, the loop never held', async () => {
    const newlines = bodies.newlines64;
    expect(newlines.length).toBeLessThan(70_000);
    const t0 = performance.now();
    const answers = await measured('8 × 64 KB gzip of newlines', () =>
      Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          request(port, 'POST', i % 2 ? LINES : FB, newlines, {
            'content-type': i % 2 ? 'text/plain' : 'application/x-ndjson',
            'content-encoding': 'gzip',
          }),
        ),
      ),
    );
    figures.push(
      `8 × 64 KB gzip of 63 MB newlines, concurrently: all answered in ${(performance.now() - t0).toFixed(0)} ms`,
    );
    // Nothing but newlines: no records, answered 200 with nothing accepted.
    for (const a of answers) expect(JSON.parse(a.body), a.body).toMatchObject({ accepted: 0 });
  });

  it('many newlines and many tiny records: 16 MB of newlines is no records; 100,001 tiny records → 413', async () => {
    const nl = bodies.newlines16;
    for (const [route, headers] of [
      [LINES, text],
      [FB, ndjson],
    ] as const) {
      const a = await measured(`16 MB of newlines to ${route}`, () =>
        request(port, 'POST', route, nl, headers),
      );
      figures.push(`16 MB of newlines to ${route}: ${a.status} in ${a.ms.toFixed(0)} ms`);
      expect(JSON.parse(a.body)).toMatchObject({ accepted: 0 });
    }
    await bomb('100,001 tiny JSON records', FB, bodies.tinyJson, ndjson, {
      status: 413,
      error: records,
    });
    await bomb('100,001 tiny msgpack events', FB, bodies.tinyMsgpack, msgpack, {
      status: 413,
      error: records,
    });
    await bomb('100,001 one-byte lines', LINES, bodies.tinyLines, text, {
      status: 413,
      error: records,
    });
  });

  it('huge key counts: 1 M keys in JSON and msgpack, a msgpack map header claiming 4 G entries → 400', async () => {
    await bomb('JSON object with 1 M keys', FB, bodies.wideJson, json, {
      status: 400,
      error: keys,
    });
    await bomb('msgpack map with 1 M keys', FB, bodies.wideMsgpack, msgpack, {
      status: 400,
      error: keys,
    });
    await bomb(
      'msgpack map32 header of 4 G entries',
      FB,
      Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff]),
      msgpack,
      {
        status: 400,
        error: keys,
      },
    );
    await bomb('JSON array of 1 M numbers in one record', FB, bodies.longArray, json, {
      status: 400,
      error: keys,
    });
  });

  it('an over-long record is a dead letter (its start kept) and the rest of its body is stored', async () => {
    const body = bodies.overLong;
    const before = await count(store, 'dead_letters');
    const a = await request(port, 'POST', FB, body, ndjson);
    expect(a.status, a.body).toBe(200);
    expect(JSON.parse(a.body)).toMatchObject({ accepted: 2, parsed: 1, deadLetters: 1 });
    const rows = await store.query<{ reason: string; n: number }>(
      "SELECT reason, length(raw) AS n FROM dead_letters WHERE reason LIKE 'record %maxRecordBytes%'",
    );
    expect(await count(store, 'dead_letters')).toBe(before + 1);
    expect(rows[0]!.reason).toMatch(
      /over ingest\.maxRecordBytes \(1048576\); its first 65536 bytes are kept/,
    );
    expect(Number(rows[0]!.n)).toBe(65536);
  });

  it('60 MB of CRI P pieces of one line: joined only up to ingest.maxRecordBytes, then one dead letter', async () => {
    const a = await bomb(
      'CRI line of 60 k P pieces (60 MB, gzip)',
      LINES,
      bodies.criBomb,
      { ...text, 'content-encoding': 'gzip' },
      { status: 200, error: /^$/ },
    );
    expect(JSON.parse(a.body)).toMatchObject({ accepted: 60_002, parsed: 1, deadLetters: 1 });
    const rows = await store.query<{ reason: string; n: number }>(
      "SELECT reason, length(raw) AS n FROM dead_letters WHERE reason LIKE 'CRI line of%'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.reason).toMatch(/P pieces is over ingest\.maxRecordBytes \(1048576\) before its F piece/);
    expect(Number(rows[0]!.n)).toBe(65536);
  });

  it('big legal bodies (40k lines, CRI fragments) are stored with the loop never held; then a good batch is stored', async () => {
    const { lines, cri } = bodies;
    const stored0 = await count(store, 'access_log');
    const big = await measured('legal: 40k lines', () => request(port, 'POST', LINES, lines, text));
    const frags = await measured('legal: 5k CRI fragments', () => request(port, 'POST', LINES, cri, text));
    const gzBig = await measured('legal: 20k lines gzip', () =>
      request(port, 'POST', LINES, bodies.linesGz, { ...text, 'content-encoding': 'gzip' }),
    );
    figures.push(
      `legal: 40k lines (${lines.length} B) stored in ${big.ms.toFixed(0)} ms; 5k CRI fragments in ${frags.ms.toFixed(0)} ms`,
    );
    expect(big.status, big.body).toBe(200);
    expect(JSON.parse(big.body)).toMatchObject({ accepted: 40_000, parsed: 40_000 });
    expect(frags.status, frags.body).toBe(200);
    expect(gzBig.status, gzBig.body).toBe(200);
    expect(await count(store, 'access_log')).toBe(stored0 + 60_000);

    const after = await request(port, 'POST', LINES, bodies.good, text);
    expect(after.status, after.body).toBe(200);
    expect(JSON.parse(after.body)).toMatchObject({ accepted: 100, parsed: 100, deadLetters: 0 });
    expect(await count(store, 'access_log')).toBe(stored0 + 60_100);
  });

  it('all along: /healthz answered every time, and no request held the event loop', () => {
    const worst = delays.reduce((a, b) => (b.ms > a.ms ? b : a));
    const held = delays.reduce((a, b) => (b.cpuMs > a.cpuMs ? b : a));
    figures.push(
      `event loop: longest hold ${held.cpuMs.toFixed(0)} ms of CPU (${held.name}); max wall-clock delay ${worst.ms.toFixed(0)} ms (${worst.name}) at load average ${loadavg()[0]!.toFixed(1)}`,
      `per request (wall delay / CPU hold, ms): ${delays.map((d) => `${d.name} ${d.ms.toFixed(0)}/${d.cpuMs.toFixed(0)}`).join('; ')}`,
      `/healthz: ${health.answered} answered, ${health.failed} failed, slowest ${health.maxMs.toFixed(0)} ms`,
    );
    expect(health.failed).toBe(0);
    expect(health.answered).toBeGreaterThan(20);
    expect(health.maxMs).toBeLessThan(1000);
    expect(held.cpuMs).toBeLessThan(MAX_LOOP_HOLD_MS);
  });
});

// ---------------------------------------------------------------------------------------------------------------

interface Served {
  child: ChildProcess;
  port: number;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `egresslens serve` in a child process with `nodeFlags`, on a free port, with `config` as its config file. */
async function serve(nodeFlags: string[], config: Record<string, unknown>): Promise<Served> {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-bombs-child-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ data: join(dir, 'data'), port: 0, logLevel: 'info', ...config }));
  const child = spawn(process.execPath, [...nodeFlags, EGRESSLENS, 'serve', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    const m = /"address":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(out);
    if (m) return { child, port: Number(m[1]), stderr: () => err, exited };
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not start: ${err}${out}`);
    }
    await sleep(100);
  }
}

async function stop(s: Served | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGKILL');
  await s.exited;
}

describe('a served process under memory pressure (child process)', () => {
  let s: Served | undefined;

  afterAll(async () => {
    await stop(s);
  });

  it('with a 160 MB heap and the default limits, bombs are refused and the process stays up (RSS read from /proc)', async () => {
    s = await serve(['--max-old-space-size=160'], {});
    const base = rssMb(s.child.pid!, 'VmRSS');
    const nested = nestedMsgpack(16_000_000);
    const answers = [
      await request(s.port, 'POST', FB, nested, { 'content-type': 'application/msgpack' }),
      await request(s.port, 'POST', FB, gzipSync(nested), {
        'content-type': 'application/msgpack',
        'content-encoding': 'gzip',
      }),
      await request(s.port, 'POST', LINES, gzipOf(Buffer.alloc(1 << 20, 10), 1 << 30), {
        'content-type': 'text/plain',
        'content-encoding': 'gzip',
      }),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 400, 413]);
    const peak = rssMb(s.child.pid!, 'VmHWM');
    process.stdout.write(
      `child serve, 160 MB heap: RSS ${base.toFixed(0)} MB before the bombs, peak ${peak.toFixed(0)} MB; answers in ${answers.map((a) => a.ms.toFixed(0)).join(', ')} ms\n`,
    );
    expect(peak - base).toBeLessThan(RSS_BOUND_MB);
    expect((await request(s.port, 'GET', '/healthz')).status).toBe(200);
    const good = await request(s.port, 'POST', LINES, joinLines(generatedLines(10, 5).map((g) => g.line)), {
      'content-type': 'text/plain',
    });
    expect(good.status, good.body).toBe(200);
    expect(s.child.exitCode).toBeNull();
    await stop(s);
  });

  it('near the heap limit a body is refused with 503 + Retry-After naming ingest.maxHeapUsedPercent; probes answer', async () => {
    // 1% of a 64 MB heap: less than the server uses at rest.
    s = await serve(['--max-old-space-size=64'], { ingest: { maxHeapUsedPercent: 1 } });
    const a = await request(s.port, 'POST', LINES, joinLines(generatedLines(5, 3).map((g) => g.line)), {
      'content-type': 'text/plain',
    });
    expect(a.status, a.body).toBe(503);
    expect(a.headers['retry-after']).toBe('5');
    expect(JSON.parse(a.body).error).toMatch(/short of memory .*ingest\.maxHeapUsedPercent=1\); retry later/);
    expect((await request(s.port, 'GET', '/healthz')).status).toBe(200);
    await stop(s);
  });

  it('with the guards lifted, a heap exhaustion ends the process at once (SIGABRT), it does not hang', async () => {
    s = await serve(['--max-old-space-size=96'], {
      watchdogMs: 0,
      ingest: {
        maxDepth: 100_000_000,
        maxKeysPerRecord: 100_000_000,
        maxHeapUsedPercent: 100,
        maxDecodeMs: 600_000,
      },
    });
    const t0 = performance.now();
    const post = request(s.port, 'POST', FB, nestedMsgpack(16_000_000), {
      'content-type': 'application/msgpack',
    }).catch((err: Error) => err);
    const exit = await Promise.race([s.exited, sleep(60_000).then(() => 'still running' as const)]);
    process.stdout.write(
      `child serve, 96 MB heap, guards lifted: ended ${JSON.stringify(exit)} after ${(performance.now() - t0).toFixed(0)} ms\n`,
    );
    expect(exit).toEqual({ code: null, signal: 'SIGABRT' });
    expect(s.stderr()).toMatch(/JavaScript heap out of memory/);
    expect(await post).toBeInstanceOf(Error); // the connection died with the process
  });

  it('the watchdog kills a process whose event loop is stuck, with one fatal log line', async () => {
    const script = `import { startWatchdog } from ${JSON.stringify(join(import.meta.dirname, '../../dist/bin/fatal-exits.js'))};
startWatchdog(300);
setTimeout(() => { for (;;); }, 100);`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const t0 = performance.now();
    const exit = await Promise.race([
      new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('exit', (code, signal) => resolve({ code, signal })),
      ),
      sleep(20_000).then(() => 'still running' as const),
    ]);
    const ms = performance.now() - t0;
    if (exit === 'still running') child.kill('SIGKILL');
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(ms).toBeLessThan(10_000);
    const line = JSON.parse(err.trim().split('\n').at(-1)!) as { level: number; msg: string; time: number };
    expect(line.level).toBe(60);
    expect(line.msg).toBe('the event loop has not turned for 300 ms: exiting');
    expect(line.time).toBeGreaterThan(0);
  });
});
