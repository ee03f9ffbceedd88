/** The HTTP server: probes, ingest, reports, read-only SQL, metrics and OpenAPI docs, each a plugin. */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { IngestPipeline } from '../ingest/pipeline.js';
import type { RegistryEntry } from '../reports/registry/registry.js';
import type { Config } from '../schemas/config.js';
import { API_TAGS, HealthzSchema, jsonResponse, ReadyzSchema } from '../schemas/openapi.js';
import type { Store } from '../store/store.js';
import { DEFAULT_STORE_HEALTH, StoreHealth } from '../store/store-health.js';
import { hasAnyToken, registerAuth } from './auth.js';
import { consoleRoutes } from './console.js';
import { EgressGauges } from './egress-gauges.js';
import { httpTimeouts } from './http-timeouts.js';
import { ingestRoutes } from './ingest-routes.js';
import { Metrics } from './metrics.js';
import { documentAccess, SECURITY_SCHEMES } from './openapi-access.js';
import { overviewRoutes } from './overview-routes.js';
import { queryRoutes } from './query-routes.js';
import { reportRoutes } from './report-routes.js';
import { limitRoutes, WorkLimiter } from './work-limiter.js';

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

export interface BuiltServer {
  app: FastifyInstance;
  metrics: Metrics;
  gauges: EgressGauges;
  /** The cap on analytic work; scheduled reports take their slots from it too. */
  limiter: WorkLimiter;
  /** The background store check /readyz answers from; stopped when the app closes. */
  storeHealth: StoreHealth;
}

