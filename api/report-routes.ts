/** Report routes: validated by zod, computed by reports/render-report.ts, timed into /metrics. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { RegistryEntry } from '../reports/registry.js';
import { type ReportKind, type ReportRequest, renderReport } from '../reports/render-report.js';
import { WindowError } from '../reports/window.js';
import { FormatQuerySchema, jsonSchemaOf, ServiceEntryQuerySchema } from '../schemas/api.js';
import { documentedQuery, errorResponses, reportJsonSchema, reportResponse } from '../schemas/openapi.js';
import {
  REPORT_TABLE_DOCS,
  SERVICE_ENTRIES_JSON_EXAMPLE,
  SERVICE_ENTRIES_YAML_EXAMPLE,
} from '../schemas/openapi-report-examples.js';
import type { Store } from '../store/store.js';
import type { Metrics } from './metrics.js';

export interface ReportRouteOptions {
  store: Store;
  metrics: Metrics;
  /** The configured registry, reloaded by the caller when it changes; null when none is configured. */
  registry: () => Promise<RegistryEntry[] | null>;
  /** Configured CIDR grouping of IP-only destinations, used when a request does not set its own. */
  cidrPrefix?: { v4: number; v6: number };
}

export async function reportRoutes(app: FastifyInstance, opts: ReportRouteOptions): Promise<void> {
  const run = async (kind: ReportKind, req: ReportRequest, reply: FastifyReply) => {
    try {
      const rendered = await opts.metrics.time(kind, () => renderReport(opts.store, req));
      return reply.type(rendered.contentType).send(rendered.text);
    } catch (err) {
      if (err instanceof WindowError) return reply.code(400).send({ error: err.message });
      throw err;
    }
  };
  const invalid = (reply: FastifyReply, error: z.ZodError) =>
    reply
      .code(400)
      .send({ error: error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; ') });

  app.get(
    '/v1/reports/service-entries',
    {
      schema: {
        tags: ['reports'],
        summary: 'ServiceEntries to add before REGISTRY_ONLY',
        description:
          'Suggested ServiceEntries for PassthroughCluster traffic, diffed against the registry: what would ' +
          'be blocked once outboundTrafficPolicy is REGISTRY_ONLY, as YAML ready for kubectl apply (format=yaml), ' +
          'JSON with each suggestion and its own YAML (format=json) or a table (format=table).',
        querystring: documentedQuery(jsonSchemaOf(ServiceEntryQuerySchema)),
        response: {
          200: reportResponse({
            description: 'The suggestions in the requested format (Content-Type says which).',
            json: reportJsonSchema('suggestions', 'one suggested ServiceEntry each, with its yaml'),
            jsonExample: SERVICE_ENTRIES_JSON_EXAMPLE,
            yamlExample: SERVICE_ENTRIES_YAML_EXAMPLE,
            tableExample:
              'NAME               HOSTS            PORTS      RESOLUTION  REQUESTS\n' +
              'api-stripe-com     api.stripe.com   443/TLS    DNS         1204\n',
          }),
          ...errorResponses(400, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const q = ServiceEntryQuerySchema.safeParse(req.query);
      if (!q.success) return invalid(reply, q.error);
      const registry = q.data.diff === 'on' ? await opts.registry() : null;
      const request: ReportRequest = {
        ...q.data,
        cidrPrefixV4: q.data.cidrPrefixV4 ?? opts.cidrPrefix?.v4,
        cidrPrefixV6: q.data.cidrPrefixV6 ?? opts.cidrPrefix?.v6,
        kind: 'service-entries',
        registry,
      };
      return run('service-entries', request, reply);
    },
  );
  const tables = [
    ['/v1/reports/blocked', 'blocked', 'What REGISTRY_ONLY denied, by destination and source.'],
    ['/v1/reports/timeouts', 'timeouts', 'Route and idle timeouts by destination and route.'],
    ['/v1/hosts', 'hosts', 'Every external destination with its status: allowed, passthrough or blocked.'],
  ] as const;
  for (const [path, kind, description] of tables) {
    const docs = REPORT_TABLE_DOCS[kind];
    app.get(
      path,
      {
        schema: {
          tags: ['reports'],
          summary: docs.summary,
          description: `${description} ${docs.more}`,
          querystring: documentedQuery(jsonSchemaOf(FormatQuerySchema)),
          response: {
            200: reportResponse({
              description: 'The report as JSON (format=json) or a text table (format=table).',
              json: reportJsonSchema(docs.list, docs.item),
              jsonExample: docs.jsonExample,
              tableExample: docs.tableExample,
            }),
            ...errorResponses(400, 429, 503),
          },
        },
      },
      async (req, reply) => {
        const q = FormatQuerySchema.safeParse(req.query);
        if (!q.success) return invalid(reply, q.error);
        return run(kind, { ...q.data, kind, registry: null }, reply);
      },
    );
  }
}
