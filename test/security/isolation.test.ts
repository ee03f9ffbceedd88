/**
 * Isolation, against a real `egresslens serve` child started the way users start it (dist/bin/egresslens.cjs,
 * which sizes libuv's pool): heavy legal queries and reports run at once while /readyz is probed every 50 ms
 * and Fluent Bit-like ingest keeps posting. Probes must stay fast, the extra queries must be refused with
 * Retry-After, and every ingest body must be stored. The limiter and the store check are also driven alone.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkLimiter, WorkRefusedError } from '../../api/work-limiter.js';
import { LineGenerator } from '../../bench/generate-lines.js';
import { runSchedule } from '../../reports/scheduler.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { StoreHealth } from '../../store/store-health.js';

const CLI = fileURLToPath(new URL('../../dist/bin/egresslens.cjs', import.meta.url));
/** Rows behind the heavy query: its self cross join compares 196 M pairs, about 2.5 s alone on a busy 2-core box. */
const ROWS = 14_000;
const HEAVY =
  'SELECT count() AS n FROM access_log AS a CROSS JOIN access_log AS b WHERE a.bytes_sent < b.bytes_sent';
/**
 * Lines per ingest body during the load. Small on purpose: parsing runs on the event loop (about 0.2 ms a line
 * on this crowded box), and this test measures what queries cost the probes, not what parsing does.
 */
const INGEST_LINES = 100;
const LIMITS = { maxConcurrentQueries: 2, maxQueuedQueries: 2, queueTimeoutMs: 1_000 };

const work = mkdtempSync(join(tmpdir(), 'egresslens-isolation-'));
let child: ChildProcess;
let output = '';
let base = '';
const gen = new LineGenerator({ seed: 9 });

function linesBody(n: number): string {
  return `${Array.from({ length: n }, () => gen.next().line).join('\n')}\n`;
}

async function ingest(n: number): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${base}/v1/ingest/lines`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: linesBody(n),
  });
  await res.arrayBuffer();
  return { status: res.status, ms: performance.now() - started };
}

async function query(sql: string, signal?: AbortSignal) {
  const res = await fetch(`${base}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
    signal,
  });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

async function get(path: string) {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
}

async function readyz(): Promise<{ status: number; ms: number; body: Record<string, any> }> {
  const started = performance.now();
  const res = await fetch(`${base}/readyz`);
  const body = (await res.json()) as Record<string, any>;
  return { status: res.status, ms: performance.now() - started, body };
}

async function storedRows(): Promise<number> {
  const r = await query('SELECT count() AS n FROM access_log');
  expect(r.status, r.body).toBe(200);
  return Number(JSON.parse(r.body).rows[0].n);
}

/**
 * Probes /readyz every 50 ms from a process of its own until told to stop, so what it measures is the server,
 * not this test process (which generates ingest bodies and holds a dozen requests open meanwhile).
 */
const PROBER = `
const base = process.argv[1];
const probes = [];
let running = true;
process.on('message', () => { running = false; });
await (await fetch(base + '/readyz')).json(); // the first fetch loads the HTTP client: not a probe
process.send('ready');
while (running) {
  const started = performance.now();
  const res = await fetch(base + '/readyz');
  const body = await res.json();
  probes.push({ status: res.status, ms: performance.now() - started, lastOkAgeMs: body.storeCheck.lastOkAgeMs });
  await new Promise((r) => setTimeout(r, 50));
}
process.send(probes, () => process.disconnect());
`;

interface Probe {
  status: number;
  ms: number;
  lastOkAgeMs: number;
}

