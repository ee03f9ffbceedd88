/**
 * Which token each route needs, from one explicit table. A route that is neither in the table nor declares
 * `config: { role }` is refused when it is registered, so a new route cannot slip out from behind the tokens
 * by its URL: whoever adds it decides here whether Fluent Bit nodes or readers may call it.
 */

/** `open`: probes, no token. `ingest`: the intake token. `read`: the read token. (authToken serves both.) */
export type RouteRole = 'open' | 'ingest' | 'read';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Declares the route's role where the table does not list it. */
    role?: RouteRole;
  }
}

/** `METHOD url`, with the url as registered (fastify's pattern). HEAD routes take their GET route's role. */
export const ROUTE_ROLES: Readonly<Record<string, RouteRole>> = {
  'GET /healthz': 'open',
  'GET /readyz': 'open',
  'POST /v1/ingest/fluent-bit': 'ingest',
  'POST /v1/ingest/lines': 'ingest',
  'GET /v1/reports/service-entries': 'read',
  'GET /v1/reports/blocked': 'read',
  'GET /v1/reports/timeouts': 'read',
  'GET /v1/hosts': 'read',
  'POST /v1/query': 'read',
  'GET /metrics': 'read',
  // @fastify/swagger-ui under /docs: the OpenAPI document and its static files.
  'GET /docs': 'read',
  'GET /docs/': 'read',
  'GET /docs/static/index.html': 'read',
  'GET /docs/static/swagger-initializer.js': 'read',
  'GET /docs/static/*': 'read',
  'GET /docs/json': 'read',
  'GET /docs/yaml': 'read',
  'GET /v1/reports/overview': 'read',
  'GET /v1/reports/readiness': 'read',
  // The web console's static shell (api/console.ts): no data in it; every view reads the API above with the
  // read token the user signs in with, so the shell itself is open.
  'GET /': 'open',
  'GET /index.html': 'open',
  'GET /app.js': 'open',
  'GET /app.css': 'open',
  'GET /favicon.svg': 'open',
};

export class UnclassifiedRouteError extends Error {
  override name = 'UnclassifiedRouteError';
}

/** The role of a route being registered; throws when it has none, or when its declaration contradicts the table. */
export function roleOfRoute(method: string, url: string, declared: RouteRole | undefined): RouteRole {
  const key = `${method === 'HEAD' ? 'GET' : method} ${url}`;
  const listed = ROUTE_ROLES[key];
  if (listed && declared && listed !== declared) {
    throw new UnclassifiedRouteError(
      `route ${key} declares role ${declared} but api/route-roles.ts says ${listed}`,
    );
  }
  const role = listed ?? declared;
  if (!role) {
    throw new UnclassifiedRouteError(
      `route ${key} has no access role: add it to ROUTE_ROLES in api/route-roles.ts (open, ingest or read)`,
    );
  }
  return role;
}
