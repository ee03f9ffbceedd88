/** Report routes: validated by zod, computed by reports/render-report.ts, timed into /metrics. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { RegistryEntry } from '../reports/registry/registry.js';
import { type ReportKind, type ReportRequest, renderReport } from '../reports/render-report.js';
import { WindowError } from '../reports/shared/window.js';
import {
  BlockedQuerySchema,
  FormatQuerySchema,
  HostsQuerySchema,
  jsonSchemaOf,
  ReadinessQuerySchema,
  ServiceEntryQuerySchema,
} from '../schemas/api.js';
import { documentedQuery, errorResponses, reportJsonSchema, reportResponse } from '../schemas/openapi.js';
import {
  READINESS_DOCS,
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
  /** Configured cluster DNS domain of the mesh, used when a request does not set its own. */
  clusterDomain?: string;
}

export async function reportRoutes(app: FastifyInstance, opts: ReportRouteOptions): Promise<void> {
  const run = async (kind: ReportKind, req: ReportRequest, reply: FastifyReply) => {
    try {
      const withDomain = { ...req, clusterDomain: req.clusterDomain ?? opts.clusterDomain };
      const rendered = await opts.metrics.time(kind, () => renderReport(opts.store, withDomain));
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
  app.get(
    '/v1/reports/readiness',
    {
      schema: {
        tags: ['reports'],
        summary: 'Lockdown readiness per namespace',
        description:
          'Lockdown readiness per source namespace: the share of its external requests the registry plus the suggested ServiceEntries would admit under REGISTRY_ONLY, what would still be blocked and why, and a Sidecar switching the namespace to REGISTRY_ONLY.',
        querystring: documentedQuery(jsonSchemaOf(ReadinessQuerySchema)),
        response: {
          200: reportResponse({
            description: 'Readiness as JSON, YAML (one Sidecar per namespace) or a text table.',
            json: reportJsonSchema('namespaces', READINESS_DOCS.item),
            jsonExample: READINESS_DOCS.jsonExample,
            yamlExample: READINESS_DOCS.yamlExample,
            tableExample: READINESS_DOCS.tableExample,
          }),
          ...errorResponses(400, 429, 503),
        },
      },
    },
    async (req, reply) => {
      const q = ReadinessQuerySchema.safeParse(req.query);
      if (!q.success) return invalid(reply, q.error);
      const registry = q.data.diff === 'on' ? await opts.registry() : null;
      return run('readiness', { ...q.data, kind: 'readiness', registry }, reply);
    },
  );
  app.get(
    '/v1/reports/blocked',
    {
      schema: {
        tags: ['reports'],
        summary: REPORT_TABLE_DOCS.blocked.summary,
        description: `What REGISTRY_ONLY denied, by destination and source. ${REPORT_TABLE_DOCS.blocked.more}`,
        querystring: documentedQuery(jsonSchemaOf(BlockedQuerySchema)),
        response: tableReportResponses(REPORT_TABLE_DOCS.blocked, 'The report'),
      },
    },
    async (req, reply) => {
      const q = BlockedQuerySchema.safeParse(req.query);
      if (!q.success) return invalid(reply, q.error);
      return run('blocked', { ...q.data, kind: 'blocked', registry: null }, reply);
    },
  );
  const tables = [
    ['/v1/reports/timeouts', 'timeouts', 'Route and idle timeouts by destination and route.'],
  ] as const;
  app.get(
    '/v1/hosts',
    {
      schema: {
        tags: ['reports'],
        summary: REPORT_TABLE_DOCS.hosts.summary,
        description:
          'Every external destination with its status: allowed, passthrough or blocked; searchable and filtered by status and port.',
        querystring: documentedQuery(jsonSchemaOf(HostsQuerySchema)),
        response: tableReportResponses(REPORT_TABLE_DOCS.hosts, 'The hosts'),
      },
    },
    async (req, reply) => {
      const q = HostsQuerySchema.safeParse(req.query);
      if (!q.success) return invalid(reply, q.error);
      return run('hosts', { ...q.data, kind: 'hosts', registry: null }, reply);
    },
  );
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
          response: tableReportResponses(docs, 'The report'),
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

/** The answers of a report served as JSON or a text table: its 200 with both examples, and its errors. */
function tableReportResponses(
  docs: (typeof REPORT_TABLE_DOCS)[keyof typeof REPORT_TABLE_DOCS],
  what: string,
) {
  return {
    200: reportResponse({
      description: `${what} as JSON (format=json) or a text table (format=table).`,
      json: reportJsonSchema(docs.list, docs.item),
      jsonExample: docs.jsonExample,
      tableExample: docs.tableExample,
    }),
    ...errorResponses(400, 429, 503),
  };
}
