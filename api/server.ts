/** The HTTP server: probes, ingest, reports, read-only SQL, metrics and OpenAPI docs, each a plugin. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { RegistryEntry } from '../reports/registry.js';
import type { Config } from '../schemas/config.js';
import type { Store } from '../store/store.js';
import { registerAuth } from './auth.js';
import { ingestRoutes } from './ingest-routes.js';
import { Metrics } from './metrics.js';
import { queryRoutes } from './query-routes.js';
import { reportRoutes } from './report-routes.js';

export interface ServerDeps {
  config: Config;
  store: Store;
  pipeline: IngestPipeline;
  /** Other intake pipelines (Kafka) whose counters /metrics reports too. */
  otherPipelines?: () => IngestPipeline[];
  log: Logger;
  /** The configured ServiceEntry registry, or null when none is configured. */
  registry?: () => Promise<RegistryEntry[] | null>;
}

export async function buildServer(deps: ServerDeps): Promise<{ app: FastifyInstance; metrics: Metrics }> {
  const { config, store, pipeline } = deps;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Fluent Bit posts many times a second: per-request logs would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
  });
  const metrics = new Metrics(() => [pipeline, ...(deps.otherPipelines?.() ?? [])]);

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  registerAuth(app, config.authToken);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'egresslens',
        version: '0.1.0',
        description: 'Egress answers from Envoy/Istio access logs',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: config.authToken ? [{ bearer: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const storeUp = await store.ping();
    const intake = pipeline.state;
    const ready = storeUp && intake !== 'store-down';
    return reply
      .code(ready ? 200 : 503)
      .send({ status: ready ? 'ready' : 'not ready', store: storeUp ? 'up' : 'down', intake });
  });
  app.get('/metrics', { schema: { description: 'Prometheus metrics' } }, async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  await app.register(ingestRoutes, { pipeline, limits: config.ingest });
  await app.register(reportRoutes, {
    store,
    metrics,
    registry: deps.registry ?? (async () => null),
    cidrPrefix: { v4: config.reports.cidrPrefixV4, v6: config.reports.cidrPrefixV6 },
  });
  await app.register(queryRoutes, { store });
  return { app, metrics };
}
