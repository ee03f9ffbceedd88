import type { AddressInfo } from 'node:net';
import { Ajv } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  ErrorBodySchema,
  HealthzSchema,
  IngestAcceptedSchema,
  OverviewSchema,
  QueryResultSchema,
  ReadyzSchema,
  reportJsonSchema,
} from '../../schemas/openapi.js';
import { fluentBitBody, meshFixture } from '../helpers/mesh-fixture.js';
import { type ServedApp, startServedApp } from '../helpers/served-app.js';

const INGEST = 'ingest-token-0123456789abcdef';
const READ = 'read-token-fedcba9876543210';
const TAGS = ['ingest', 'reports', 'query', 'operations'];
/** Served by @fastify/static and @fastify/swagger-ui: files, not API operations. */
const NOT_OPERATIONS = /^\/(docs(\/.*)?|index\.html|[\w-]+\.(js|css|svg))?$/;

interface Operation {
  tags?: string[];
  summary?: string;
  description?: string;
  parameters?: Array<{ name: string; in: string; description?: string; schema: object; example?: unknown }>;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, { description: string; content?: Record<string, Media> }>;
  security?: Array<Record<string, string[]>>;
}
interface Media {
  schema?: object;
  example?: unknown;
  examples?: unknown;
}

const NOW = Date.now();
let served: ServedApp;
let app: FastifyInstance;
let base: string;
let doc: { paths: Record<string, Record<string, Operation>>; components: Record<string, unknown> };

beforeAll(async () => {
  served = await startServedApp({ flags: { ingestToken: INGEST, readToken: READ } });
  app = served.app;
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const res = await fetch(`${base}/docs/json`, { headers: { authorization: `Bearer ${READ}` } });
  expect(res.status).toBe(200);
  doc = (await res.json()) as typeof doc;
});

afterAll(async () => {
  await served?.close();
});

/** Every API operation the app registered (HEAD routes are their GET's). */
function operations(): Array<{ method: string; url: string; role: string }> {
  return app.classifiedRoutes.filter((r) => r.method !== 'HEAD' && !NOT_OPERATIONS.test(r.url));
}

function operation(method: string, url: string): Operation {
  const op = doc.paths[url]?.[method.toLowerCase()];
  if (!op) throw new Error(`${method} ${url} is not in /docs/json`);
  return op;
}

