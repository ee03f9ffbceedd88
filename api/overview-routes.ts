/** GET /v1/reports/overview: the console's first view (reports/overview), one engine-grouped answer. */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { overviewReport } from '../reports/overview/overview-report.js';
import { parseWindow, WindowError } from '../reports/shared/window.js';
import { jsonSchemaOf, ReportQuerySchema } from '../schemas/api.js';
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
  })
  .strict();

export async function overviewRoutes(
  app: FastifyInstance,
  opts: { store: Store; metrics: Metrics },
): Promise<void> {
  app.get(
    '/v1/reports/overview',
    {
      schema: {
        tags: ['reports'],
        description:
          'External requests over time by state, destinations per state, top hosts, blocked source workloads and the timeout distribution.',
        querystring: jsonSchemaOf(OverviewQuerySchema),
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
          overviewReport(opts.store, window, { namespace: q.data.namespace, top: q.data.top }),
        );
      } catch (err) {
        if (err instanceof WindowError) return reply.code(400).send({ error: err.message });
        throw err;
      }
    },
  );
}
