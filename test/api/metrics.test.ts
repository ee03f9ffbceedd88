/**
 * /metrics: the egress gauges by state and namespace from a served instance over chDB with a known few
 * minutes of mesh traffic, their cardinality bound, and the process metrics' names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EgressGauges } from '../../api/egress-gauges.js';
import { buildServer } from '../../api/server.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { loadConfig } from '../../schemas/config.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { fluentBitBody, meshFixture } from '../helpers/mesh-fixture.js';

let dir: string;
let store: ChdbStore;
let pipeline: IngestPipeline;
let app: FastifyInstance;
let gauges: EgressGauges;
const NOW = Date.now();
const lines = meshFixture(NOW, 120);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'egresslens-metrics-'));
  // Two namespaces by traffic, the third summed as _other: the cardinality bound at work.
  const config = loadConfig({
    env: {},
    flags: { data: dir, ingest: { flushIntervalMs: 20 }, metrics: { maxNamespaces: 2 } },
  });
  store = ChdbStore.open(dir);
  await store.migrate();
  const log = pino({ level: 'silent' });
  pipeline = new IngestPipeline(
    store,
    { ...config.ingest, format: 'auto', storeRaw: false, retryBaseMs: 10, retryMaxMs: 50 },
    log,
  );
  ({ app, gauges } = await buildServer({ config, store, pipeline, log }));
  const res = await app.inject({
    method: 'POST',
    url: '/v1/ingest/fluent-bit',
    headers: { 'content-type': 'application/x-ndjson' },
    payload: fluentBitBody(lines, NOW),
  });
  expect(res.statusCode, res.body).toBe(200);
  await gauges.refresh();
});

afterAll(async () => {
  await app.close();
  await pipeline.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function scrape(): Promise<string> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  return res.body;
}

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** What the fixture holds, counted here from its own lines, not from the store. */
function expected(ns: string, kind: 'passthrough' | 'blocked'): number {
  const pattern = kind === 'passthrough' ? / PassthroughCluster / : / (BlackHoleCluster|block_all)/;
  return lines.filter((l) => l.src.ns === ns && pattern.test(l.line)).length;
}

describe('/metrics', () => {
  it('counts external requests by state and namespace, the rest of the namespaces as _other', async () => {
    const text = await scrape();
    // shop (most traffic) and billing are the top two; search becomes _other.
    expect(value(text, 'egresslens_egress_requests{state="passthrough",namespace="shop"}')).toBe(
      expected('shop', 'passthrough'),
    );
    expect(value(text, 'egresslens_egress_requests{state="blocked",namespace="billing"}')).toBe(
      expected('billing', 'blocked'),
    );
    expect(value(text, 'egresslens_egress_requests{state="blocked",namespace="_other"}')).toBe(
      expected('search', 'blocked'),
    );
    expect(value(text, 'egresslens_egress_requests{state="passthrough",namespace="search"}')).toBeUndefined();
    expect(value(text, 'egresslens_egress_destinations{state="passthrough",namespace="shop"}')).toBe(2);
    expect(value(text, 'egresslens_egress_timeouts{namespace="shop"}')).toBe(6);
    expect(value(text, 'egresslens_egress_gauges_age_seconds')).toBeLessThan(60);
  });

  it('never labels a series with a host, and has no doubled process prefix', async () => {
    const text = await scrape();
    expect(text).not.toMatch(/\bhost="/);
    expect(text).not.toContain('egresslens_process_process_');
    expect(text).toContain('egresslens_process_cpu_user_seconds_total');
    const egressSeries = text.split('\n').filter((l) => l.startsWith('egresslens_egress_'));
    // 3 namespaces at most (2 + _other) × 3 states × 2 state-labelled gauges, + timeouts per namespace, + age.
    expect(egressSeries.length).toBeLessThanOrEqual(3 * 3 * 2 + 3 + 1);
  });
});