async function startProber(): Promise<{ stop(): Promise<Probe[]> }> {
  const prober = spawn(process.execPath, ['--input-type=module', '-e', PROBER, base], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const messages: unknown[] = [];
  const waiters: Array<() => void> = [];
  prober.on('message', (m) => {
    messages.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const next = async (): Promise<unknown> => {
    while (!messages.length) {
      if (prober.exitCode !== null) throw new Error(`the prober exited (${prober.exitCode})`);
      await new Promise<void>((r) => {
        waiters.push(r);
        prober.once('exit', () => r());
      });
    }
    return messages.shift();
  };
  expect(await next()).toBe('ready');
  return {
    stop: async () => {
      prober.send('stop');
      return (await next()) as Probe[];
    },
  };
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function until(what: string, cond: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${output.slice(-2000)}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  const dir = join(work, 'data');
  const config = join(work, 'egresslens.json');
  writeFileSync(config, JSON.stringify({ limits: LIMITS }));
  const env = { ...process.env };
  delete env['UV_THREADPOOL_SIZE']; // the launcher's own choice is what is under test
  child = spawn(
    process.execPath,
    [CLI, 'serve', '--data', dir, '--port', '0', '--config', config, '--log-level', 'warn'],
    { stdio: ['ignore', 'pipe', 'pipe'], env },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  await until(
    'the server to advertise its address',
    async () => {
      try {
        base = JSON.parse(readFileSync(join(dir, '.egresslens-serve.json'), 'utf8')).url;
        return (await fetch(`${base}/readyz`)).ok;
      } catch {
        return false;
      }
    },
    60_000,
  );
  // Four bodies at once: the pipeline seals one batch per flush, so this is quicker than one at a time.
  const posted = await Promise.all(Array.from({ length: 4 }, () => ingest(ROWS / 4)));
  expect(posted.map((p) => p.status)).toEqual([200, 200, 200, 200]);
  expect(await storedRows()).toBe(ROWS);
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(work, { recursive: true, force: true });
});

describe('a served instance under heavy concurrent queries and reports', () => {
  it('started through the launcher, libuv has the threads the limits need (no warning)', () => {
    expect(output).not.toContain("libuv's thread pool has");
  });

  it('keeps /readyz fast, refuses the extra queries with Retry-After, and stores ingest posted meanwhile', async () => {
    // The same probes with nothing running first: on a shared box, what remains under load beyond this is
    // what the load itself costs the probe.
    const idleProber = await startProber();
    await sleep(2_000);
    const idle = (await idleProber.stop()).map((p) => p.ms);
    const prober = await startProber();
    let loading = true;
    const ingests: Array<{ status: number; ms: number }> = [];
    const ingester = (async () => {
      while (loading) {
        ingests.push(await ingest(INGEST_LINES));
        await sleep(100);
      }
    })();

    const started = performance.now();
    // 8 heavy queries and 4 reports at once: 2 run, 2 wait (and run, or give up after 1 s), the rest are refused.
    const heavy = Array.from({ length: 8 }, () => query(HEAVY));
    const reports = [
      '/v1/reports/service-entries',
      '/v1/reports/blocked',
      '/v1/reports/timeouts',
      '/v1/hosts',
    ].map((p) => get(p));
    const answers = await Promise.all([...heavy, ...reports]);
    const loadMs = performance.now() - started;
    // Probe and ingest a little longer, while the last heavy queries may still be finishing.
    await sleep(500);
    loading = false;
    const [probes] = await Promise.all([prober.stop(), ingester]);

    const statuses = answers.map((a) => a.status);
    const refused = answers.filter((a) => a.status === 429 || a.status === 503);
    // A query that used up its 10 s budget on a crowded box ran too: the engine's limit answered it.
    const ranOut = (a: { status: number; body: string }) =>
      a.status === 400 && /TIMEOUT_EXCEEDED/.test(a.body);
    const other = answers.filter(
      (a) => a.status !== 200 && a.status !== 429 && a.status !== 503 && !ranOut(a),
    );
    expect(other.map((a) => `${a.status} ${a.body}`)).toEqual([]);
    // Two slots and two queue places: at most four were let in, so at least eight were turned away.
    expect(refused.length, JSON.stringify(statuses)).toBeGreaterThanOrEqual(8);
    expect(answers.filter((a) => a.status === 429).length).toBeGreaterThanOrEqual(6);
    // The two that queued either got a slot in time (200) or gave up after queueTimeoutMs (503): which one
    // depends on how fast the machine runs the heavy query (WorkLimiter's own tests time the 503 exactly).
    expect(
      answers.filter((a) => a.status === 200 || a.status === 503 || ranOut(a)).length,
      JSON.stringify(statuses),
    ).toBeLessThanOrEqual(4);
    for (const r of refused) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(JSON.parse(r.body).error).toMatch(/^(too many queries|waited \d+ ms for a query slot)[^\n]*$/);
    }
    const heavyRan = answers.slice(0, 8).filter((a) => a.status === 200 || ranOut(a));
    expect(heavyRan.length).toBeGreaterThanOrEqual(1);
    for (const a of heavyRan.filter((r) => r.status === 200))
      expect(Number(JSON.parse(a.body).rows[0].n)).toBeGreaterThan(0);

    const ms = probes.map((p) => p.ms);
    const p99 = percentile(ms, 99);
    const max = Math.max(...ms);
    const ingestOk = ingests.filter((i) => i.status >= 200 && i.status < 300).length;
    console.log(
      `isolation: idle /readyz p50 ${percentile(idle, 50).toFixed(1)} ms, p99 ${percentile(idle, 99).toFixed(1)} ms; ` +
        `load ${Math.round(loadMs)} ms; /readyz ${probes.length} probes, p50 ${percentile(ms, 50).toFixed(1)} ms, ` +
        `p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms, largest store-check age ${Math.max(...probes.map((p) => p.lastOkAgeMs))} ms; ` +
        `ingest ${ingestOk}/${ingests.length} bodies 2xx, p50 ${percentile(
          ingests.map((i) => i.ms),
          50,
        ).toFixed(
          0,
        )} ms, max ${Math.max(...ingests.map((i) => i.ms)).toFixed(0)} ms; answers ${JSON.stringify(statuses)}`,
    );
    expect(probes.length).toBeGreaterThan(20);
    expect(probes.every((p) => p.status === 200)).toBe(true);
    // A probe that waited behind a query would take at least one query's time (seconds; main measured
    // /readyz at 6.9–24 s under this load). What is left is the OS sharing 2 cores between this server's
    // engine threads and the rest of a box at load 15–22: p99 measured 100–190 ms here (the run above prints it).
    expect(p99).toBeLessThan(500);
    // The store check (its own Session) kept succeeding through the load.
    expect(Math.max(...probes.map((p) => p.lastOkAgeMs))).toBeLessThan(5_000);

    // Ingest has its own Session and threads: every body posted during the load was taken and stored.
    expect(ingests.length).toBeGreaterThan(3);
    expect(ingestOk).toBe(ingests.length);
    await until('the slots to be free', async () => (await readyz()).body.queries.running === 0);
    expect(await storedRows()).toBe(ROWS + ingests.length * INGEST_LINES);
  }, 120_000);

  it('a client that leaves while queued frees its place at once; a running query keeps its slot until it ends', async () => {
    const first = query(HEAVY);
    await until('one running query', async () => (await readyz()).body.queries.running === 1);
    // chDB cannot interrupt a running query: its slot stays taken until the engine returns, so hanging up
    // cannot be used to run more queries than the cap.
    const hangUp = new AbortController();
    const second = query(HEAVY, hangUp.signal).catch((err: Error) => err);
    await until('two running queries', async () => (await readyz()).body.queries.running === 2);
    hangUp.abort();
    expect(await second).toBeInstanceOf(Error);

    const leaving = new AbortController();
    const queued = query(HEAVY, leaving.signal).catch((err: Error) => err);
    await until('one queued query', async () => (await readyz()).body.queries.queued === 1, 1_000);
    leaving.abort();
    expect(await queued).toBeInstanceOf(Error);
    // Gone from the queue well before the queue timeout would have removed it.
    await until('the queue to empty', async () => (await readyz()).body.queries.queued === 0, 500);
    expect((await readyz()).body.queries.running).toBe(2);

    expect((await first).status).toBe(200);
    await until(
      'the abandoned query to end',
      async () => (await readyz()).body.queries.running === 0,
      20_000,
    );
  }, 60_000);

  it('/healthz touches nothing and answers at once', async () => {
    const heavy = [query(HEAVY), query(HEAVY)];
    await until('two running queries', async () => (await readyz()).body.queries.running === 2);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      expect((await get('/healthz')).status).toBe(200);
      times.push(performance.now() - started);
    }
    await Promise.all(heavy);
    expect(percentile(times, 99)).toBeLessThan(250);
  }, 60_000);
});

describe('WorkLimiter', () => {
  it('runs at most maxConcurrent, queues maxQueued in order, refuses the next with 429', async () => {
    const limiter = new WorkLimiter({ maxConcurrent: 2, maxQueued: 1, queueTimeoutMs: 5_000 });
    const order: number[] = [];
    const gates = Array.from({ length: 3 }, () => {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      return { promise, resolve };
    });
    const jobs = [0, 1, 2].map((i) =>
      limiter.run(async () => {
        order.push(i);
        await gates[i]!.promise;
        return i;
      }),
    );
    await sleep(10);
    expect({ running: limiter.running, queued: limiter.queued, order }).toEqual({
      running: 2,
      queued: 1,
      order: [0, 1],
    });
    const refused = await limiter.acquire().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WorkRefusedError);
    expect((refused as WorkRefusedError).statusCode).toBe(429);
    expect((refused as WorkRefusedError).retryAfterS).toBe(5);
    gates[1]!.resolve();
    await sleep(10);
    expect(order).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    gates[2]!.resolve();
    expect(await Promise.all(jobs)).toEqual([0, 1, 2]);
    expect({ running: limiter.running, queued: limiter.queued }).toEqual({ running: 0, queued: 0 });
  });

  it('gives up a wait after queueTimeoutMs with 503, and an aborted wait leaves the queue', async () => {
    const limiter = new WorkLimiter({ maxConcurrent: 1, maxQueued: 4, queueTimeoutMs: 100 });
    const release = await limiter.acquire();
    const waited = await limiter.acquire().catch((e: unknown) => e);
    expect((waited as WorkRefusedError).statusCode).toBe(503);
    expect((waited as Error).message).toMatch(/^waited 100 ms for a query slot/);
    const ac = new AbortController();
    const leaving = limiter.acquire({ signal: ac.signal, timeoutMs: 10_000 });
    expect(limiter.queued).toBe(1);
    ac.abort(new Error('gone'));
    await expect(leaving).rejects.toThrow('gone');
    expect(limiter.queued).toBe(0);
    release();
    release(); // a second release does nothing
    expect(limiter.running).toBe(0);
    expect(limiter.counts).toMatchObject({ started: 1, refusedTimeout: 1, abandoned: 1 });
  });
});

describe('StoreHealth over a real chDB store', () => {
  it('is up while the store answers, and down once no check has succeeded for staleAfterMs', async () => {
    const store = ChdbStore.open(join(work, 'health'));
    const health = new StoreHealth(() => store.ping(), {
      intervalMs: 50,
      timeoutMs: 1_000,
      staleAfterMs: 400,
    });
    try {
      await health.start();
      expect(health.snapshot()).toMatchObject({ up: true, lastError: null });
      await store.close(); // ping() now answers false
      await sleep(150);
      const failing = health.snapshot();
      expect(failing.up).toBe(true); // a failed check or two is not yet a verdict
      expect(failing.lastError).toBe('the store did not answer SELECT 1');
      await until('the check to go stale', async () => !health.snapshot().up, 2_000);
      expect(health.snapshot().lastOkAgeMs).toBeGreaterThan(400);
    } finally {
      health.stop();
      await store.close();
    }
  });

  it('records a probe slower than timeoutMs as failed at timeoutMs, and starts no other until it ends', async () => {
    let probes = 0;
    const slowProbe = async () => {
      probes++;
      await sleep(300);
      return true;
    };
    const health = new StoreHealth(slowProbe, { intervalMs: 10_000, timeoutMs: 50, staleAfterMs: 1_000 });
    const started = performance.now();
    await health.checkNow();
    expect(performance.now() - started).toBeLessThan(250);
    expect(health.snapshot()).toMatchObject({ up: false, lastOkAgeMs: null });
    expect(health.snapshot().lastError).toBe('the store check took over 50 ms');
    await health.checkNow(); // joins the stuck probe
    expect(probes).toBe(1);
    await sleep(400);
    // The late answer shows the store works, slowly: up again, and the timeout stays the last error.
    expect(health.snapshot()).toMatchObject({ up: true, lastError: 'the store check took over 50 ms' });
    await health.checkNow();
    expect(probes).toBe(2);
  });
});

describe('scheduled reports', () => {
  it('take a slot from the same limiter: a run waits while the slots are taken', async () => {
    const store = ChdbStore.open(join(work, 'schedule'));
    try {
      await store.migrate();
      const limiter = new WorkLimiter({ maxConcurrent: 1, maxQueued: 4, queueTimeoutMs: 100 });
      const held = await limiter.acquire();
      let done = false;
      const run = runSchedule(
        { name: 'nightly', cron: '0 3 * * *', window: '24h' },
        { store, registry: async () => null, limiter },
      ).then((record) => {
        done = true;
        return record;
      });
      // Longer than the request queue timeout: a scheduled run has no client waiting and keeps its place.
      await sleep(400);
      expect({ done, queued: limiter.queued }).toEqual({ done: false, queued: 1 });
      held();
      expect((await run).schedule).toBe('nightly');
      expect({ running: limiter.running, queued: limiter.queued }).toEqual({ running: 0, queued: 0 });
    } finally {
      await store.close();
    }
  });
});
