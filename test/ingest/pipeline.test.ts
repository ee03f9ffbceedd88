import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_PIPELINE_OPTIONS,
  IngestPipeline,
  type LineContext,
  type PipelineOptions,
} from '../../ingest/pipeline.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { FaultyStore } from '../helpers/faulty-store.js';
import { shopContext } from '../helpers/line-context.js';
import { count, generatedLines, joinLines } from '../helpers/lines.js';

const dir = mkdtempSync(join(tmpdir(), 'egresslens-pipeline-'));
let store: ChdbStore;

const ctx = (): LineContext => shopContext();

function appendAll(p: IngestPipeline, buf: Buffer, c: LineContext = ctx()): void {
  p.appendLines(buf, c);
}

const opts = (o: Partial<PipelineOptions> = {}): PipelineOptions => ({
  ...DEFAULT_PIPELINE_OPTIONS,
  retryBaseMs: 10,
  retryMaxMs: 50,
  flushIntervalMs: 50,
  ...o,
});

beforeAll(async () => {
  store = ChdbStore.open(dir);
  await store.migrate();
});

afterAll(async () => {
  await store.close();
});

beforeEach(async () => {
  await store.command('TRUNCATE TABLE access_log');
  await store.command('TRUNCATE TABLE dead_letters');
});

