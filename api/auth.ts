/**
 * Bearer tokens by role (api/route-roles.ts): the ingest token opens intake, the read token opens reading,
 * authToken opens both; probes are open. Checked on every request before its body is read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Config } from '../schemas/config.js';
import { type RouteRole, roleOfRoute } from './route-roles.js';

type TokenRole = 'ingest' | 'read' | 'both';

export interface ClassifiedRoute {
  method: string;
  url: string;
  role: RouteRole;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered after registerAuth, with its role: what the access tests iterate over. */
    classifiedRoutes: readonly ClassifiedRoute[];
  }
}

interface KnownToken {
  role: TokenRole;
  digest: Buffer;
}

/** The scheme is case-insensitive (RFC 7235 §2.1); the token is what follows it. */
const BEARER = /^bearer +(\S+)$/i;

export type TokenConfig = Pick<Config, 'authToken' | 'ingestToken' | 'readToken'>;

export function hasAnyToken(config: TokenConfig): boolean {
  return Boolean(config.authToken || config.ingestToken || config.readToken);
}

/**
 * Classifies every route as it is registered (an unclassified one fails the start) and checks the token of
 * every request. A role with no token configured is open (loopback, or --insecure).
 */
export function registerAuth(app: FastifyInstance, config: TokenConfig): void {
  const classified: ClassifiedRoute[] = [];
  app.decorate('classifiedRoutes', classified);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const roles = new Set(methods.map((m) => roleOfRoute(m, route.url, route.config?.role)));
    if (roles.size !== 1)
      throw new Error(`route ${route.url} has methods of different roles: register them apart`);
    const role = [...roles][0]!;
    route.config = { ...route.config, role };
    // fastify serves a plugin's '/' route at both `prefix` and `prefix/` but runs onRoute once, for `prefix`;
    // the second copy shares these options, role included.
    const urls =
      route.routePath === '' && route.prefixTrailingSlash !== 'no-slash'
        ? [route.url, `${route.url}/`]
        : [route.url];
    for (const method of methods)
      for (const url of urls)
        if (!classified.some((c) => c.method === method && c.url === url))
          classified.push({ method, url, role });
  });

  const known: KnownToken[] = [];
  const add = (role: TokenRole, token: string | undefined) => {
    if (token) known.push({ role, digest: digest(token) });
  };
  add('both', config.authToken);
  add('ingest', config.ingestToken);
  add('read', config.readToken);
  if (known.length === 0) return;
  const guarded = (role: RouteRole | undefined) =>
    role === undefined ? true : role !== 'open' && known.some((t) => t.role === role || t.role === 'both');

  app.addHook('onRequest', async (req, reply) => {
    // No role: no route matched (a 404 is answered only to a caller holding some token).
    const role = req.routeOptions.config?.role;
    if (!guarded(role)) return;
    const given = BEARER.exec(req.headers.authorization?.trim() ?? '')?.[1];
    if (given === undefined)
      return refuse(reply, 401, 'missing bearer token (Authorization: Bearer <token>)');
    const holder = match(known, digest(given));
    if (!holder) return refuse(reply, 401, 'invalid bearer token');
    if (role !== undefined && holder !== 'both' && holder !== role) {
      return refuse(reply, 403, `this is the ${holder} token; this route needs the ${role} token`);
    }
  });
}

/** Equal-length digests compared with timingSafeEqual against every token: no early exit, no length leak. */
function match(known: KnownToken[], given: Buffer): TokenRole | undefined {
  let found: TokenRole | undefined;
  for (const t of known) if (timingSafeEqual(t.digest, given) && !found) found = t.role;
  return found;
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

function refuse(reply: FastifyReply, status: 401 | 403, error: string): FastifyReply {
  reply.header(
    'WWW-Authenticate',
    status === 401 ? 'Bearer realm="egresslens"' : 'Bearer realm="egresslens", error="insufficient_scope"',
  );
  return reply.code(status).send({ error });
}
