/**
 * Token roles and HTTP time limits against real served instances (real chDB store, fastify listening on a
 * loopback port, requests over real sockets). Every route the app registers is enumerated from the app itself,
 * so a route added later is tested here without anyone remembering to.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerAuth } from '../../api/auth.js';
import { httpTimeouts } from '../../api/http-timeouts.js';
import { ROUTE_ROLES, type RouteRole, roleOfRoute, UnclassifiedRouteError } from '../../api/route-roles.js';
import { buildServer } from '../../api/server.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { type Config, loadConfig } from '../../schemas/config.js';
import { ChdbStore } from '../../store/chdb-store.js';

const INGEST = 'ingest-token-0123456789abcdef';
const READ = 'read-token-fedcba9876543210';
const BOTH = 'both-roles-token-00112233445566';
const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'egresslens-access-'));
let store: ChdbStore;
let pipeline: IngestPipeline;
const servers: FastifyInstance[] = [];

interface Served {
  app: FastifyInstance;
  url: string;
  port: number;
}

async function serve(flags: Record<string, unknown>): Promise<Served> {
  const config = loadConfig({ env: {}, flags: { data: dir, ...flags } });
  const { app } = await buildServer({ config, store, pipeline, log });
  servers.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as AddressInfo).port;
  return { app, url: `http://127.0.0.1:${port}`, port };
}

beforeAll(async () => {
  const config = loadConfig({ env: {}, flags: { data: dir, ingest: { flushIntervalMs: 20 } } });
  store = ChdbStore.open(dir);
  await store.migrate();
  pipeline = new IngestPipeline(
    store,
    { ...config.ingest, format: 'auto', storeRaw: false, retryBaseMs: 10, retryMaxMs: 50 },
    log,
  );
});

afterAll(async () => {
  for (const app of servers) await app.close();
  await pipeline?.close();
  await store?.close();
});

interface Route {
  method: string;
  url: string;
}

/**
 * Every route of the app: the list registerAuth classified, checked against fastify's own route tree so a
 * route registered around registerAuth (and so never classified) would fail the count.
 */
function routesOf(app: FastifyInstance): Route[] {
  const routes = app.classifiedRoutes.map(({ method, url }) => ({ method, url }));
  let inTree = 0;
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const methods = / \(([A-Z, ]+)\)$/.exec(line)?.[1];
    if (methods) inTree += methods.split(', ').length;
  }
  expect(routes.length).toBe(inTree);
  return routes;
}

/** A concrete path for a route pattern (wildcards and params filled in). */
const pathOf = (url: string) => url.replace(/\*$/, 'probe.txt').replace(/:\w+/g, 'x');

async function call(s: Served, route: Route, authorization?: string): Promise<Response> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  let body: string | undefined;
  if (route.method === 'POST') {
    headers['content-type'] = route.url === '/v1/query' ? 'application/json' : 'text/plain';
    body = route.url === '/v1/query' ? JSON.stringify({ sql: 'SELECT 1 AS one' }) : '';
  }
  return fetch(s.url + pathOf(route.url), { method: route.method, headers, body });
}

