/** POST /v1/query: user SQL, read-only by the engine's own readonly=1, within row/time/memory limits. */
import type { FastifyInstance } from 'fastify';
import { SqlQueryBodySchema } from '../schemas/api.js';
import { DEFAULT_READONLY_LIMITS, type Store } from '../store/store.js';
import { checkReadOnlySql } from './read-only-sql.js';

export async function queryRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  app.post(
    '/v1/query',
    {
      schema: {
        description:
          'Runs read-only SQL against access_log and dead_letters (readonly=1, 10,000 rows, 10 s).',
        body: {
          type: 'object',
          required: ['sql'],
          properties: { sql: { type: 'string', maxLength: 100_000 } },
        },
      },
    },
    async (req, reply) => {
      const body = SqlQueryBodySchema.safeParse(req.body);
      if (!body.success) return reply.code(400).send({ error: 'the body must be {"sql": "<SELECT ...>"}' });
      const problem = checkReadOnlySql(body.data.sql);
      if (problem) return reply.code(400).send({ error: problem });
      try {
        const started = performance.now();
        const rows = await opts.store.queryReadOnly(body.data.sql, DEFAULT_READONLY_LIMITS);
        return { rows, rowCount: rows.length, elapsedMs: Math.round(performance.now() - started) };
      } catch (err) {
        const message = (err as Error).message;
        // The engine refusing a write or a settings change is the caller's fault, not ours.
        if (/readonly|READONLY|Code: 164\b/.test(message))
          return reply.code(403).send({ error: `refused: ${firstLine(message)}` });
        if (/Code: (62|46|47|60|81|36|43|44|53|386|396|158|159|241|307)\b/.test(message)) {
          return reply.code(400).send({ error: firstLine(message) });
        }
        throw err;
      }
    },
  );
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.slice(0, 500);
}