describe('the OpenAPI document', () => {
  it('holds every route the app registered, and nothing else', () => {
    const registered = operations().map((r) => `${r.method} ${r.url}`);
    // The probes, intake, reports, query and metrics at least: the filter above cannot hide the API.
    expect(registered.length).toBeGreaterThanOrEqual(11);
    const documented = Object.entries(doc.paths).flatMap(([url, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${url}`),
    );
    expect(documented.sort()).toEqual(registered.sort());
  });

  it('gives every operation one tag of four, a summary and a description', () => {
    for (const { method, url } of operations()) {
      const op = operation(method, url);
      const what = `${method} ${url}`;
      expect(op.tags, what).toHaveLength(1);
      expect(TAGS, what).toContain(op.tags![0]);
      expect(op.summary?.length, what).toBeGreaterThan(3);
      expect(op.description?.length, what).toBeGreaterThan(20);
    }
  });

  it('describes every parameter and every request body media type', () => {
    let parameters = 0;
    for (const { method, url } of operations()) {
      const op = operation(method, url);
      for (const p of op.parameters ?? []) {
        parameters++;
        expect(p.description, `${method} ${url} ${p.in} ${p.name}`).toMatch(/\w{3}/);
      }
      if (method === 'POST') expect(Object.keys(op.requestBody?.content ?? {}).length).toBeGreaterThan(0);
    }
    expect(parameters).toBeGreaterThan(20);
  });

  it('documents the ServiceEntry options where reports take them, the same on service-entries and blocked', () => {
    const names = (url: string) => (operation('GET', url).parameters ?? []).map((p) => p.name);
    for (const url of ['/v1/reports/service-entries', '/v1/reports/blocked'])
      expect(names(url), url).toEqual(
        expect.arrayContaining(['entryNamespace', 'exportTo', 'clusterDomain', 'apiVersion']),
      );
    for (const url of ['/v1/reports/readiness', '/v1/hosts'])
      expect(names(url), url).toContain('clusterDomain');
    expect(names('/v1/reports/timeouts')).not.toContain('clusterDomain');
    const param = (url: string, name: string) =>
      operation('GET', url).parameters!.find((p) => p.name === name)!;
    for (const name of ['entryNamespace', 'exportTo', 'clusterDomain'])
      expect(param('/v1/reports/blocked', name).description).toBe(
        param('/v1/reports/service-entries', name).description,
      );
  });

  it('documents a 2xx and the errors, each with a body schema and an example', () => {
    for (const { method, url, role } of operations()) {
      const op = operation(method, url);
      const what = `${method} ${url}`;
      const statuses = Object.keys(op.responses);
      expect(
        statuses.some((s) => /^2/.test(s)),
        what,
      ).toBe(true);
      expect(statuses, what).toContain('500');
      // Both tokens are configured: every guarded route can answer 401 and 403.
      if (role !== 'open') expect(statuses, what).toEqual(expect.arrayContaining(['401', '403']));
      for (const [status, response] of Object.entries(op.responses)) {
        expect(response.description, `${what} ${status}`).toMatch(/\w{3}/);
        const media = Object.values(response.content ?? {});
        expect(media.length, `${what} ${status}`).toBeGreaterThan(0);
        for (const m of media) {
          expect(m.schema, `${what} ${status}`).toBeDefined();
          if (m.schema && (m.schema as { format?: string }).format !== 'binary')
            expect(m.example ?? m.examples, `${what} ${status} example`).toBeDefined();
        }
      }
    }
  });

  it('gives examples that match their own schemas', () => {
    // The document is OpenAPI 3.0: `nullable` is Ajv's own keyword; `example` and formats are annotations.
    const ajv = new Ajv({ strict: false, validateFormats: false });
    let checked = 0;
    const check = (what: string, schema: object | undefined, example: unknown) => {
      if (schema === undefined || example === undefined) return;
      const valid = ajv.validate(schema, example);
      expect(valid, `${what}: ${ajv.errorsText()}`).toBe(true);
      checked++;
    };
    for (const { method, url } of operations()) {
      const op = operation(method, url);
      for (const p of op.parameters ?? []) check(`${method} ${url} ${p.name}`, p.schema, p.example);
      for (const [type, m] of Object.entries(op.requestBody?.content ?? {}))
        check(`${method} ${url} body ${type}`, m.schema, m.example);
      for (const [status, r] of Object.entries(op.responses))
        for (const [type, m] of Object.entries(r.content ?? {}))
          check(`${method} ${url} ${status} ${type}`, m.schema, m.example);
    }
    expect(checked).toBeGreaterThan(60);
  });

  it('states the token each route needs, from the role table', () => {
    const schemes = (doc.components.securitySchemes ?? {}) as Record<string, { scheme: string }>;
    expect(Object.keys(schemes).sort()).toEqual(['ingestToken', 'readToken']);
    for (const { method, url, role } of operations()) {
      const expected = role === 'open' ? [] : [{ [role === 'ingest' ? 'ingestToken' : 'readToken']: [] }];
      expect(operation(method, url).security, `${method} ${url}`).toEqual(expected);
    }
  });
});

describe('the routes answer as documented', () => {
  /** Calls a route and checks its status and media type are documented, then returns the answer. */
  async function call(
    method: string,
    path: string,
    init: { token?: string; body?: string; type?: string } = {},
  ): Promise<{ status: number; type: string; text: string }> {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.type) headers['content-type'] = init.type;
    const res = await fetch(`${base}${path}`, { method, headers, body: init.body });
    const text = await res.text();
    const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const url = path.split('?')[0]!;
    const response = operation(method, url).responses[String(res.status)];
    expect(response, `${method} ${path} answered ${res.status}: ${text.slice(0, 200)}`).toBeDefined();
    expect(Object.keys(response!.content ?? {}), `${method} ${path} ${res.status}`).toContain(type);
    return { status: res.status, type, text };
  }
  const json = (schema: z.ZodType, text: string) => schema.parse(JSON.parse(text));

  it('probes, intake and metrics', async () => {
    json(HealthzSchema, (await call('GET', '/healthz')).text);
    const ready = await call('GET', '/readyz');
    expect(json(ReadyzSchema, ready.text)).toMatchObject({
      status: ready.status === 200 ? 'ready' : 'not ready',
    });
    const lines = meshFixture(NOW, 600);
    const stored = await call('POST', '/v1/ingest/fluent-bit', {
      token: INGEST,
      type: 'application/x-ndjson',
      body: fluentBitBody(lines, NOW),
    });
    expect(stored.status).toBe(200);
    expect(json(IngestAcceptedSchema, stored.text)).toMatchObject({ accepted: lines.length });
    const plain = await call('POST', '/v1/ingest/lines', {
      token: INGEST,
      type: 'text/plain',
      body: 'not a log\n',
    });
    expect(json(IngestAcceptedSchema, plain.text)).toMatchObject({ accepted: 1, deadLetters: 1 });
    const refused = await call('POST', '/v1/ingest/lines', {
      token: INGEST,
      type: 'application/pdf',
      body: 'x',
    });
    expect(refused.status).toBe(415);
    json(ErrorBodySchema, refused.text);
    expect((await call('GET', '/metrics', { token: READ })).text).toContain('egresslens_egress_requests');
  });

  it('reports in each format, query and overview, and their errors', async () => {
    const entries = await call('GET', '/v1/reports/service-entries?since=1h&format=json&limit=1', {
      token: READ,
    });
    expect(json(reportJsonSchema('suggestions', ''), entries.text)).toMatchObject({ limit: 1, offset: 0 });
    for (const format of ['yaml', 'json', 'table'])
      expect(
        (await call('GET', `/v1/reports/service-entries?since=1h&format=${format}`, { token: READ })).status,
      ).toBe(200);
    const lists = { blocked: 'destinations', timeouts: 'entries' } as const;
    for (const [report, list] of Object.entries(lists)) {
      const res = await call('GET', `/v1/reports/${report}?since=1h`, { token: READ });
      json(reportJsonSchema(list, ''), res.text);
      expect((await call('GET', `/v1/reports/${report}?format=table`, { token: READ })).type).toBe(
        'text/plain',
      );
    }
    json(
      reportJsonSchema('hosts', ''),
      (await call('GET', '/v1/hosts?since=1h&status=passthrough&port=443&search=a', { token: READ })).text,
    );
    for (const format of ['yaml', 'table'])
      expect((await call('GET', `/v1/reports/readiness?format=${format}`, { token: READ })).status).toBe(200);
    const readiness = await call('GET', '/v1/reports/readiness?since=1h', { token: READ });
    expect(json(reportJsonSchema('namespaces', ''), readiness.text)).toMatchObject({
      namespaces: expect.any(Array),
    });
    const overview = json(OverviewSchema, (await call('GET', '/v1/reports/overview', { token: READ })).text);
    expect(overview).toMatchObject({ topHosts: { truncated: expect.any(Boolean) } });

    const rows = await call('POST', '/v1/query', {
      token: READ,
      type: 'application/json',
      body: JSON.stringify({ sql: 'SELECT count() AS n FROM access_log' }),
    });
    expect(json(QueryResultSchema, rows.text)).toMatchObject({ rowCount: 1 });
    for (const [sql, status] of [
      ['SELECT * FROM file("/etc/passwd")', 403],
      ['SELECT nope FROM access_log', 400],
    ] as const) {
      const res = await call('POST', '/v1/query', {
        token: READ,
        type: 'application/json',
        body: JSON.stringify({ sql }),
      });
      expect(res.status, sql).toBe(status);
      expect(json(ErrorBodySchema, res.text)).toMatchObject({ code: expect.any(String) });
    }
    const notJson = await call('POST', '/v1/query', { token: READ, type: 'application/xml', body: '<sql/>' });
    expect(notJson.status).toBe(415);
    json(ErrorBodySchema, notJson.text);
    const badWindow = await call('GET', '/v1/hosts?since=yesterday', { token: READ });
    expect(badWindow.status).toBe(400);
    json(ErrorBodySchema, badWindow.text);
  });

  it('401 and 403 for a missing or other-role token', async () => {
    for (const [method, path, token] of [
      ['GET', '/v1/hosts', undefined],
      ['GET', '/v1/hosts', INGEST],
      ['POST', '/v1/ingest/lines', READ],
      ['GET', '/metrics', undefined],
    ] as const) {
      const res = await call(method, path, {
        token,
        type: 'text/plain',
        body: method === 'POST' ? 'x' : undefined,
      });
      expect(res.status).toBe(token ? 403 : 401);
      json(ErrorBodySchema, res.text);
    }
  });
});
