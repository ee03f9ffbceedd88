/**
 * The OpenAPI document's security, from the same role table the tokens are checked against
 * (api/route-roles.ts): each route names the token it needs and the 401/403 it can answer, so the document
 * cannot drift from what registerAuth enforces. Added to every documented route as it is registered.
 */
import type { FastifyInstance } from 'fastify';
import { errorResponses } from '../schemas/openapi.js';
import type { TokenConfig } from './auth.js';
import type { RouteRole } from './route-roles.js';

/** Both are bearer tokens; authToken, when configured, is accepted for either. */
export const SECURITY_SCHEMES = {
  ingestToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The ingest token (ingestToken, or authToken): Fluent Bit nodes posting logs.',
  },
  readToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'The read token (readToken, or authToken): reports, query, metrics, the console.',
  },
} as const;

const SCHEME_OF: Record<Exclude<RouteRole, 'open'>, keyof typeof SECURITY_SCHEMES> = {
  ingest: 'ingestToken',
  read: 'readToken',
};

/**
 * Registers the onRoute hook that documents access. Must be added after registerAuth (which sets each route's
 * role) and before @fastify/swagger (which reads the route's schema when it is registered).
 */
export function documentAccess(app: FastifyInstance, config: TokenConfig): void {
  // A role with no token configured is open, exactly as registerAuth checks.
  const tokenFor = (role: RouteRole) =>
    role === 'open'
      ? false
      : Boolean(config.authToken || (role === 'ingest' ? config.ingestToken : config.readToken));
  const otherRoleToken = (role: RouteRole) =>
    Boolean(role === 'ingest' ? config.readToken : config.ingestToken);

  app.addHook('onRoute', (route) => {
    const schema = route.schema as Record<string, unknown> | undefined;
    if (!schema || schema.hide) return;
    const role = route.config?.role;
    if (role === undefined) return;
    const guarded = tokenFor(role);
    const response = { ...((schema.response as Record<string, unknown> | undefined) ?? {}) };
    const add = (status: 401 | 403 | 500) => {
      if (!(status in response)) Object.assign(response, errorResponses(status));
    };
    if (guarded) add(401);
    if (guarded && otherRoleToken(role)) add(403);
    add(500);
    route.schema = {
      ...schema,
      security: guarded && role !== 'open' ? [{ [SCHEME_OF[role]]: [] }] : [],
      response,
    };
  });
}
