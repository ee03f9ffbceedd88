/** Bearer-token check for every route but the probes, in constant time. */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/**
 * Probes, and the console's static shell (api/console.ts): the shell holds no data, and every view it shows
 * reads the API with the token the user signs in with.
 */
const OPEN_ROUTES = new Set([
  '/healthz',
  '/readyz',
  '/',
  '/index.html',
  '/app.js',
  '/app.css',
  '/favicon.svg',
]);

export function registerAuth(app: FastifyInstance, token: string | undefined): void {
  if (!token) return;
  const expected = Buffer.from(`Bearer ${token}`);
  app.addHook('onRequest', async (req, reply) => {
    if (OPEN_ROUTES.has(req.url.split('?')[0]!)) return;
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      reply.header('WWW-Authenticate', 'Bearer realm="egresslens"');
      return reply.code(401).send({ error: 'missing or invalid bearer token' });
    }
  });
}
