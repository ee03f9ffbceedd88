/** The HTTP server: probes, ingest, reports, read-only SQL, metrics and OpenAPI docs, each a plugin. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { RegistryEntry } from '../reports/registry.js';
import type { Config } from '../schemas/config.js';
import type { Store } from '../store/store.js';
import { hasAnyToken, registerAuth } from './auth.js';
import { consoleRoutes } from './console.js';
import { EgressGauges } from './egress-gauges.js';
import { httpTimeouts } from './http-timeouts.js';
import { ingestRoutes } from './ingest-routes.js';
import { Metrics } from './metrics.js';
import { overviewRoutes } from './overview-routes.js';
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

export async function buildServer(
  deps: ServerDeps,
): Promise<{ app: FastifyInstance; metrics: Metrics; gauges: EgressGauges }> {
  const { config, store, pipeline } = deps;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Fluent Bit posts many times a second: per-request logs would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
    ...httpTimeouts(config.http),
  });
  const metrics = new Metrics(() => [pipeline, ...(deps.otherPipelines?.() ?? [])]);
  const gauges = new EgressGauges(
    store,
    metrics.registry,
    {
      windowSeconds: config.metrics.windowSeconds,
      refreshMs: config.metrics.refreshSeconds * 1000,
      maxNamespaces: config.metrics.maxNamespaces,
    },
    deps.log,
  ).start();
  app.addHook('onClose', async () => gauges.stop());

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  registerAuth(app, config);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'egresslens',
        version: '0.1.0',
        description: 'Egress answers from Envoy/Istio access logs',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: hasAnyToken(config) ? [{ bearer: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // `auth` tells the console whether to ask for the read token before its first data request.
  const auth = config.readToken || config.authToken ? 'bearer' : 'none';
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok', auth }));
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
  await app.register(reportRoutes, { store, metrics, registry: deps.registry ?? (async () => null) });
  await app.register(queryRoutes, { store });
  await app.register(overviewRoutes, { store, metrics });
  await app.register(consoleRoutes);
  return { app, metrics, gauges };
}
