/**
 * A real egresslens over a fresh chDB directory: the store migrated, an ingest pipeline with short flushes, and
 * the whole server from buildServer (auth, limits, every route). Tests inject requests or listen on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { expect } from 'vitest';
import type { EgressGauges } from '../../api/egress-gauges.js';
import { buildServer, type ServerDeps } from '../../api/server.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { type Config, loadConfig } from '../../schemas/config.js';
import { ChdbStore } from '../../store/chdb-store.js';

export interface ServedApp {
  dir: string;
  config: Config;
  store: ChdbStore;
  pipeline: IngestPipeline;
  app: FastifyInstance;
  gauges: EgressGauges;
  /** Posts a Fluent Bit `json_lines` body and expects it stored (200). */
  postFluentBit(body: string, headers?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

export async function startServedApp(
  opts: { flags?: Record<string, unknown>; registry?: ServerDeps['registry'] } = {},
): Promise<ServedApp> {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-served-'));
  const flags = opts.flags ?? {};
  const ingest = { flushIntervalMs: 20, ...((flags['ingest'] as Record<string, unknown>) ?? {}) };
  const config = loadConfig({ env: {}, flags: { ...flags, data: dir, ingest } });
  const store = ChdbStore.open(dir);
  await store.migrate();
  const log = pino({ level: 'silent' });
  const pipeline = new IngestPipeline(
    store,
    { ...config.ingest, format: 'auto', storeRaw: false, retryBaseMs: 10, retryMaxMs: 50 },
    log,
  );
  const { app, gauges } = await buildServer({ config, store, pipeline, log, registry: opts.registry });
  return {
    dir,
    config,
    store,
    pipeline,
    app,
    gauges,
    async postFluentBit(body, headers = {}) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/ingest/fluent-bit',
        headers: { 'content-type': 'application/x-ndjson', ...headers },
        payload: body,
      });
      expect(res.statusCode, res.body).toBe(200);
    },
    async close() {
      await app.close();
      await pipeline.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
