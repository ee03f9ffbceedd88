/** Request schemas of the HTTP API. Values reach SQL only as bound parameters; these keep them sane first. */
import { z } from 'zod';
import { exportToProblem } from '../reports/service-entries/service-entry-export-to.js';
import { CLUSTER_DOMAIN_HINT, isClusterDomain } from '../reports/shared/cluster-domain.js';
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET } from '../reports/shared/page.js';

/** A Kubernetes namespace name (DNS-1123 label). */
const namespace = z
  .string()
  .max(63)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'a Kubernetes namespace name (lowercase letters, digits, dashes)',
  );

/**
 * A duration (`24h`, `7d`), `all` (since) or `now` (until), or an ISO time. Checked by reports/shared/window.ts,
 * whose 400 names the value and the forms it takes; a pattern here would answer with the raw regex instead.
 */
const timePoint = z
  .string()
  .max(40)
  .describe('a duration like 30m, 24h or 7d, `all` (since), `now` (until), or an ISO time');

export const ReportQuerySchema = z
  .object({
    since: timePoint.optional(),
    until: timePoint.optional(),
    namespace: namespace.optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MAX_LIMIT)
      .optional()
      .describe(
        `Items per answer (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}); the answer's total and truncated say how many there are in all.`,
      ),
    offset: z.coerce
      .number()
      .int()
      .min(0)
      .max(MAX_OFFSET)
      .optional()
      .describe('Items to skip before the first one returned (default 0), to page through a truncated list.'),
  })
  .strict();

/** `metadata.namespace` and `spec.exportTo` of suggested ServiceEntries (service-entries and blocked). */
const entryFields = {
  /** `metadata.namespace` of the suggested ServiceEntries (`namespace` filters the traffic's source instead). */
  entryNamespace: namespace
    .describe('metadata.namespace of the suggested ServiceEntries (`namespace` filters the source instead)')
    .optional(),
  /** `spec.exportTo` of the suggested ServiceEntries, comma-separated: `.`, `*`, `~` or namespace names. */
  exportTo: z
    .string()
    .max(2000)
    .describe('spec.exportTo of the suggested ServiceEntries, comma-separated: ".", "*", "~" or namespaces')
    .optional(),
};

/**
 * The mesh's cluster DNS domain: names under it are in-mesh, never suggested (default from config). Checked by
 * a refinement, not a JSON Schema pattern, so a 400 says what is expected instead of quoting the regex.
 */
export const clusterDomainField = z
  .string()
  .max(253)
  .refine(isClusterDomain, CLUSTER_DOMAIN_HINT)
  .describe(
    "the mesh's cluster DNS domain (default from config, cluster.local): names under it are in-mesh, flagged and never suggested",
  )
  .optional();
const clusterDomain = clusterDomainField;

/** `exportTo` checked against `entryNamespace`, then split into its list. */
function withExportTo<T extends { exportTo?: string; entryNamespace?: string }>(schema: z.ZodType<T>) {
  return schema
    .superRefine((q, ctx) => {
      const problem =
        q.exportTo === undefined ? undefined : exportToProblem(splitList(q.exportTo), q.entryNamespace);
      if (problem) ctx.addIssue({ code: 'custom', path: ['exportTo'], message: problem });
    })
    .transform(({ exportTo, ...q }) => ({
      ...q,
      ...(exportTo === undefined ? {} : { exportTo: splitList(exportTo) }),
    }));
}

export const ServiceEntryQuerySchema = withExportTo(
  ReportQuerySchema.extend({
    format: z.enum(['yaml', 'json', 'table']).default('yaml'),
    /** The registry diff is on whenever a registry is configured, unless turned off. */
    diff: z.enum(['on', 'off']).default('on'),
    apiVersion: z.enum(['v1', 'v1beta1']).default('v1'),
    ...entryFields,
    clusterDomain,
    cidrPrefixV4: z.coerce
      .number()
      .int()
      .min(8)
      .max(32)
      .optional()
      .describe(
        'IPv4 prefix length by which IP-only destinations with the same ports are grouped into one CIDR ServiceEntry (default from config, 24; 32 turns grouping off).',
      ),
    cidrPrefixV6: z.coerce
      .number()
      .int()
      .min(32)
      .max(128)
      .optional()
      .describe('The same for IPv6 (default from config, 64; 128 turns grouping off).'),
  }).strict(),
);

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export const FormatQuerySchema = ReportQuerySchema.extend({
  format: z.enum(['json', 'table']).default('json'),
}).strict();

/** blocked: each destination with the ServiceEntry that would allow it (JSON), shaped like service-entries'. */
export const BlockedQuerySchema = withExportTo(
  FormatQuerySchema.extend({
    apiVersion: z.enum(['v1', 'v1beta1']).default('v1'),
    ...entryFields,
    clusterDomain,
  }).strict(),
);

export const HostsQuerySchema = FormatQuerySchema.extend({
  search: z.string().max(253).optional().describe('only hosts whose name contains this text, any case'),
  status: z.enum(['passthrough', 'blocked', 'allowed']).optional().describe('only hosts in this state'),
  port: z.coerce.number().int().min(1).max(65535).optional().describe('only this destination port'),
  clusterDomain,
}).strict();

export const ReadinessQuerySchema = ReportQuerySchema.extend({
  format: z
    .enum(['json', 'yaml', 'table'])
    .default('json')
    .describe('json (default), yaml (one Sidecar per namespace) or table'),
  /** Diff against the configured registry (on by default when one is configured). */
  diff: z.enum(['on', 'off']).default('on'),
  apiVersion: z.enum(['v1', 'v1beta1']).default('v1'),
  clusterDomain,
}).strict();

export const SqlQueryBodySchema = z
  .object({
    sql: z.string().min(1).max(100_000),
  })
  .strict();

export type ReportQuery = z.infer<typeof ReportQuerySchema>;

/** A zod schema as the JSON Schema fastify validates with and @fastify/swagger documents. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: 'input', target: 'draft-7' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}