export async function buildServer(deps: ServerDeps): Promise<BuiltServer> {
  const { config, store, pipeline } = deps;
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.log as FastifyBaseLogger,
    // Fluent Bit posts many times a second: per-request logs would drown the useful ones.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1 << 20,
    ...httpTimeouts(config.http),
  });
  const metrics = new Metrics(() => [pipeline, ...(deps.otherPipelines?.() ?? [])]);
  // Reports, user queries and the /metrics gauges' refresh share one cap on analytic SQL.
  const limiter = new WorkLimiter({
    maxConcurrent: config.limits.maxConcurrentQueries,
    maxQueued: config.limits.maxQueuedQueries,
    queueTimeoutMs: config.limits.queueTimeoutMs,
  });
  const gauges = new EgressGauges(
    store,
    metrics.registry,
    {
      windowSeconds: config.metrics.windowSeconds,
      refreshMs: config.metrics.refreshSeconds * 1000,
      maxNamespaces: config.metrics.maxNamespaces,
      clusterDomain: config.reports.clusterDomain,
    },
    deps.log,
    (work) => limiter.run(work),
  ).start();
  app.addHook('onClose', async () => gauges.stop());

  // Response schemas document the answers (/docs/json); bodies are sent as built, as JSON.stringify writes
  // them, so a schema can never drop a field the route sends.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err }, 'request failed');
    return reply.code(status).send({ error: status >= 500 ? 'internal error' : err.message });
  });

  registerAuth(app, config);
  documentAccess(app, config);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'egresslens',
        version: '0.1.0',
        description: 'Egress answers from Envoy/Istio access logs',
      },
      tags: [...API_TAGS],
      components: { securitySchemes: SECURITY_SCHEMES },
      // Each route states its own (api/openapi-access.ts); this covers only what has none.
      security: hasAnyToken(config) ? [{ readToken: [] }] : [],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  // Probes answer from memory: /healthz touches nothing, /readyz reads what the background store check and
  // the pipeline's insert outcomes last saw, so neither ever waits behind a query or an insert.
  const storeHealth = new StoreHealth(
    () => store.ping(),
    DEFAULT_STORE_HEALTH,
    Date.now,
    (failure) =>
      failure === null
        ? deps.log.info('the store check succeeds again')
        : deps.log.warn({ reason: failure }, 'the store check fails'),
  );
  await storeHealth.start();
  app.addHook('onClose', async () => storeHealth.stop());
  warnIfThreadPoolSmall(config.limits.maxConcurrentQueries, deps.log);

  // `auth` tells the console whether to ask for the read token before its first data request.
  const auth = config.readToken || config.authToken ? 'bearer' : 'none';
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness probe',
        description: 'Answers from memory, touching nothing: the process is up. No token.',
        response: {
          200: jsonResponse(HealthzSchema, 'The process is up.', { status: 'ok', auth: 'bearer' }),
        },
      },
    },
    async () => ({ status: 'ok', auth }),
  );
  app.get('/readyz', { schema: READYZ_DOCS }, async (_req, reply) => {
    const check = storeHealth.snapshot();
    const intake = pipeline.state;
    // Inserts failing is the store being down for intake, whatever SELECT 1 says.
    const ready = check.up && intake !== 'store-down';
    return reply.code(ready ? 200 : 503).send({
      status: ready ? 'ready' : 'not ready',
      store: ready ? 'up' : 'down',
      intake,
      storeCheck: {
        lastOkAgeMs: check.lastOkAgeMs,
        lastCheckAgeMs: check.lastCheckAgeMs,
        notReadyAfterMs: check.staleAfterMs,
        // The reason goes to the log, not here: /readyz needs no token, and a store error can name hosts.
        lastCheckOk: check.lastError === null,
      },
      queries: { running: limiter.running, queued: limiter.queued },
    });
  });
  app.get('/metrics', { schema: METRICS_DOCS }, async (_req, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  await app.register(ingestRoutes, { pipeline, limits: config.ingest });
  // Everything that runs analytic SQL is registered in this scope, under the limiter's hooks.
  await app.register(async (analytic) => {
    limitRoutes(analytic, limiter);
    await analytic.register(reportRoutes, {
      store,
      metrics,
      registry: deps.registry ?? (async () => null),
      cidrPrefix: { v4: config.reports.cidrPrefixV4, v6: config.reports.cidrPrefixV6 },
      clusterDomain: config.reports.clusterDomain,
    });
    await analytic.register(queryRoutes, { store });
    await analytic.register(overviewRoutes, { store, metrics, clusterDomain: config.reports.clusterDomain });
  });
  await app.register(consoleRoutes);
  return { app, metrics, gauges, limiter, storeHealth };
}

const READYZ_EXAMPLE = {
  status: 'ready',
  store: 'up',
  intake: 'ok',
  storeCheck: { lastOkAgeMs: 1200, lastCheckAgeMs: 1200, notReadyAfterMs: 30000, lastCheckOk: true },
  queries: { running: 0, queued: 0 },
};

const READYZ_DOCS = {
  tags: ['operations'],
  summary: 'Readiness probe',
  description:
    'Ready when the background store check succeeded recently and inserts are not failing; answers from ' +
    'memory, never waiting behind a query or an insert. No token.',
  response: {
    200: jsonResponse(ReadyzSchema, 'Ready: the store answers and intake flows.', READYZ_EXAMPLE),
    503: jsonResponse(ReadyzSchema, 'Not ready: the store check fails or inserts fail.', {
      ...READYZ_EXAMPLE,
      status: 'not ready',
      store: 'down',
      intake: 'store-down',
      storeCheck: { ...READYZ_EXAMPLE.storeCheck, lastOkAgeMs: 45000, lastCheckOk: false },
    }),
  },
};

const METRICS_DOCS = {
  tags: ['operations'],
  summary: 'Prometheus metrics',
  description:
    'Pipeline counters, request timings, and egress gauges (passthrough, blocked, timed-out requests and ' +
    'destinations by state and namespace, with a bounded number of namespaces) in the Prometheus text format.',
  response: {
    200: {
      description: 'The Prometheus text exposition format.',
      content: {
        'text/plain': {
          schema: { type: 'string' },
          example:
            '# HELP egresslens_egress_requests External requests in the last 15m, by state and source namespace\n' +
            '# TYPE egresslens_egress_requests gauge\n' +
            'egresslens_egress_requests{state="passthrough",namespace="payments"} 120\n',
        },
      },
    },
  },
};

/**
 * libuv's pool is sized once, from UV_THREADPOOL_SIZE at the first use (bin/egresslens.cts sets it); each
 * running query holds a thread, and 2 ingest inserts (HTTP, Kafka), the store check, the /metrics gauges'
 * refresh and file/zlib/DNS work (4) need theirs. Warns when the pool this process got is smaller.
 */
function warnIfThreadPoolSmall(maxConcurrentQueries: number, log: Logger): void {
  const pool = Number(process.env.UV_THREADPOOL_SIZE) || 4;
  const needed = maxConcurrentQueries + 2 + 1 + 1 + 4;
  if (pool < needed) {
    log.warn(
      { threadPool: pool, needed },
      `libuv's thread pool has ${pool} threads, fewer than the ${needed} that limits.maxConcurrentQueries=${maxConcurrentQueries} needs: start through dist/bin/egresslens.cjs or set UV_THREADPOOL_SIZE=${needed} or more`,
    );
  }
}
