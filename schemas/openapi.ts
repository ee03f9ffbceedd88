/**
 * What the OpenAPI document (/docs/json) says about each route, in one place: the tags, the shared error
 * answer, the response bodies and the query parameters' descriptions. The bodies are written in zod and turned
 * into JSON Schema by jsonSchemaOf, like the request schemas. They document; they do not shape what is sent
 * (api/server.ts serializes every answer as built), so an open-ended body is a loose object, not a filter.
 */
import { z } from 'zod';
import { jsonSchemaOf } from './api.js';

/** Every route carries exactly one of these. */
export const API_TAGS = [
  {
    name: 'ingest',
    description: 'Access logs in: Fluent Bit http output and plain lines (the ingest token).',
  },
  {
    name: 'reports',
    description: 'Egress answers: ServiceEntries to add, blocked, timeouts, hosts, overview.',
  },
  { name: 'query', description: 'Read-only SQL over the stored rows, judged by the engine parser.' },
  { name: 'operations', description: 'Probes (no token) and Prometheus metrics.' },
] as const;
export type ApiTag = (typeof API_TAGS)[number]['name'];

/** The one error shape every refusal and failure answers with. */
export const ErrorBodySchema = z
  .looseObject({
    error: z.string().describe('one line saying what went wrong and what to do'),
    code: z
      .string()
      .describe('a stable code where the route has several refusals (query: a rule id, query-error, …)')
      .optional(),
    reason: z.string().describe('the rule or engine message behind a query refusal').optional(),
    engineCode: z.number().describe("ClickHouse's error code for a query the engine rejected").optional(),
  })
  .describe('{error} and, for some routes, a code and reason');

const ERROR_EXAMPLES: Record<ErrorStatus, { why: string; example: Record<string, unknown> }> = {
  400: {
    why: 'The request is malformed: a query parameter, the body or the SQL is wrong.',
    example: { error: 'since: a duration like 30m, 24h or 7d, `all`, or an ISO time; got "yesterday"' },
  },
  401: {
    why: 'No bearer token, or an unknown one (WWW-Authenticate: Bearer).',
    example: { error: 'missing bearer token (Authorization: Bearer <token>)' },
  },
  403: {
    why: 'The token is valid but of the other role (ingest token on a read route, or the reverse).',
    example: { error: 'this is the ingest token; this route needs the read token' },
  },
  413: {
    why: 'The body is over a limit (bytes, records, nesting, decompressed size).',
    example: { error: 'body has more than 100000 lines (limit ingest.maxRecords)' },
  },
  415: {
    why: 'The Content-Type or Content-Encoding is not one this route reads.',
    example: { error: 'lines must be sent as text/plain' },
  },
  429: {
    why: 'Too much work queued (intake queue or analytic queries); retry after Retry-After seconds.',
    example: { error: 'the intake queue is full; retry later' },
  },
  500: { why: 'A server fault (logged); never a user mistake.', example: { error: 'internal error' } },
  503: {
    why: 'The store is down or slow, or the heap is near its limit; retry after Retry-After seconds.',
    example: { error: 'the store is unavailable; retry later' },
  },
};

const errorJson = jsonSchemaOf(ErrorBodySchema);

export type ErrorStatus = 400 | 401 | 403 | 413 | 415 | 429 | 500 | 503;

/** The error answers a route gives, as fastify `response` entries with an example each. */
export function errorResponses<S extends ErrorStatus>(...statuses: S[]): Record<S, Record<string, unknown>> {
  const out = {} as Record<S, Record<string, unknown>>;
  for (const status of statuses) {
    const { why, example } = ERROR_EXAMPLES[status]!;
    out[status] = { ...errorJson, description: why, examples: [example] };
  }
  return out;
}

/** A JSON response entry: the body's schema with its description and one example. */
export function jsonResponse(
  schema: z.ZodType,
  description: string,
  example: unknown,
): Record<string, unknown> {
  return { ...jsonSchemaOf(schema), description, examples: [example] };
}

/**
 * The query parameters' descriptions, shared by every route that takes them, where zod has none. `replace`
 * wins over zod's: since and until share one there, written for the 400 messages.
 */
const PARAMETER_DOCS: Record<string, { description?: string; examples?: unknown[]; replace?: true }> = {
  since: {
    description: 'start of the window: a duration back from now (30m, 24h, 7d), `all`, or an ISO time',
    examples: ['24h'],
    replace: true,
  },
  until: {
    description: 'end of the window: a duration back from now, `now`, or an ISO time',
    examples: ['now'],
    replace: true,
  },
  namespace: {
    description: 'only traffic whose source pod is in this Kubernetes namespace',
    examples: ['payments'],
  },
  format: { description: 'the answer format (see the values): json, a monospace text table, or yaml' },
  search: { examples: ['stripe'] },
  status: { examples: ['passthrough'] },
  port: { examples: [443] },
  diff: {
    description: 'compare with the configured ServiceEntry registry (on) and omit what it already covers',
  },
  apiVersion: {
    description: 'the Istio API version of the ServiceEntries: networking.istio.io/v1 or v1beta1',
  },
  entryNamespace: { examples: ['istio-system'] },
  exportTo: { examples: ['.'] },
  clusterDomain: { examples: ['cluster.local'] },
  top: { examples: [10] },
};

/**
 * A querystring schema with every parameter described: zod's description, or the shared one above. Only annotations are added, so fastify validates exactly as before.
 */
