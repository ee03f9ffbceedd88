/** The ingest routes' OpenAPI descriptions (api/ingest-routes.ts): what Fluent Bit and curl may send. */
import { errorResponses, IngestAcceptedSchema, jsonResponse } from './openapi.js';

const LINE_EXAMPLE =
  '[2026-11-30T00:00:00.000Z] "GET /v1/charges HTTP/1.1" 200 - via_upstream - "-" 0 512 31 30 "-" ' +
  '"curl/8.5.0" "c0ffee" "api.stripe.com" "203.0.113.7:443" PassthroughCluster 10.0.0.12:41234 ' +
  '203.0.113.7:443 10.0.0.12:41230 - -';

const ACCEPTED_EXAMPLE = { accepted: 2, parsed: 2, deadLetters: 0 };

const headers = {
  type: 'object',
  properties: {
    'content-encoding': {
      type: 'string',
      description: 'gzip (or x-gzip, identity); the decoded size is capped by ingest.maxDecodedBytes',
      examples: ['gzip'],
    },
  },
};

/**
 * 2xx only once every row and dead letter of the body is stored (with an intake journal: synced to it);
 * 429/503 with Retry-After otherwise, which Fluent Bit retries (a retried body already accepted is recognised
 * and not stored twice).
 */
const responses = {
  200: jsonResponse(
    IngestAcceptedSchema,
    'Stored: the rows and the dead letters (with their reason) of this body are in the store, or, on a ' +
      'server with an intake journal (ingest.journalDir), synced to the journal, from which they are stored.',
    ACCEPTED_EXAMPLE,
  ),
  ...errorResponses(400, 413, 415, 429, 503),
};

export const INGEST_DOCS = {
  fluentBit: {
    tags: ['ingest'],
    summary: "Fluent Bit's http output",
    description:
      "Records from Fluent Bit's `http` output, format json, json_lines, json_stream or msgpack, gzip or " +
      'not. Each record holds the access-log line (`log`, or the fields Fluent Bit already parsed) and the ' +
      'kubernetes filter metadata naming the source pod. Answered once stored (or journaled); lines that do not parse go to ' +
      'dead_letters with the reason, never blocking the rest.',
    headers,
    body: {
      description: 'records, by Content-Type',
      content: {
        'application/json': {
          schema: {
            type: 'array',
            description: 'a JSON array of records (format json)',
            items: { type: 'object', additionalProperties: true },
            examples: [
              [
                {
                  date: 1764460800.0,
                  log: LINE_EXAMPLE,
                  kubernetes: {
                    namespace_name: 'payments',
                    pod_name: 'api-7d9f8-xk2lp',
                    container_name: 'istio-proxy',
                  },
                },
              ],
            ],
          },
        },
        'application/x-ndjson': {
          schema: {
            type: 'string',
            description: 'one JSON record per line (format json_lines; also application/jsonlines)',
            examples: [`{"date":1764460800.0,"log":${JSON.stringify(LINE_EXAMPLE)}}\n`],
          },
        },
        'application/msgpack': {
          schema: {
            type: 'string',
            format: 'binary',
            description: 'Fluent Bit msgpack events (format msgpack)',
          },
        },
      },
    },
    response: responses,
  },
  lines: {
    tags: ['ingest'],
    summary: 'Plain access-log lines',
    description:
      'Envoy access-log lines, one per line, in the default text format or JSON (curl --data-binary @access.log). ' +
      'Answered once stored (or journaled); lines that do not parse go to dead_letters with the reason.',
    headers,
    body: {
      description: 'access-log lines',
      content: {
        'text/plain': {
          schema: {
            type: 'string',
            description: 'Envoy access-log lines, text or JSON format, newline-separated',
            examples: [`${LINE_EXAMPLE}\n`],
          },
        },
      },
    },
    response: responses,
  },
};
