/** GET /v1/reports/overview: the console's first view (reports/overview), one engine-grouped answer. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { overviewReport } from '../reports/overview/overview-report.js';
import { parseWindow, WindowError } from '../reports/shared/window.js';
import { clusterDomainField, jsonSchemaOf, ReportQuerySchema } from '../schemas/api.js';
import { documentedQuery, errorResponses, jsonResponse, OverviewSchema } from '../schemas/openapi.js';
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';

const OverviewQuerySchema = ReportQuerySchema.omit({ limit: true })
  .extend({
    top: z.coerce
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe('rows in the top-hosts and blocked-sources lists'),
    clusterDomain: clusterDomainField,
  })
  .strict();

export async function overviewRoutes(
  app: FastifyInstance,
  opts: { store: Store; metrics: Metrics; clusterDomain?: string },
): Promise<void> {
  app.get(
    '/v1/reports/overview',
    {
      schema: {
        tags: ['reports'],
        summary: "The console's first view",
        description:
          'External requests over time by state, destinations per state, top hosts, blocked source workloads and the timeout distribution.',
        querystring: documentedQuery(jsonSchemaOf(OverviewQuerySchema)),
        response: {
          200: jsonResponse(OverviewSchema, 'The overview of the window.', OVERVIEW_EXAMPLE),
          ...errorResponses(400, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const q = OverviewQuerySchema.safeParse(req.query);
      if (!q.success)
        return reply.code(400).send({
          error: q.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
        });
      try {
        const window = parseWindow(q.data.since, q.data.until);
        return await opts.metrics.time('overview', () =>
          overviewReport(opts.store, window, {
            namespace: q.data.namespace,
            top: q.data.top,
            clusterDomain: q.data.clusterDomain ?? opts.clusterDomain,
          }),
        );
      } catch (err) {
        if (err instanceof WindowError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    },
  );
}

const OVERVIEW_EXAMPLE = {
  window: { since: '2026-11-29T00:00:00.000Z', until: '2026-11-30T00:00:00.000Z' },
  stepSeconds: 900,
  series: { t: [1764374400], passthrough: [120], blocked: [4], allowed: [300], timeouts: [2] },
  requests: { passthrough: 120, blocked: 4, allowed: 300, timeouts: 2 },
  destinations: { passthrough: 3, blocked: 1, allowed: 5 },
  topHosts: {
    items: [{ host: 'api.stripe.com', state: 'passthrough', requests: 120 }],
    total: 9,
    truncated: true,
  },
  blockedBySource: {
    items: [{ namespace: 'ci', workload: 'runner', requests: 4, destinations: 1 }],
    total: 1,
    truncated: false,
  },
  timeouts: {
    total: 2,
    histogram: [{ lowerMs: 14900, upperMs: 15100, count: 2 }],
    p50Ms: 15000,
    p99Ms: 15020,
    inferredTimeoutMs: 15000,
  },
};