export function documentedQuery(schema: Record<string, unknown>): Record<string, unknown> {
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const described: Record<string, Record<string, unknown>> = {};
  for (const [name, prop] of Object.entries(properties)) {
    const docs = PARAMETER_DOCS[name];
    described[name] = {
      ...prop,
      ...(docs?.description && (docs.replace || prop.description === undefined)
        ? { description: docs.description }
        : {}),
      ...(docs?.examples && prop.examples === undefined ? { examples: docs.examples } : {}),
    };
  }
  return { ...schema, properties: described };
}

// ---- response bodies ----

export const IngestAcceptedSchema = z
  .looseObject({
    accepted: z.number().int().describe('records in the body (0 for a retry of a body already stored)'),
    parsed: z.number().int().describe('access-log rows stored').optional(),
    deadLetters: z
      .number()
      .int()
      .describe('records stored in dead_letters with their reason (unparseable, over a limit)')
      .optional(),
    duplicate: z.boolean().describe('true when this body was already accepted and stored').optional(),
  })
  .describe('stored: every row and dead letter of the body is in the store');

export const QueryResultSchema = z.looseObject({
  rows: z.array(z.record(z.string(), z.unknown())).describe('the result rows, as JSON objects by column'),
  rowCount: z.number().int().describe('rows returned'),
  elapsedMs: z.number().int().describe('time the query took, ms'),
});

export const HealthzSchema = z.looseObject({
  status: z.literal('ok'),
  auth: z
    .enum(['bearer', 'none'])
    .describe('whether read routes need a bearer token (the console asks for it)'),
});

export const ReadyzSchema = z.looseObject({
  status: z.enum(['ready', 'not ready']),
  store: z.enum(['up', 'down']),
  intake: z.string().describe('the intake pipeline: ok, full or store-down'),
  storeCheck: z.looseObject({
    lastOkAgeMs: z.number().nullable().describe('ms since the last successful store check'),
    lastCheckAgeMs: z.number().nullable().describe('ms since the last store check'),
    notReadyAfterMs: z.number().describe('not ready once the last success is older than this'),
    lastCheckOk: z.boolean(),
  }),
  queries: z.looseObject({
    running: z.number().int().describe('analytic queries running'),
    queued: z.number().int().describe('analytic queries waiting for a slot'),
  }),
});

const counted = (item: z.ZodType) =>
  z.looseObject({
    items: z.array(item),
    total: z.number().int().describe('items before the cut'),
    truncated: z.boolean().describe('true when items holds fewer than total'),
  });

const state = z.enum(['passthrough', 'blocked', 'allowed']);

export const OverviewSchema = z.looseObject({
  window: z.looseObject({ since: z.string(), until: z.string() }),
  stepSeconds: z.number().int().describe('width of one series bucket'),
  series: z
    .looseObject({
      t: z.array(z.number()).describe('bucket starts, epoch seconds'),
      passthrough: z.array(z.number()),
      blocked: z.array(z.number()),
      allowed: z.array(z.number()),
      timeouts: z.array(z.number()),
    })
    .describe('external requests per bucket by state'),
  requests: z.record(z.string(), z.number()).describe('external requests by state, and timeouts'),
  destinations: z.record(z.string(), z.number()).describe('distinct host:port destinations by state'),
  topHosts: counted(z.looseObject({ host: z.string(), state, requests: z.number() })),
  blockedBySource: counted(
    z.looseObject({
      namespace: z.string(),
      workload: z.string(),
      requests: z.number(),
      destinations: z.number(),
    }),
  ),
  timeouts: z.looseObject({
    total: z.number(),
    histogram: z.array(z.looseObject({ lowerMs: z.number(), upperMs: z.number(), count: z.number() })),
    p50Ms: z.number().nullable(),
    p99Ms: z.number().nullable(),
    inferredTimeoutMs: z
      .number()
      .nullable()
      .describe('where timed-out durations cluster: the likely timeout'),
  }),
});

/**
 * A report's JSON body (format=json): the window, the list and its paging (reports/page.ts ListInfo). The
 * items' fields are documented by the example only; every field passes.
 */
export function reportJsonSchema(list: string, itemDescription: string): z.ZodType {
  return z.looseObject({
    window: z.looseObject({ since: z.string(), until: z.string() }).optional(),
    total: z.number().int().describe('items in the whole list (all pages)'),
    truncated: z
      .boolean()
      .describe('true when the answer holds fewer items than total: page with limit/offset'),
    limit: z.number().int().describe('the page size used').optional(),
    offset: z.number().int().describe('items skipped before the first one returned').optional(),
    [list]: z.array(z.looseObject({})).describe(itemDescription),
  });
}

/**
 * A report's 200: the same answer as YAML, JSON or a text table by `format`. The body is sent as text built
 * by reports/render-report.ts, so these media types only document it.
 */
export function reportResponse(opts: {
  description: string;
  json: z.ZodType;
  jsonExample: unknown;
  tableExample: string;
  yamlExample?: string;
}): Record<string, unknown> {
  const content: Record<string, unknown> = {};
  if (opts.yamlExample !== undefined)
    content['application/yaml'] = { schema: { type: 'string' }, example: opts.yamlExample };
  content['application/json'] = { schema: jsonSchemaOf(opts.json), example: opts.jsonExample };
  content['text/plain'] = { schema: { type: 'string' }, example: opts.tableExample };
  return { description: opts.description, content };
}