describe('role tokens on every registered route', () => {
  let s: Served;
  let routes: Route[];
  beforeAll(async () => {
    s = await serve({ ingestToken: INGEST, readToken: READ });
    routes = routesOf(s.app);
  });

  it('enumerates the whole app, and each route has the role its purpose calls for', () => {
    // A sanity floor: the enumeration must see the routes we know of, or the loops below prove nothing.
    const keys = routes.map((r) => `${r.method} ${r.url}`);
    for (const known of ['POST /v1/ingest/fluent-bit', 'POST /v1/query', 'GET /metrics', 'GET /docs/json'])
      expect(keys).toContain(known);
    for (const r of routes) {
      const role = roleOfRoute(r.method, r.url, undefined);
      // The console's static shell (no data in it) is open like the probes.
      const consoleShell = ['/', '/index.html', '/app.js', '/app.css', '/favicon.svg'].includes(r.url);
      const expected: RouteRole =
        r.url === '/healthz' || r.url === '/readyz' || consoleShell
          ? 'open'
          : r.url.startsWith('/v1/ingest/')
            ? 'ingest'
            : 'read';
      expect(role, `${r.method} ${r.url}`).toBe(expected);
    }
  });

  it('no token or a wrong token: 401 with a Bearer challenge on every route but the probes', async () => {
    for (const r of routes) {
      const open = roleOfRoute(r.method, r.url, undefined) === 'open';
      for (const auth of [
        undefined,
        '',
        `Bearer ${INGEST.slice(0, -1)}X`,
        `Bearer ${READ}x`,
        `Bearer ${BOTH}`,
        INGEST,
        `Basic ${Buffer.from(`u:${READ}`).toString('base64')}`,
        `Bearer`,
        `Bearer  ${READ} extra`,
      ]) {
        const res = await call(s, r, auth);
        const what = `${r.method} ${r.url} with ${JSON.stringify(auth)}`;
        if (open) {
          expect(res.status, what).toBe(200);
        } else {
          expect(res.status, what).toBe(401);
          expect(res.headers.get('www-authenticate'), what).toMatch(/^Bearer realm=/);
        }
        await res.arrayBuffer();
      }
    }
  });

  it('the other role’s token: 403 with a one-line reason; the right token: through', async () => {
    for (const r of routes) {
      const role = roleOfRoute(r.method, r.url, undefined);
      if (role === 'open') continue;
      const own = role === 'ingest' ? INGEST : READ;
      const other = role === 'ingest' ? READ : INGEST;
      const what = `${r.method} ${r.url}`;
      const refused = await call(s, r, `Bearer ${other}`);
      expect(refused.status, what).toBe(403);
      expect(refused.headers.get('www-authenticate'), what).toMatch(/insufficient_scope/);
      if (r.method !== 'HEAD') {
        const reason = ((await refused.json()) as { error: string }).error;
        expect(reason).toMatch(new RegExp(`needs the ${role} token`));
        expect(reason).not.toContain('\n');
      }
      // The scheme is case-insensitive (RFC 7235 §2.1).
      for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
        const ok = await call(s, r, `${scheme} ${own}`);
        expect([401, 403], `${what} with ${scheme}`).not.toContain(ok.status);
        await ok.arrayBuffer();
      }
    }
  });

  it('the read token runs a query; the ingest token cannot, and is refused before the body is read', async () => {
    const q = await fetch(`${s.url}/v1/query`, {
      method: 'POST',
      headers: { authorization: `bearer ${READ}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT 41 + 1 AS answer' }),
    });
    expect(q.status).toBe(200);
    expect(((await q.json()) as { rows: Array<{ answer: number }> }).rows[0]!.answer).toBe(42);
    // 50 MB with the wrong role: 403, not 413 (the body limit) — the token is checked first.
    const big = await fetch(`${s.url}/v1/ingest/lines`, {
      method: 'POST',
      headers: { authorization: `Bearer ${READ}`, 'content-type': 'text/plain' },
      body: Buffer.alloc(50 << 20, 0x61),
    }).catch((err: Error) => err);
    if (big instanceof Response) expect(big.status).toBe(403);
    else expect(big.message).toMatch(/fetch failed/); // the server may close before the upload ends
    const before = pipeline.stats.lines;
    const ingested = await fetch(`${s.url}/v1/ingest/lines`, {
      method: 'POST',
      headers: { authorization: `Bearer ${INGEST}`, 'content-type': 'text/plain' },
      body: 'not an access log line\n',
    });
    expect(ingested.status).toBe(200);
    expect(pipeline.stats.lines).toBe(before + 1);
  });

  it('an unknown URL answers 404 only to a caller holding a token', async () => {
    expect((await fetch(`${s.url}/v1/nothing-here`)).status).toBe(401);
    const withToken = await fetch(`${s.url}/v1/nothing-here`, {
      headers: { authorization: `Bearer ${INGEST}` },
    });
    expect(withToken.status).toBe(404);
  });
});

describe('authToken and partial setups', () => {
  it('authToken alone opens both roles', async () => {
    const s = await serve({ authToken: BOTH });
    for (const r of routesOf(s.app)) {
      if (roleOfRoute(r.method, r.url, undefined) === 'open') continue;
      const res = await call(s, r, `Bearer ${BOTH}`);
      expect([401, 403], `${r.method} ${r.url}`).not.toContain(res.status);
      await res.arrayBuffer();
      expect((await call(s, r)).status).toBe(401);
    }
  });

  it('only a read token (loopback): reading is guarded, intake stays open', async () => {
    const s = await serve({ readToken: READ });
    for (const r of routesOf(s.app)) {
      const role = roleOfRoute(r.method, r.url, undefined);
      const res = await call(s, r);
      expect(res.status === 401, `${r.method} ${r.url}`).toBe(role === 'read');
      await res.arrayBuffer();
    }
  });
});

describe('route classification', () => {
  it('every entry of the role table is a route the app serves (no stale grants)', async () => {
    const s = await serve({ ingestToken: INGEST, readToken: READ });
    const keys = new Set(routesOf(s.app).map((r) => `${r.method} ${r.url}`));
    const unused = Object.keys(ROUTE_ROLES).filter((k) => !keys.has(k) && !/ \/(ui\b|$)/.test(k));
    expect(unused).toEqual([]);
  });

  it('an unclassified route is refused at registration, in the root and inside plugins', async () => {
    const app = Fastify();
    registerAuth(app, { ingestToken: INGEST, readToken: READ });
    expect(() => app.get('/v1/new-route', async () => 'x')).toThrow(UnclassifiedRouteError);
    expect(() => app.post('/v1/hosts', async () => 'x')).toThrow(/POST \/v1\/hosts has no access role/);
    await app.close();

    const nested = Fastify();
    registerAuth(nested, {});
    await expect(
      nested.register(
        async (child) => {
          child.delete('/thing', async () => 'x');
        },
        { prefix: '/v1' },
      ),
    ).rejects.toThrow(/DELETE \/v1\/thing has no access role/);
    await nested.close().catch(() => {});
  });

  it('a route may declare its role in its config; a declaration that contradicts the table fails', async () => {
    const app = Fastify();
    registerAuth(app, { ingestToken: INGEST, readToken: READ });
    app.get('/v1/extra', { config: { role: 'read' } }, async () => ({ ok: true }));
    expect(() => app.post('/v1/query', { config: { role: 'ingest' } }, async () => 'x')).toThrow(
      /declares role ingest/,
    );
    const denied = await app.inject({ url: '/v1/extra', headers: { authorization: `Bearer ${INGEST}` } });
    expect(denied.statusCode).toBe(403);
    const ok = await app.inject({ url: '/v1/extra', headers: { authorization: `bearer ${READ}` } });
    expect(ok.statusCode).toBe(200);
    await app.close();
  });
});

describe('header and body timeouts', () => {
  const http = { headersTimeoutMs: 1000, requestTimeoutMs: 2000 };
  let s: Served;
  beforeAll(async () => {
    s = await serve({ ingestToken: INGEST, readToken: READ, http });
  });

  /** Opens a socket, runs `feed` on it, and resolves with what the server sent and when it closed. */
  function watch(port: number, feed: (sock: Socket) => NodeJS.Timeout | undefined) {
    return new Promise<{ closedAfterMs: number; answer: string }>((resolve) => {
      const started = performance.now();
      const sock = connect(port, '127.0.0.1');
      let answer = '';
      let timer: NodeJS.Timeout | undefined;
      sock.on('connect', () => {
        timer = feed(sock);
      });
      sock.on('data', (d) => {
        answer += d.toString();
      });
      sock.on('error', () => {});
      sock.on('close', () => {
        clearInterval(timer);
        resolve({ closedAfterMs: performance.now() - started, answer });
      });
    });
  }

  it('a body trickled a byte at a time is cut off at requestTimeoutMs with 408', async () => {
    const { closedAfterMs, answer } = await watch(s.port, (sock) => {
      sock.write(
        `POST /v1/ingest/lines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${INGEST}\r\n` +
          'Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n',
      );
      // 100 kB at 10 bytes/s would take hours.
      return setInterval(() => sock.write('a'), 100);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeGreaterThanOrEqual(http.requestTimeoutMs - 100);
    expect(closedAfterMs).toBeLessThan(http.requestTimeoutMs + 1500);
  });

  it('headers trickled a byte at a time are cut off at headersTimeoutMs', async () => {
    const { closedAfterMs, answer } = await watch(s.port, (sock) => {
      sock.write('GET /v1/hosts HTTP/1.1\r\nHost: x\r\n');
      return setInterval(() => sock.write('X'), 100);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(http.headersTimeoutMs + 1500);
  });

  it('a connection that sends nothing is closed within headersTimeoutMs', async () => {
    const { closedAfterMs } = await watch(s.port, () => undefined);
    expect(closedAfterMs).toBeLessThan(http.headersTimeoutMs + 1500);
  });

  it('a request received in time may take longer than requestTimeoutMs to answer', async () => {
    // The same options on a bare server with a slow handler: only the request's arrival is timed.
    const config: Config = loadConfig({ env: {}, flags: { http } });
    const app = Fastify(httpTimeouts(config.http));
    app.post('/slow', async (req) => {
      await new Promise((r) => setTimeout(r, http.requestTimeoutMs + 1000));
      return { got: (req.body as { n: number }).n };
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const res = await fetch(`http://127.0.0.1:${port}/slow`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n: 7 }),
      });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ got: 7 });
    } finally {
      await app.close();
    }
  });

  it('defaults are set on purpose: 10 s headers, 30 s request, keep-alive above Fluent Bit’s 30 s idle', async () => {
    const d = await serve({});
    expect(d.app.server.headersTimeout).toBe(10_000);
    expect(d.app.server.requestTimeout).toBe(30_000);
    expect(d.app.server.keepAliveTimeout).toBe(72_000);
    expect(d.app.server.timeout).toBe(300_000);
  });
});
