/** An egresslens HTTP server over a FaultyStore in front of a real store, for inject-driven ingest tests. */
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import { ingestRoutes } from '../../api/ingest-routes.js';
import type { Metrics } from '../../api/metrics.js';
import { buildServer } from '../../api/server.js';
import { BatchJournal } from '../../ingest/journal/batch-journal.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { type Config, loadConfig } from '../../schemas/config.js';
import type { Store } from '../../store/store.js';
import { FaultyStore } from './faulty-store.js';

export interface IngestApp {
  app: FastifyInstance;
  pipeline: IngestPipeline;
  faulty: FaultyStore;
  config: Config;
  metrics?: Metrics;
  close(): Promise<void>;
}

export interface IngestAppOptions {
  /** Config flags (schema shape), e.g. `{ ingest: { batchRows: 10 }, authToken: '…' }`. */
  flags?: Record<string, unknown>;
  /** Build a bare fastify app with only ingestRoutes (to pass `storeWaitMs`) instead of buildServer. */
  bare?: { storeWaitMs?: number };
}

const silent = pino({ level: 'silent' });

export async function startIngestApp(store: Store, opts: IngestAppOptions = {}): Promise<IngestApp> {
  const flags = opts.flags ?? {};
  const ingest = { flushIntervalMs: 20, ...((flags['ingest'] as Record<string, unknown> | undefined) ?? {}) };
  const config = loadConfig({ flags: { ...flags, ingest }, env: {} });
  const faulty = new FaultyStore(store);
  const journalDir = config.ingest.journalDir;
  const pipeline = new IngestPipeline(faulty, {
    ...config.ingest,
    format: config.format,
    storeRaw: config.storeRaw,
    retryBaseMs: 10,
    retryMaxMs: 50,
    journal: journalDir ? BatchJournal.open(journalDir) : undefined,
  });
  pipeline.replayJournal();
  let app: FastifyInstance;
  let metrics: Metrics | undefined;
  if (opts.bare) {
    app = Fastify({ bodyLimit: 1 << 20 });
    await app.register(ingestRoutes, { pipeline, limits: config.ingest, storeWaitMs: opts.bare.storeWaitMs });
    await app.ready();
  } else {
    ({ app, metrics } = await buildServer({ config, store: faulty, pipeline, log: silent }));
    await app.ready();
  }
  return {
    app,
    pipeline,
    faulty,
    config,
    metrics,
    async close() {
      faulty.down = false;
      faulty.endStall();
      await app.close();
      await pipeline.close(5000);
    },
  };
}

export function post(
  app: FastifyInstance,
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url,
    payload: typeof body === 'string' ? Buffer.from(body) : body,
    headers,
  });
}

/** Prometheus text exposition → value of an unlabelled sample. */
export function metricValue(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  if (!m) throw new Error(`metric ${name} not found`);
  return Number(m[1]);
}
