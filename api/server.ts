/** The HTTP server: probes, ingest and (later) reports, each an encapsulated plugin. */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { Config } from '../schemas/config.js';
import type { Store } from '../store/store.js';
import { registerAuth } from './auth.js';
import { ingestRoutes } from './ingest-routes.js';

export interface ServerDeps {
  config: Config;
  store: Store;
  pipeline: IngestPipeline;
  log: Logger;
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, store, pipeline } = deps;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: 1 << 20,
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  registerAuth(app, config.authToken);

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const storeUp = await store.ping();
    const intake = pipeline.state;
    const ready = storeUp && intake !== 'store-down';
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', store: storeUp ? 'up' : 'down', intake });
  });

  await app.register(ingestRoutes, { pipeline, limits: config.ingest });
  return app;
}
