/**
 * The web console at `/`: static files built into dist/console by scripts/build-console.mjs, served with
 * @fastify/static. The files hold no data; every view reads the API with the read token the user signs in
 * with, so the console is exactly as protected as the API. A strict Content-Security-Policy keeps the page
 * to its own origin (no CDN, no inline script).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** dist/console beside dist/api when running the build; from the sources (tests), the repo's dist/console. */
export const CONSOLE_DIR =
  [new URL('../console/', import.meta.url), new URL('../dist/console/', import.meta.url)]
    .map((u) => fileURLToPath(u))
    .find((dir) => existsSync(`${dir}index.html`)) ?? fileURLToPath(new URL('../console/', import.meta.url));

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

export async function consoleRoutes(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const dir = opts.dir ?? CONSOLE_DIR;
  if (!existsSync(dir)) {
    app.log.warn({ dir }, 'the web console is not built (npm run build): / answers 404');
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: ['index.html'],
    wildcard: false,
    decorateReply: false,
    setHeaders(reply) {
      reply.header('Content-Security-Policy', CSP);
      reply.header('X-Content-Type-Options', 'nosniff');
      reply.header('Referrer-Policy', 'no-referrer');
      reply.header('Cache-Control', 'no-cache');
    },
  });
}
