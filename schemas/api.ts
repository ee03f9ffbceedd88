/** Request schemas of the HTTP API. Values reach SQL only as bound parameters; these keep them sane first. */
import { z } from 'zod';
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET } from '../reports/page.js';

/** A Kubernetes namespace name (DNS-1123 label). */
const namespace = z
  .string()
  .max(63)
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/,
    'a Kubernetes namespace name (lowercase letters, digits, dashes)',
  );

const timePoint = z
  .string()
  .max(40)
  .regex(/^(\d+[smhdw]|\d{4}-\d{2}-\d{2}[0-9TZ:.+\- ]*)$/, 'a duration like 24h or 7d, or an ISO time');

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

export const ServiceEntryQuerySchema = ReportQuerySchema.extend({
  format: z.enum(['yaml', 'json', 'table']).default('yaml'),
  /** The registry diff is on whenever a registry is configured, unless turned off. */
  diff: z.enum(['on', 'off']).default('on'),
  apiVersion: z.enum(['v1', 'v1beta1']).default('v1'),
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
}).strict();

export const FormatQuerySchema = ReportQuerySchema.extend({
  format: z.enum(['json', 'table']).default('json'),
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