describe('ingest pipeline on the embedded store', () => {
  it('stores every parsable line and keeps every other one as a dead letter', async () => {
    const good = generatedLines(5000).map((g) => g.line);
    const bad = [
      'garbage',
      '[2024-01-01T00:00:00.000Z] "GET / HTTP/1.1" 2x0 -',
      '{"not":"an access log"}',
      '{broken json',
    ];
    const p = new IngestPipeline(store, opts({ batchRows: 1000 }));
    appendAll(p, joinLines([...good.slice(0, 2500), ...bad, ...good.slice(2500)]));
    await p.flush();
    expect(await count(store, 'access_log')).toBe(5000);
    expect(await count(store, 'dead_letters')).toBe(4);
    expect(p.stats.lines).toBe(5004);
    const reasons = await store.query<{ reason: string; raw: string; source: string }>(
      'SELECT reason, raw, source FROM dead_letters ORDER BY raw',
    );
    expect(reasons.map((r) => r.raw)).toEqual([...bad].sort());
    expect(reasons.every((r) => r.reason.length > 0 && r.source === 'file')).toBe(true);
  });

  it('writes the fields and the source metadata into their columns', async () => {
    const line =
      '[2024-05-01T10:00:00.123Z] "GET /v1/x HTTP/1.1" 200 - via_upstream - "-" 10 2381 12 11 "1.2.3.4, 10.0.0.1" "ua" "x" "id-1" "api.example.com:8443" "93.184.215.14:8443" PassthroughCluster 10.244.7.21:40118 93.184.215.14:8443 10.244.7.21:40116 - allow_any';
    const p = new IngestPipeline(store, opts());
    appendAll(p, joinLines([line]));
    await p.flush();
    const [row] = await store.query<Record<string, unknown>>(
      `SELECT toUnixTimestamp64Milli(start_time) AS ms, method, path, response_code, response_flags, bytes_sent, duration,
              upstream_service_time, x_forwarded_for, user_agent, authority, upstream_cluster, route_name, dst_host, dst_port,
              dst_ip, k8s_namespace, k8s_pod, k8s_container, k8s_workload, k8s_node, format, source
       FROM access_log`,
    );
    expect(row).toMatchObject({
      ms: Date.UTC(2024, 4, 1, 10, 0, 0, 123),
      method: 'GET',
      path: '/v1/x',
      response_code: 200,
      response_flags: '',
      bytes_sent: 2381,
      duration: 12,
      upstream_service_time: 11,
      x_forwarded_for: '1.2.3.4, 10.0.0.1',
      user_agent: 'ua" "x',
      authority: 'api.example.com:8443',
      upstream_cluster: 'PassthroughCluster',
      route_name: 'allow_any',
      dst_host: 'api.example.com',
      dst_port: 8443,
      dst_ip: '93.184.215.14',
      k8s_namespace: 'shop',
      k8s_pod: 'checkout-1',
      k8s_container: 'istio-proxy',
      k8s_workload: 'checkout',
      k8s_node: 'n1',
      format: 'istio',
      source: 'file',
    });
  });

  it('keeps data written before a restart', async () => {
    const p = new IngestPipeline(store, opts());
    appendAll(p, joinLines(generatedLines(1234, 5).map((g) => g.line)));
    await p.flush();
    await store.close();
    store = ChdbStore.open(dir);
    await store.migrate();
    expect(await count(store, 'access_log')).toBe(1234);
  });

  it('stores a batch once when its insert is retried after the reply was lost', async () => {
    const faulty = new FaultyStore(store);
    faulty.loseReplies = 2;
    const p = new IngestPipeline(faulty, opts({ batchRows: 500 }));
    appendAll(p, joinLines(generatedLines(2000, 9).map((g) => g.line)));
    await p.flush();
    expect(faulty.inserts).toBeGreaterThan(4);
    expect(p.stats.insertErrors).toBe(2);
    expect(await count(store, 'access_log')).toBe(2000);
  });

  it('slows intake instead of growing memory when the store stalls, and loses nothing', async () => {
    const faulty = new FaultyStore(store);
    faulty.startStall();
    const p = new IngestPipeline(faulty, opts({ batchRows: 100, maxPendingBatches: 3 }));
    const lines = generatedLines(2000, 11).map((g) => g.line);
    let appended = 0;
    const producer = (async () => {
      for (let i = 0; i < lines.length; i += 100) {
        appendAll(p, joinLines(lines.slice(i, i + 100)));
        appended += 100;
        await p.waitForRoom();
      }
    })();
    await new Promise((r) => setTimeout(r, 200));
    expect(p.state).toBe('full');
    expect(p.pendingBatches).toBeLessThanOrEqual(3);
    expect(appended).toBeLessThan(lines.length);
    faulty.endStall();
    await producer;
    await p.flush();
    expect(await count(store, 'access_log')).toBe(2000);
  });

  it('while an insert runs, rows past the flush interval keep filling one batch, sealed once the store is free', async () => {
    const faulty = new FaultyStore(store);
    faulty.startStall();
    const p = new IngestPipeline(faulty, opts({ flushIntervalMs: 20, batchRows: 250 }));
    const lines = generatedLines(700, 17).map((g) => g.line);
    const wait = () => new Promise((r) => setTimeout(r, 80));
    appendAll(p, joinLines(lines.slice(0, 100)));
    const first = p.currentBatchStored();
    await wait();
    // The timer sealed the first batch; its insert is held.
    expect(p.stats.batches).toBe(1);
    appendAll(p, joinLines(lines.slice(100, 200)));
    const second = p.currentBatchStored();
    await wait();
    appendAll(p, joinLines(lines.slice(200, 300)));
    await wait();
    // Two flush intervals passed with the store busy: the rows wait in the batch still filling.
    expect(p.stats.batches).toBe(1);
    expect(p.pendingBatches).toBe(1);
    // Size still seals at once: the 200 rows waiting plus 400 more make two full batches of 250; 100 are left.
    appendAll(p, joinLines(lines.slice(300, 700)));
    expect(p.stats.batches).toBe(3);
    faulty.endStall();
    await Promise.all([first, second, p.flush()]);
    expect(await count(store, 'access_log')).toBe(700);
    expect(p.stats.batches).toBe(4);
  });

  it('a timer that passes while the store is busy seals the waiting rows right after the running insert', async () => {
    const faulty = new FaultyStore(store);
    faulty.startStall();
    const p = new IngestPipeline(faulty, opts({ flushIntervalMs: 20 }));
    const lines = generatedLines(200, 19).map((g) => g.line);
    appendAll(p, joinLines(lines.slice(0, 100)));
    await new Promise((r) => setTimeout(r, 80));
    appendAll(p, joinLines(lines.slice(100)));
    const second = p.currentBatchStored();
    await new Promise((r) => setTimeout(r, 80));
    expect(p.stats.batches).toBe(1);
    faulty.endStall();
    // No flush(): the second batch is sealed by the first one's insert finishing.
    await second;
    expect(p.stats.batches).toBe(2);
    expect(await count(store, 'access_log')).toBe(200);
  });

  it('reports the store as down during an outage and stores everything once it returns', async () => {
    const faulty = new FaultyStore(store);
    faulty.down = true;
    const p = new IngestPipeline(faulty, opts({ batchRows: 200 }));
    appendAll(p, joinLines(generatedLines(1000, 13).map((g) => g.line)));
    const flushed = p.flush();
    await new Promise((r) => setTimeout(r, 150));
    expect(p.state).toBe('store-down');
    faulty.down = false;
    await flushed;
    expect(p.state).toBe('ok');
    expect(await count(store, 'access_log')).toBe(1000);
  });
});
