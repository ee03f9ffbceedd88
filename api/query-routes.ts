/**
 * POST /v1/query: user SQL. The store judges it on the engine's own syntax tree against an allow-list
 * (store/sql-guard) before running it read-only within row, result-size, time and memory limits.
 * A refused construct is 403 with the rule's code and reason; an error the engine finds in the query (syntax,
 * unknown column, throwIf, a limit) is 400 with the engine's one-line message; only server faults are 500.
 */
import type { FastifyInstance } from 'fastify';
import { SqlQueryBodySchema } from '../schemas/api.js';
import { errorResponses, jsonResponse, QueryResultSchema } from '../schemas/openapi.js';
import { QueryRefusedError, UserQueryError } from '../store/sql-guard/errors.js';
import { DEFAULT_READONLY_LIMITS, type Store, StoreUnavailableError } from '../store/store.js';

export async function queryRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  const limits = DEFAULT_READONLY_LIMITS;
  app.post(
    '/v1/query',
    {
      schema: {
        tags: ['query'],
        summary: 'Read-only SQL over the stored rows',
        description:
          'Runs one SELECT over access_log, dead_letters and report_runs. Only allow-listed functions; no table ' +
          `functions, other tables, INTO OUTFILE, FORMAT or SETTINGS. At most ${limits.maxRows} rows, ` +
          `${limits.maxResultBytes} result bytes, ${limits.maxSeconds} s. 403 {code, reason} when a construct ` +
          'is not allowed, 400 with the engine message when the query is wrong.',
        body: {
          type: 'object',
          required: ['sql'],
          properties: {
            sql: {
              type: 'string',
              maxLength: 100_000,
              description: 'one SELECT over access_log, dead_letters or report_runs',
              examples: [
                'SELECT dst_host, count() AS n FROM access_log GROUP BY dst_host ORDER BY n DESC LIMIT 5',
              ],
            },
          },
        },
        response: {
          200: jsonResponse(QueryResultSchema, 'The rows, within the row, size and time limits.', {
            rows: [{ dst_host: 'api.stripe.com', n: '1204' }],
            rowCount: 1,
            elapsedMs: 7,
          }),
          ...errorResponses(400, 413, 415, 429, 503),
          403: {
            ...errorResponses(403)[403]!,
            description:
              'The query uses a construct outside the allow-list ({code, reason}), or the token is the ingest one.',
            examples: [
              {
                error: 'not allowed: table function file() is not allowed',
                code: 'table-function',
                reason: 'table function file() is not allowed',
              },
            ],
          },
        },
      },
    },
    async (req, reply) => {
      const body = SqlQueryBodySchema.safeParse(req.body);
      if (!body.success)
        return reply
          .code(400)
          .send({ error: 'the body must be {"sql": "<SELECT ...>"}', code: 'bad-request' });
      try {
        const started = performance.now();
        const rows = await opts.store.queryReadOnly(body.data.sql, limits);
        return { rows, rowCount: rows.length, elapsedMs: Math.round(performance.now() - started) };
      } catch (err) {
        if (err instanceof QueryRefusedError) {
          // Refusals are what an attack looks like: keep the start of the text for whoever reads the logs.
          req.log.warn(
            { code: err.code, reason: err.reason, sql: body.data.sql.slice(0, 300) },
            'query refused',
          );
          return reply
            .code(403)
            .send({ error: `not allowed: ${err.reason}`, code: err.code, reason: err.reason });
        }
        if (err instanceof UserQueryError) {
          req.log.info({ engineCode: err.engineCode, reason: err.message }, 'query failed');
          return reply.code(400).send({
            error: err.message,
            code: 'query-error',
            reason: err.message,
            engineCode: err.engineCode,
          });
        }
        if (err instanceof StoreUnavailableError) {
          req.log.warn({ err: err.message }, 'query: store unavailable');
          return reply
            .code(503)
            .send({ error: 'the store is unavailable; try again later', code: 'unavailable' });
        }
        throw err;
      }
    },
  );
}
