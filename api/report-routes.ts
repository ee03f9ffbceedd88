/** Report routes: validated by zod, computed by reports/render-report.ts, timed into /metrics. */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { z } from 'zod';
import type { RegistryEntry } from '../reports/registry/registry.js';
import { type ReportKind, type ReportRequest, renderReport } from '../reports/render-report.js';
import { WindowError } from '../reports/shared/window.js';
import {
  FormatQuerySchema,
  HostsQuerySchema,
  jsonSchemaOf,
  ReadinessQuerySchema,
  ServiceEntryQuerySchema,
} from '../schemas/api.js';
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
        description: 'Suggested ServiceEntries for PassthroughCluster traffic, diffed against the registry.',
        querystring: jsonSchemaOf(ServiceEntryQuerySchema),
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
        description:
          'Lockdown readiness per source namespace: the share of its external requests the registry plus the suggested ServiceEntries would admit under REGISTRY_ONLY, what would still be blocked and why, and a Sidecar switching the namespace to REGISTRY_ONLY.',
        querystring: jsonSchemaOf(ReadinessQuerySchema),
      },
    },
    async (req, reply) => {
      const q = ReadinessQuerySchema.safeParse(req.query);
      if (!q.success) return invalid(reply, q.error);
      const registry = q.data.diff === 'on' ? await opts.registry() : null;
      return run('readiness', { ...q.data, kind: 'readiness', registry }, reply);
    },
  );
  const tables = [
    ['/v1/reports/blocked', 'blocked', 'What REGISTRY_ONLY denied, by destination and source.'],
    ['/v1/reports/timeouts', 'timeouts', 'Route and idle timeouts by destination and route.'],
  ] as const;
  app.get(
    '/v1/hosts',
    {
      schema: {
        description:
          'Every external destination with its status: allowed, passthrough or blocked; searchable and filtered by status and port.',
        querystring: jsonSchemaOf(HostsQuerySchema),
      },
    },
    async (req, reply) => {
      const q = HostsQuerySchema.safeParse(req.query);
      if (!q.success) return invalid(reply, q.error);
      return run('hosts', { ...q.data, kind: 'hosts', registry: null }, reply);
    },
  );
  for (const [path, kind, description] of tables) {
    app.get(
      path,
      { schema: { description, querystring: jsonSchemaOf(FormatQuerySchema) } },
      async (req, reply) => {
        const q = FormatQuerySchema.safeParse(req.query);
        if (!q.success) return invalid(reply, q.error);
        return run(kind, { ...q.data, kind, registry: null }, reply);
      },
    );
  }
}
