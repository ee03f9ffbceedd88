/**
 * HTTP intake end to end on the embedded store: every Fluent Bit body shape, plain lines, hostile input,
 * backpressure, retries, probes and metrics. One chDB directory for the file; tables truncated between tests;
 * each test builds its own pipeline and server over a FaultyStore in front of it.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGzip, gzipSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import {
  FLUENT_FORMATS,
  type FluentEvent,
  type FluentFormat,
  fluentBody,
  kubernetesMeta,
  tailCriRecord,
  tailDockerRecord,
} from '../helpers/fluent-bit-bodies.js';
import {
  type IngestApp,
  type IngestAppOptions,
  metricValue,
  post,
  startIngestApp,
} from '../helpers/ingest-app.js';
import { count, generatedLines, joinLines } from '../helpers/lines.js';

const FB = '/v1/ingest/fluent-bit';
const LINES = '/v1/ingest/lines';
const TOKEN = 'a-very-secret-token-0123456789';

const dir = mkdtempSync(join(tmpdir(), 'egresslens-ingest-http-'));
let store: ChdbStore;
let current: IngestApp | undefined;

beforeAll(async () => {
  store = ChdbStore.open(dir);
  await store.migrate();
});

afterAll(async () => {
  await store.close();
});

beforeEach(async () => {
  await store.command('TRUNCATE TABLE access_log');
  await store.command('TRUNCATE TABLE dead_letters');
});

afterEach(async () => {
  await current?.close();
  current = undefined;
});

async function start(opts: IngestAppOptions = {}): Promise<IngestApp> {
  current = await startIngestApp(store, opts);
  return current;
}

/** Rows in access_log and dead_letters, and the pipeline's own count, all agree with what was sent. */
async function expectAccounted(a: IngestApp, stored: number, dead: number): Promise<void> {
  const rows = await count(store, 'access_log');
  const letters = await count(store, 'dead_letters');
  expect({ rows, letters }).toEqual({ rows: stored, letters: dead });
  expect(a.pipeline.stats.lines).toBe(stored + dead);
  expect(a.pipeline.stats.deadLetters).toBe(dead);
}

let healthSeq = 0;
/** After a refusal: /healthz answers and a fresh, normal body is stored (its 2 lines counted in the result). */
async function expectStillHealthy(a: IngestApp, headers: Record<string, string> = {}): Promise<void> {
  const health = await a.app.inject({ method: 'GET', url: '/healthz' });
  if (health.statusCode !== 404) expect(health.statusCode).toBe(200); // 404: a bare app has no probes
  healthSeq++;
  const lines = generatedLines(2, 1000 + healthSeq).map((g) => g.line);
  const res = await post(a.app, LINES, joinLines(lines), { 'content-type': 'text/plain', ...headers });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json()).toMatchObject({ accepted: 2, parsed: 2, deadLetters: 0 });
}

function json(res: LightMyRequestResponse): Record<string, unknown> {
  return res.json() as Record<string, unknown>;
}

// ---------------------------------------------------------------------------------------------------------------
// Fixtures: one record of each kind Fluent Bit sends, each with a request id to find its row by.

const T0 = 1793491200; // 2026-11-01T00:00:00Z

const LINE_A =
  '[2026-11-01T00:00:00.003Z] "GET /delay/5 HTTP/1.1" 504 UT response_timeout - "-" 0 24 3006 - ' +
  '"203.0.10.86, 10.1.197.189" "okhttp/4.12.0" "req-a" "api.twilio.com" "83.7.254.47:80" ' +
  'outbound|80||api.twilio.com 10.244.169.214:41271 83.7.254.47:80 10.244.169.214:57321 - default';

const LINE_B =
  '[2026-11-01T00:00:01.000Z] "GET /headers HTTP/1.1" 200 - via_upstream - "-" 0 512 12 11 "-" "curl/8.8.0" ' +
  '"req-b" "httpbin.org" "44.207.1.1:80" PassthroughCluster 10.244.1.7:40118 44.207.1.1:80 10.244.1.7:40116 - allow_any';

/** Keys of Fluent Bit's `envoy` regex parser (conf/parsers.conf), all strings. */
const ENVOY_PARSER_KEYS = {
  start_time: '2026-11-01T00:00:02.250Z',
  method: 'POST',
  path: '/v3/mail/send',
  protocol: 'HTTP/1.1',
  code: '503',
  response_flags: 'UO',
  bytes_received: '120',
  bytes_sent: '81',
  duration: '0',
  x_envoy_upstream_service_time: '-',
  x_forwarded_for: '-',
  user_agent: 'curl/8.5.0',
  request_id: 'req-c',
  authority: 'api.sendgrid.com',
  upstream_host: '-',
};

/** An Envoy JSON access log (typed style). */
const ENVOY_JSON_D = {
  start_time: '2026-11-01T00:00:03.000Z',
  method: 'GET',
  path: '/v1/charges',
  protocol: 'HTTP/1.1',
  response_code: 502,
  response_flags: 'UF,URX',
  bytes_received: 0,
  bytes_sent: 91,
  duration: 12,
  upstream_cluster: 'outbound|443||api.stripe.com',
  upstream_host: '54.187.174.169:443',
  authority: 'api.stripe.com',
  request_id: 'req-d',
};

const ENVOY_JSON_E = {
  ...ENVOY_JSON_D,
  start_time: '2026-11-01T00:00:04.000Z',
  method: 'PUT',
  response_code: 201,
  response_flags: '-',
  upstream_cluster: 'PassthroughCluster',
  upstream_host: '52.1.2.3:443',
  authority: 'hooks.slack.com',
  request_id: 'req-e',
};

const KUBE_A = kubernetesMeta({
  namespace: 'shop',
  pod: 'checkout-7f9c8d6b5-x2k9q',
  node: 'node-a',
  labels: { app: 'checkout', 'pod-template-hash': '7f9c8d6b5', 'security.istio.io/tlsMode': 'istio' },
});
/** No labels: the workload comes from the pod name. */
const KUBE_B = kubernetesMeta({ namespace: 'default', pod: 'sleep-7f9c8d5b4-x2x9z', node: 'node-b' });
/** app.kubernetes.io/name wins over app. */
const KUBE_C = kubernetesMeta({
  namespace: 'mail',
  pod: 'mailer-0',
  node: 'node-b',
  labels: { app: 'not-this', 'app.kubernetes.io/name': 'mailer' },
});
const KUBE_D = kubernetesMeta({
  namespace: 'payments',
  pod: 'billing-5d78c9869d-xk8wz',
  labels: { 'service.istio.io/canonical-name': 'billing' },
});
/** Only an owner reference: the ReplicaSet name loses its hash. */
const KUBE_E = kubernetesMeta({
  namespace: 'shop',
  pod: 'cart-6c4f9f8b8d-vq2lm',
  labels: { version: 'v1' },
  ownerReferences: [{ kind: 'ReplicaSet', name: 'cart-v2-6c4f9f8b8d' }],
});

const NOT_A_LOG = 'this is not an access log';

/** `tag` makes the dead letters of one body differ from another's. */
function fixtureEvents(tag = ''): FluentEvent[] {
  return [
    // tail + docker parser: the raw TEXT line in `log`.
    { time: T0 + 0.25, record: tailDockerRecord(LINE_A, KUBE_A) },
    // tail + legacy cri parser: the raw line in `message`.
    { time: T0 + 1.5, record: tailCriRecord(LINE_B, KUBE_B) },
    // Fluent Bit's envoy regex parser already applied.
    { time: T0 + 2, record: { ...ENVOY_PARSER_KEYS, kubernetes: KUBE_C } },
    // An Envoy JSON access log inside `log`.
    { time: T0 + 3, record: tailDockerRecord(JSON.stringify(ENVOY_JSON_D), KUBE_D) },
    // merge_log On, keep_log Off: the Envoy JSON keys merged into the record.
    {
      time: T0 + 4,
      record: { stream: 'stdout', time: '2026-11-01T00:00:04Z', ...ENVOY_JSON_E, kubernetes: KUBE_E },
    },
    // Not access logs: kept as dead letters.
    { time: T0 + 5, record: tailDockerRecord(NOT_A_LOG + tag, KUBE_A) },
    { time: T0 + 6, record: { level: 'info', msg: `listener added${tag}`, kubernetes: KUBE_B } },
  ];
}
const FIXTURE_GOOD = 5;
const FIXTURE_BAD = 2;

/** Generated Istio lines as tail + kubernetes records, spread over three pods. */
function bulkEvents(n: number, seed: number): FluentEvent[] {
  const pods = [KUBE_A, KUBE_B, KUBE_D];
  return generatedLines(n, seed).map((g, i) => ({
    time: T0 + 10 + i / 1000,
    record: tailDockerRecord(g.line, pods[i % 3]!),
  }));
}

interface Row {
  request_id: string;
  ms: number;
  method: string;
  path: string;
  response_code: number | null;
  response_flags: string;
  bytes_received: number | null;
  bytes_sent: number | null;
  duration: number | null;
  upstream_service_time: number | null;
  x_forwarded_for: string;
  user_agent: string;
  authority: string;
  upstream_host: string;
  upstream_cluster: string;
  source: string;
  k8s_namespace: string;
  k8s_pod: string;
  k8s_container: string;
  k8s_workload: string;
  k8s_node: string;
  extra: string;
}

async function fixtureRows(): Promise<Map<string, Row>> {
  const rows = await store.query<Row>(
    `SELECT request_id, toUnixTimestamp64Milli(start_time) AS ms, method, path, response_code, response_flags,
            bytes_received, bytes_sent, duration, upstream_service_time, x_forwarded_for, user_agent, authority,
            upstream_host, upstream_cluster, source, k8s_namespace, k8s_pod, k8s_container, k8s_workload, k8s_node, extra
     FROM access_log WHERE request_id LIKE 'req-%' ORDER BY request_id`,
  );
  return new Map(rows.map((r) => [r.request_id, { ...r, ms: Number(r.ms) }]));
}

async function expectFixtureRows(): Promise<void> {
  const rows = await fixtureRows();
  expect([...rows.keys()]).toEqual(['req-a', 'req-b', 'req-c', 'req-d', 'req-e']);
  expect(rows.get('req-a')).toMatchObject({
    ms: Date.UTC(2026, 10, 1, 0, 0, 0, 3),
    method: 'GET',
    path: '/delay/5',
    response_code: 504,
    response_flags: 'UT',
    bytes_sent: 24,
    duration: 3006,
    upstream_service_time: null,
    x_forwarded_for: '203.0.10.86, 10.1.197.189',
    user_agent: 'okhttp/4.12.0',
    authority: 'api.twilio.com',
    upstream_host: '83.7.254.47:80',
    upstream_cluster: 'outbound|80||api.twilio.com',
    source: 'http',
    k8s_namespace: 'shop',
    k8s_pod: 'checkout-7f9c8d6b5-x2k9q',
    k8s_container: 'istio-proxy',
    k8s_workload: 'checkout',
    k8s_node: 'node-a',
  });
  expect(rows.get('req-b')).toMatchObject({
    ms: Date.UTC(2026, 10, 1, 0, 0, 1, 0),
    response_code: 200,
    upstream_cluster: 'PassthroughCluster',
    authority: 'httpbin.org',
    k8s_namespace: 'default',
    k8s_pod: 'sleep-7f9c8d5b4-x2x9z',
    k8s_workload: 'sleep',
    k8s_node: 'node-b',
  });
  expect(rows.get('req-c')).toMatchObject({
    ms: Date.UTC(2026, 10, 1, 0, 0, 2, 250),
    method: 'POST',
    path: '/v3/mail/send',
    response_code: 503,
    response_flags: 'UO',
    bytes_received: 120,
    bytes_sent: 81,
    duration: 0,
    upstream_service_time: null,
    x_forwarded_for: '',
    user_agent: 'curl/8.5.0',
    authority: 'api.sendgrid.com',
    upstream_host: '',
    k8s_namespace: 'mail',
    k8s_pod: 'mailer-0',
    k8s_workload: 'mailer',
  });
  expect(rows.get('req-d')).toMatchObject({
    ms: Date.UTC(2026, 10, 1, 0, 0, 3, 0),
    response_code: 502,
    response_flags: 'UF,URX',
    bytes_sent: 91,
    upstream_cluster: 'outbound|443||api.stripe.com',
    upstream_host: '54.187.174.169:443',
    k8s_namespace: 'payments',
    k8s_workload: 'billing',
  });
  expect(rows.get('req-e')).toMatchObject({
    ms: Date.UTC(2026, 10, 1, 0, 0, 4, 0),
    method: 'PUT',
    response_code: 201,
    response_flags: '',
    upstream_cluster: 'PassthroughCluster',
    authority: 'hooks.slack.com',
    k8s_pod: 'cart-6c4f9f8b8d-vq2lm',
    k8s_workload: 'cart-v2',
  });
  // The Fluent Bit date key and the kubernetes map are not taken for access-log fields.
  for (const id of ['req-c', 'req-e']) {
    expect(rows.get(id)!.extra).not.toContain('kubernetes');
    expect(rows.get(id)!.extra).not.toContain('"date"');
  }
}

async function expectFixtureDeadLetters(): Promise<void> {
  const dead = await store.query<{
    reason: string;
    raw: string;
    source: string;
    k8s_namespace: string;
    k8s_pod: string;
  }>('SELECT reason, raw, source, k8s_namespace, k8s_pod FROM dead_letters ORDER BY raw');
  expect(dead).toHaveLength(FIXTURE_BAD);
  for (const d of dead) {
    expect(d.reason.length).toBeGreaterThan(0);
    expect(d.source).toBe('http');
  }
  const notALog = dead.find((d) => d.raw === NOT_A_LOG);
  expect(notALog).toMatchObject({ k8s_namespace: 'shop', k8s_pod: 'checkout-7f9c8d6b5-x2k9q' });
  const other = dead.find((d) => d.raw.includes('listener added'));
  expect(other).toMatchObject({ k8s_namespace: 'default', k8s_pod: 'sleep-7f9c8d5b4-x2x9z' });
}

// ---------------------------------------------------------------------------------------------------------------

describe('every Fluent Bit body shape lands in the embedded store', () => {
  const cases = FLUENT_FORMATS.flatMap((format) => [
    [format, false],
    [format, true],
  ]) as Array<[FluentFormat, boolean]>;

  it.each(cases)('%s (gzip %s)', async (format, gzip) => {
    const a = await start();
    const events = [...fixtureEvents(), ...bulkEvents(300, 7)];
    const { body, headers } = fluentBody(events, format, { gzip, groups: true });
    const res = await post(a.app, FB, body, headers);
    expect(res.statusCode, res.body).toBe(200);
    const good = FIXTURE_GOOD + 300;
    expect(res.json()).toEqual({ accepted: events.length, parsed: good, deadLetters: FIXTURE_BAD });
    await expectAccounted(a, good, FIXTURE_BAD);
    await expectFixtureRows();
    await expectFixtureDeadLetters();
    // The bulk rows kept their pods.
    const byPod = await store.query<{ k8s_workload: string; n: string }>(
      `SELECT k8s_workload, count() AS n FROM access_log WHERE request_id NOT LIKE 'req-%' GROUP BY k8s_workload ORDER BY k8s_workload`,
    );
    expect(byPod.map((r) => [r.k8s_workload, Number(r.n)])).toEqual([
      ['billing', 100],
      ['checkout', 100],
      ['sleep', 100],
    ]);
  });

  it.each(FLUENT_FORMATS)(
    "%s: the shipper's time is the start time of a line format without START_TIME",
    async (format) => {
      const a = await start({ flags: { format: '%RESPONSE_CODE% %REQ(:AUTHORITY)% "%REQ(X-REQUEST-ID)%"' } });
      const record = tailDockerRecord('503 api.sendgrid.com "req-t"', KUBE_C);
      const { body, headers } = fluentBody([{ time: T0 + 7.5, record }], format);
      const res = await post(a.app, FB, body, headers);
      expect(res.statusCode, res.body).toBe(200);
      const rows = await fixtureRows();
      // The legacy msgpack helper writes the first event's time as integer seconds.
      const ms = format === 'msgpack_legacy' ? (T0 + 7) * 1000 : (T0 + 7.5) * 1000;
      expect(rows.get('req-t')).toMatchObject({
        ms,
        response_code: 503,
        authority: 'api.sendgrid.com',
        k8s_workload: 'mailer',
      });
      await expectAccounted(a, 1, 0);
    },
  );

  it('plain text lines, with and without gzip, CRLF endings and blank lines', async () => {
    const a = await start();
    const lines = generatedLines(500, 21).map((g) => g.line);
    const bad = ['garbage', '[2026-11-01T00:00:00.000Z] "GET / HTTP/1.1" 2x0 -', '{"not":"an access log"}'];
    const first = Buffer.from(`${[...lines.slice(0, 250), ...bad].join('\r\n')}\r\n\r\n\n`);
    const res1 = await post(a.app, LINES, first, { 'content-type': 'text/plain; charset=utf-8' });
    expect(res1.statusCode, res1.body).toBe(200);
    expect(res1.json()).toEqual({ accepted: 253, parsed: 250, deadLetters: 3 });
    const res2 = await post(
      a.app,
      LINES,
      gzipSync(joinLines([...lines.slice(250), LINE_A, JSON.stringify(ENVOY_JSON_D)])),
      {
        'content-type': 'text/plain',
        'content-encoding': 'gzip',
      },
    );
    expect(res2.statusCode, res2.body).toBe(200);
    expect(res2.json()).toEqual({ accepted: 252, parsed: 252, deadLetters: 0 });
    await expectAccounted(a, 502, 3);
    const rows = await fixtureRows();
    expect(rows.get('req-a')).toMatchObject({
      response_code: 504,
      source: 'http',
      k8s_namespace: '',
      k8s_workload: '',
    });
    expect(rows.get('req-d')).toMatchObject({
      response_code: 502,
      upstream_cluster: 'outbound|443||api.stripe.com',
    });
    const dead = await store.query<{ raw: string; reason: string }>(
      'SELECT raw, reason FROM dead_letters ORDER BY raw',
    );
    expect(dead.map((d) => d.raw)).toEqual([...bad].sort());
    expect(dead.every((d) => d.reason.length > 0)).toBe(true);
  });

  it('lines without a Content-Type are taken as text/plain', async () => {
    const a = await start();
    const res = await post(a.app, LINES, joinLines([LINE_A, LINE_B]));
    expect(res.statusCode, res.body).toBe(200);
    await expectAccounted(a, 2, 0);
  });

  it('a body over 1 MB (the server default) but under maxBodyBytes is taken', async () => {
    const a = await start();
    const events = bulkEvents(8000, 3);
    const { body, headers } = fluentBody(events, 'json_lines');
    expect(body.length).toBeGreaterThan(2 << 20);
    const res = await post(a.app, FB, body, headers);
    expect(res.statusCode, res.body).toBe(200);
    await expectAccounted(a, 8000, 0);
  });
});

describe('kubernetes metadata', () => {
  it.each([
    ['labels.app', { pod: 'web-1', labels: { app: 'web-app' } }, 'web-app'],
    [
      'app.kubernetes.io/name before app',
      { pod: 'x-1', labels: { app: 'b', 'app.kubernetes.io/name': 'a' } },
      'a',
    ],
    ['k8s-app', { pod: 'coredns-5d78c9869d-xk8wz', labels: { 'k8s-app': 'kube-dns' } }, 'kube-dns'],
    ['Deployment pod name', { pod: 'sleep-7f9c8d5b4-x2x9z' }, 'sleep'],
    ['StatefulSet pod name', { pod: 'kafka-2' }, 'kafka'],
    ['DaemonSet pod name', { pod: 'fluent-bit-x7k2p' }, 'fluent-bit'],
    ['plain pod name', { pod: 'standalone' }, 'standalone'],
    [
      'owner reference',
      { pod: 'whatever', ownerReferences: [{ kind: 'ReplicaSet', name: 'reviews-v1-545db77b95' }] },
      'reviews-v1',
    ],
  ] as const)('workload from %s', async (_name, k, workload) => {
    const a = await start();
    const kube = kubernetesMeta({
      namespace: 'ns1',
      node: 'node-z',
      container: 'istio-proxy',
      ...k,
    } as Parameters<typeof kubernetesMeta>[0]);
    const { body, headers } = fluentBody([{ time: T0, record: tailDockerRecord(LINE_A, kube) }], 'json');
    const res = await post(a.app, FB, body, headers);
    expect(res.statusCode, res.body).toBe(200);
    const [row] = await store.query<Row>(
      'SELECT k8s_namespace, k8s_pod, k8s_container, k8s_workload, k8s_node FROM access_log',
    );
    expect(row).toEqual({
      k8s_namespace: 'ns1',
      k8s_pod: k.pod,
      k8s_container: 'istio-proxy',
      k8s_workload: workload,
      k8s_node: 'node-z',
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------

/** A gzip stream of `bytes` zeros, deflated in 1 MiB pieces so the test never holds the whole payload. */
async function gzipOfZeros(bytes: number): Promise<Buffer> {
  const gz = createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on('data', (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.on('end', resolve);
    gz.on('error', reject);
  });
  const piece = Buffer.alloc(1 << 20);
  for (let sent = 0; sent < bytes; sent += piece.length) {
    if (!gz.write(piece)) await new Promise((r) => gz.once('drain', r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

async function timed<T>(p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await p;
  return { value, ms: performance.now() - t0 };
}

describe('bad input gets its 4xx quickly and the process stays healthy', () => {
  it('truncated or corrupt gzip → 400', async () => {
    const a = await start();
    const { body, headers } = fluentBody(bulkEvents(50, 2), 'json', { gzip: true });
    for (const bad of [
      body.subarray(0, body.length - 20),
      body.subarray(0, 15),
      Buffer.from('not gzip at all'),
    ]) {
      const res = await post(a.app, FB, bad, headers);
      expect(res.statusCode, res.body).toBe(400);
      expect(json(res)['error']).toMatch(/gzip/);
      await expectStillHealthy(a);
    }
    const lines = await post(a.app, LINES, gzipSync(joinLines([LINE_A])).subarray(0, 20), {
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
    });
    expect(lines.statusCode).toBe(400);
    await expectStillHealthy(a);
    await expectAccounted(a, 8, 0);
  });

  it("gzip bomb: 200 MB of zeros gzip'd, well under the body limit → 413 quickly", async () => {
    const a = await start();
    const bomb = await gzipOfZeros(200 << 20);
    expect(bomb.length).toBeLessThan(a.config.ingest.maxBodyBytes);
    for (const [url, type] of [
      [FB, 'application/json'],
      [LINES, 'text/plain'],
    ] as const) {
      const { value: res, ms } = await timed(
        post(a.app, url, bomb, { 'content-type': type, 'content-encoding': 'gzip' }),
      );
      expect(res.statusCode, res.body).toBe(413);
      expect(json(res)['error']).toMatch(/decoded body exceeds/);
      expect(ms).toBeLessThan(5000);
      await expectStillHealthy(a);
    }
    // Gzip'd twice: the first layer is small, the second still capped.
    const twice = gzipSync(bomb);
    const res = await post(a.app, FB, twice, {
      'content-type': 'application/json',
      'content-encoding': 'gzip, gzip',
    });
    expect(res.statusCode).toBe(413);
    await expectStillHealthy(a);
    await expectAccounted(a, 6, 0);
  });

  it('invalid msgpack → 400', async () => {
    const a = await start();
    const good = fluentBody(fixtureEvents(), 'msgpack_v2').body;
    const cases = [
      Buffer.from([0xc1]), // a type byte msgpack never uses
      good.subarray(0, good.length - 7), // cut short
      Buffer.from([0x92, 0xd7, 0x00, 1, 2, 3]), // EventTime cut short
      Buffer.from([0x93, 0x01, 0x80, 0x80]), // an event of three elements
      Buffer.from([0xa5, 0x68, 0x65, 0x6c, 0x6c, 0x6f]), // a bare string
      Buffer.from([0x92, 0x01, 0xdf, 0x00, 0x0f, 0x42, 0x40]), // a record declaring 1 M keys
      Buffer.from(JSON.stringify([{ log: LINE_A }])), // JSON sent as msgpack
    ];
    for (const body of cases) {
      const res = await post(a.app, FB, body, { 'content-type': 'application/msgpack' });
      expect(res.statusCode, `${body.toString('hex').slice(0, 40)}: ${res.body}`).toBe(400);
      await expectStillHealthy(a);
    }
    await expectAccounted(a, 2 * cases.length, 0);
  });

  it('a 50 MB body → 413 (limit 16 MB)', async () => {
    const a = await start();
    expect(a.config.ingest.maxBodyBytes).toBe(16 << 20);
    const big = Buffer.alloc(50 << 20, 0x61);
    for (const [url, type] of [
      [FB, 'application/x-ndjson'],
      [LINES, 'text/plain'],
    ] as const) {
      const { value: res, ms } = await timed(post(a.app, url, big, { 'content-type': type }));
      expect(res.statusCode).toBe(413);
      expect(ms).toBeLessThan(5000);
      await expectStillHealthy(a);
    }
    await expectAccounted(a, 4, 0);
  });

  it('a 50 MB body streamed over a real socket without Content-Length → 413, and the server stays up', async () => {
    const a = await start();
    await a.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = a.app.server.address() as AddressInfo;
    const chunk = Buffer.from(`${LINE_A}\n`.repeat(Math.ceil((1 << 20) / (LINE_A.length + 1))));
    const status = await new Promise<{ status: number; sent: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: LINES,
          headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' },
        },
        (res) => {
          answered = true;
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, sent }));
        },
      );
      // The server answers 413 and closes while the client is still writing: the client may see its next write
      // fail (EPIPE / ECONNRESET) before it reads the answer. That too is a refusal once past the body limit.
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (answered) return;
        if ((err.code === 'EPIPE' || err.code === 'ECONNRESET') && sent > 16 << 20)
          resolve({ status: 0, sent });
        else reject(err);
      });
      const pump = () => {
        while (!answered && sent < 50 << 20) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once('drain', pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      pump();
    });
    // 413, or (0) the connection cut after the answer while the client was still writing.
    expect([413, 0]).toContain(status.status);
    await expectStillHealthy(a);
    await expectAccounted(a, 2, 0);
  });

  it('invalid UTF-8 in lines: no 5xx, every line stored or dead-lettered', async () => {
    const a = await start();
    const nl = Buffer.from('\n');
    const ua = LINE_A.indexOf('okhttp');
    const path = LINE_B.indexOf('/headers') + 2;
    const body = Buffer.concat([
      // Invalid sequences inside a field of an otherwise good line.
      Buffer.from(LINE_A.slice(0, ua)),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from(LINE_A.slice(ua)),
      nl,
      // Nothing but invalid sequences (overlong, surrogate, truncated, out of range).
      Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc, 0xed, 0xa0, 0x80]),
      nl,
      Buffer.from(LINE_B.slice(0, path)),
      Buffer.from([0x80, 0x80]),
      Buffer.from(LINE_B.slice(path)),
      nl,
      Buffer.from([0xf4, 0x90, 0x80, 0x80, 0xc0, 0xaf]),
      nl,
    ]);
    const res = await post(a.app, LINES, body, { 'content-type': 'text/plain' });
    expect(res.statusCode, res.body).toBe(200);
    const r = json(res);
    expect(r['accepted']).toBe(4);
    expect(r).toEqual({ accepted: 4, parsed: 2, deadLetters: 2 });
    await expectAccounted(a, 2, 2);
    const rows = await fixtureRows();
    expect(rows.get('req-a')!.user_agent).toBe('\ufffd\ufffd\ufffd(okhttp/4.12.0');
    expect([...rows.keys()]).toEqual(['req-a', 'req-b']);
    // The same bytes inside JSON strings of Fluent Bit records.
    const records = Buffer.concat([
      Buffer.from('[{"date":1793491200,"log":"'),
      Buffer.from([0xff, 0xfe, 0xc3, 0x28]),
      Buffer.from('"},{"date":1793491201,"log":'),
      Buffer.from(JSON.stringify(LINE_B).slice(0, 30)),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from(JSON.stringify(LINE_B).slice(30)),
      Buffer.from('}]'),
    ]);
    const res2 = await post(a.app, FB, records, { 'content-type': 'application/json' });
    expect(res2.statusCode, res2.body).toBe(200);
    const r2 = json(res2);
    expect(r2['accepted']).toBe(2);
    expect(Number(r2['parsed']) + Number(r2['deadLetters'])).toBe(2);
    await expectAccounted(
      a,
      Number(r['parsed']) + Number(r2['parsed']),
      Number(r['deadLetters']) + Number(r2['deadLetters']),
    );
    await expectStillHealthy(a);
  });

  it('a JSON body that is an object with 1 M keys → 4xx', async () => {
    const a = await start();
    const keys: string[] = new Array(1_000_000);
    for (let i = 0; i < keys.length; i++) keys[i] = `"k${i}":0`;
    const body = Buffer.from(`{"log":${JSON.stringify(LINE_A)},${keys.join(',')}}`);
    expect(body.length).toBeLessThan(a.config.ingest.maxBodyBytes);
    for (const type of ['application/json', 'application/x-ndjson']) {
      const { value: res, ms } = await timed(post(a.app, FB, body, { 'content-type': type }));
      expect(res.statusCode, res.body).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(json(res)['error']).toMatch(/more than 1000 keys/);
      expect(ms).toBeLessThan(5000);
      await expectStillHealthy(a);
    }
    // The same as an array of one record, and as a deeply nested record.
    const arr = await post(a.app, FB, Buffer.concat([Buffer.from('['), body, Buffer.from(']')]), {
      'content-type': 'application/json',
    });
    expect(arr.statusCode).toBe(400);
    const deep = await post(a.app, FB, `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`, {
      'content-type': 'application/json',
    });
    expect(deep.statusCode).toBe(400);
    await expectStillHealthy(a);
    await expectAccounted(a, 6, 0);
  });

  it('unknown Content-Type → 415 on both routes; unknown Content-Encoding → 415', async () => {
    const a = await start();
    const body = fluentBody(fixtureEvents(), 'json').body;
    for (const type of [
      'application/xml',
      'text/csv',
      'application/x-www-form-urlencoded',
      'application/gelf',
    ]) {
      const res = await post(a.app, FB, body, { 'content-type': type });
      expect(res.statusCode, type).toBe(415);
      expect(json(res)['error']).toMatch(/application\/x-ndjson/);
    }
    for (const type of ['application/json', 'application/msgpack', 'application/octet-stream']) {
      const res = await post(a.app, LINES, joinLines([LINE_A]), { 'content-type': type });
      expect(res.statusCode, type).toBe(415);
    }
    for (const encoding of ['br', 'zstd', 'snappy', 'deflate']) {
      const res = await post(a.app, FB, body, {
        'content-type': 'application/json',
        'content-encoding': encoding,
      });
      expect(res.statusCode, encoding).toBe(415);
    }
    await expectStillHealthy(a);
    await expectAccounted(a, 2, 0);
  });

  it('missing Content-Type on the fluent-bit route → 415', async () => {
    const a = await start();
    const res = await post(a.app, FB, fluentBody(fixtureEvents(), 'json').body);
    expect(res.statusCode, res.body).toBe(415);
    expect(json(res)['error']).toMatch(/Content-Type/);
    await expectStillHealthy(a);
    await expectAccounted(a, 2, 0);
  });

  it('with authToken configured: wrong or missing bearer token → 401, probes stay open', async () => {
    const a = await start({ flags: { authToken: TOKEN } });
    const { body, headers } = fluentBody(fixtureEvents(), 'json');
    const wrong: Array<Record<string, string>> = [
      {},
      { authorization: `Bearer ${TOKEN.replace(/.$/, 'X')}` },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
      { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` },
    ];
    for (const auth of wrong) {
      for (const url of [FB, LINES]) {
        const res = await post(a.app, url, body, { ...headers, ...auth });
        expect(res.statusCode, JSON.stringify(auth)).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }
    }
    // Refused before the body is read: a 50 MB body without a token is 401, not 413.
    const big = await post(a.app, LINES, Buffer.alloc(50 << 20, 0x61), { 'content-type': 'text/plain' });
    expect(big.statusCode).toBe(401);
    expect((await a.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await a.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await a.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    expect((await a.app.inject({ method: 'GET', url: '/healthz?x=1' })).statusCode).toBe(200);
    await expectAccounted(a, 0, 0);
    const ok = await post(a.app, FB, body, { ...headers, authorization: `Bearer ${TOKEN}` });
    expect(ok.statusCode, ok.body).toBe(200);
    await expectStillHealthy(a, { authorization: `Bearer ${TOKEN}` });
    await expectAccounted(a, FIXTURE_GOOD + 2, FIXTURE_BAD);
  });
});

// ---------------------------------------------------------------------------------------------------------------

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** n generated lines with a seed of their own, so every body is distinct. */
function linesBody(n: number, seed: number): Buffer {
  return joinLines(generatedLines(n, seed).map((g) => g.line));
}

/** Needs `storeRaw`: every row's raw text is distinct (no line stored twice) and there are `expected` rows. */
async function expectStoredOnce(expected: number): Promise<void> {
  const [r] = await store.query<{ n: string; distinct: string; empty: string }>(
    "SELECT count() AS n, uniqExact(raw) AS distinct, countIf(raw = '') AS empty FROM access_log",
  );
  expect({ n: Number(r!.n), distinct: Number(r!.distinct), empty: Number(r!.empty) }).toEqual({
    n: expected,
    distinct: expected,
    empty: 0,
  });
}

describe('backpressure', () => {
  it('a stalled store: intake answers 429 with Retry-After once the queue is full, and stores what it acknowledged once', async () => {
    const a = await start({
      flags: { storeRaw: true, ingest: { batchRows: 20, maxPendingBatches: 2, flushIntervalMs: 20 } },
    });
    a.faulty.startStall();
    // Each accepted body of 20 lines fills a batch, sealed at once. (The flush timer does not seal a batch
    // while an insert is running: the rows would only wait behind it, so they keep filling the next one.)
    const r1 = post(a.app, LINES, linesBody(20, 101), { 'content-type': 'text/plain' });
    await until(() => a.pipeline.pendingBatches === 1, 'the first batch to be sealed');
    const r2 = post(a.app, LINES, linesBody(20, 102), { 'content-type': 'text/plain' });
    await until(() => a.pipeline.state === 'full', 'the queue to fill');
    const refused: Buffer[] = [];
    for (let i = 0; i < 30; i++) {
      const body = linesBody(20, 200 + i);
      const res = await post(a.app, LINES, body, { 'content-type': 'text/plain' });
      expect(res.statusCode, res.body).toBe(429);
      expect(res.headers['retry-after']).toBe('5');
      refused.push(body);
    }
    const fb = fluentBody(bulkEvents(20, 300), 'msgpack_v2', { gzip: true });
    const refusedFb = await post(a.app, FB, fb.body, fb.headers);
    expect(refusedFb.statusCode).toBe(429);
    // Memory does not grow: nothing more was queued or even parsed.
    expect(a.pipeline.pendingBatches).toBe(2);
    expect(a.pipeline.stats.lines).toBe(40);
    // The store itself answers; the intake is full, not down.
    const ready = await a.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ intake: 'full', store: 'up' });
    a.faulty.endStall();
    expect((await r1).statusCode).toBe(200);
    expect((await r2).statusCode).toBe(200);
    await expectAccounted(a, 40, 0);
    // Fluent Bit retries the refused bodies: all taken now.
    for (const body of refused)
      expect((await post(a.app, LINES, body, { 'content-type': 'text/plain' })).statusCode).toBe(200);
    expect((await post(a.app, FB, fb.body, fb.headers)).statusCode).toBe(200);
    await expectAccounted(a, 40 + 30 * 20 + 20, 0);
    await expectStoredOnce(40 + 30 * 20 + 20);
  });

  it('a store that is down: 503 with Retry-After, /readyz 503; after recovery everything acknowledged is stored once', async () => {
    const a = await start({ flags: { storeRaw: true, ingest: { flushIntervalMs: 20 } } });
    a.faulty.down = true;
    const first = fluentBody([...fixtureEvents(), ...bulkEvents(30, 401)], 'json_lines');
    const r1 = post(a.app, FB, first.body, first.headers); // accepted: the pipeline does not know yet
    await until(() => a.pipeline.state === 'store-down', 'the pipeline to see the outage');
    const second = fluentBody(bulkEvents(25, 402), 'json', { gzip: true });
    const refused = await post(a.app, FB, second.body, second.headers);
    expect(refused.statusCode).toBe(503);
    expect(refused.headers['retry-after']).toBe('5');
    const refusedLines = await post(a.app, LINES, linesBody(5, 403), { 'content-type': 'text/plain' });
    expect(refusedLines.statusCode).toBe(503);
    expect(refusedLines.headers['retry-after']).toBe('5');
    const ready = await a.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'not ready', store: 'down', intake: 'store-down' });
    expect((await a.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    await sleep(100); // a few failed insert attempts
    expect(a.pipeline.stats.insertErrors).toBeGreaterThan(1);
    expect(await count(store, 'access_log')).toBe(0);

    a.faulty.down = false;
    const res1 = await r1;
    expect(res1.statusCode, res1.body).toBe(200);
    expect(res1.json()).toMatchObject({
      accepted: FIXTURE_GOOD + FIXTURE_BAD + 30,
      parsed: FIXTURE_GOOD + 30,
      deadLetters: FIXTURE_BAD,
    });
    expect((await a.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    // Fluent Bit retries: the refused body is taken now; the accepted one again is recognised.
    expect((await post(a.app, FB, second.body, second.headers)).statusCode).toBe(200);
    const again = await post(a.app, FB, first.body, first.headers);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ duplicate: true });
    await expectAccounted(a, FIXTURE_GOOD + 30 + 25, FIXTURE_BAD);
    await expectStoredOnce(FIXTURE_GOOD + 30 + 25);
    await expectFixtureRows();
  });

  it('a request that waits longer than storeWaitMs gets 503; its retry after recovery is recognised, stored once', async () => {
    const a = await start({
      bare: { storeWaitMs: 150 },
      flags: { storeRaw: true, ingest: { flushIntervalMs: 20 } },
    });
    a.faulty.startStall();
    const body = linesBody(40, 501);
    const { value: res, ms } = await timed(post(a.app, LINES, body, { 'content-type': 'text/plain' }));
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(ms).toBeLessThan(2000);
    a.faulty.endStall();
    await until(() => a.pipeline.pendingBatches === 0, 'the queue to drain');
    const retry = await post(a.app, LINES, body, { 'content-type': 'text/plain' });
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toMatchObject({ duplicate: true });
    await expectAccounted(a, 40, 0);
    await expectStoredOnce(40);
  });

  it('bare routes, store down: the waiting request gets 503 after storeWaitMs, new ones 503 at once; all stored once after', async () => {
    const a = await start({
      bare: { storeWaitMs: 150 },
      flags: { storeRaw: true, ingest: { flushIntervalMs: 20 } },
    });
    a.faulty.down = true;
    const b1 = linesBody(30, 601);
    const r1 = await post(a.app, LINES, b1, { 'content-type': 'text/plain' });
    expect(r1.statusCode).toBe(503);
    const b2 = linesBody(30, 602);
    const { value: r2, ms } = await timed(post(a.app, LINES, b2, { 'content-type': 'text/plain' }));
    expect(r2.statusCode).toBe(503);
    expect(r2.json()).toMatchObject({ error: expect.stringMatching(/store is unavailable/) });
    expect(ms).toBeLessThan(100);
    a.faulty.down = false;
    await until(() => a.pipeline.state === 'ok' && a.pipeline.pendingBatches === 0, 'recovery');
    expect((await post(a.app, LINES, b1, { 'content-type': 'text/plain' })).json()).toMatchObject({
      duplicate: true,
    });
    expect((await post(a.app, LINES, b2, { 'content-type': 'text/plain' })).json()).toMatchObject({
      accepted: 30,
      parsed: 30,
    });
    await expectAccounted(a, 60, 0);
    await expectStoredOnce(60);
  });
});

describe('intake journal', () => {
  const journal = () => mkdtempSync(join(dir, 'journal-'));

  it('with a journal, a request is answered once its rows are on disk; a retry is recognised; stored once', async () => {
    const a = await start({ flags: { storeRaw: true, ingest: { journalDir: journal() } } });
    a.faulty.startStall();
    const fb = fluentBody([...fixtureEvents(), ...bulkEvents(50, 1101)], 'json_lines', { gzip: true });
    const res = await post(a.app, FB, fb.body, fb.headers);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      accepted: FIXTURE_GOOD + FIXTURE_BAD + 50,
      parsed: FIXTURE_GOOD + 50,
    });
    const lines = await post(a.app, LINES, linesBody(30, 1102), { 'content-type': 'text/plain' });
    expect(lines.statusCode).toBe(200);
    expect(await count(store, 'access_log')).toBe(0); // every insert is still stalled
    const again = await post(a.app, FB, fb.body, fb.headers);
    expect(again.json()).toEqual({ accepted: 0, duplicate: true });
    a.faulty.endStall();
    await until(
      () => a.pipeline.pendingBatches === 0 && a.pipeline.stats.storedRows === FIXTURE_GOOD + 80,
      'the store',
    );
    await expectAccounted(a, FIXTURE_GOOD + 80, FIXTURE_BAD);
    await expectStoredOnce(FIXTURE_GOOD + 80);
    await expectFixtureRows();
  });

  it('a journal that cannot be written: 503 that says so; the rows are stored anyway and the retry is answered as a duplicate', async () => {
    const at = journal();
    const a = await start({ flags: { storeRaw: true, ingest: { journalDir: at, flushIntervalMs: 20 } } });
    rmSync(at, { recursive: true });
    const body = linesBody(40, 1103);
    const res = await post(a.app, LINES, body, { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.json()).toEqual({
      error: 'the intake journal cannot be written (see the server log); retry later',
    });
    await until(() => a.pipeline.stats.storedRows === 40, 'the rows to be stored from memory');
    const scraped = await a.app.inject({ method: 'GET', url: '/metrics' });
    expect(metricValue(scraped.body, 'egresslens_journal_write_errors_total')).toBeGreaterThanOrEqual(1);
    const retry = await post(a.app, LINES, body, { 'content-type': 'text/plain' });
    expect(retry.json()).toEqual({ accepted: 0, duplicate: true });
    mkdirSync(at); // back: new bodies are journaled again
    expect((await post(a.app, LINES, linesBody(10, 1104), { 'content-type': 'text/plain' })).statusCode).toBe(
      200,
    );
    expect(a.pipeline.journalFailing).toBe(false);
    await until(() => a.pipeline.stats.storedRows === 50, 'the store');
    await expectAccounted(a, 50, 0);
    await expectStoredOnce(50);
  });
});

describe('retries', () => {
  it.each(['json', 'msgpack_legacy'] as const)(
    'the same %s body POSTed twice (gzip, one after the other) is stored once',
    async (format) => {
      const a = await start({ flags: { storeRaw: true } });
      const { body, headers } = fluentBody([...fixtureEvents(), ...bulkEvents(100, 701)], format, {
        gzip: true,
      });
      const first = await post(a.app, FB, body, headers);
      expect(first.statusCode).toBe(200);
      const second = await post(a.app, FB, body, headers);
      expect(second.statusCode).toBe(200);
      expect(second.json()).toEqual({ accepted: 0, duplicate: true });
      await expectAccounted(a, FIXTURE_GOOD + 100, FIXTURE_BAD);
      await expectStoredOnce(FIXTURE_GOOD + 100);
    },
  );

  it('the same body POSTed twice concurrently is stored once; both answered 2xx after it is stored', async () => {
    const a = await start({ flags: { storeRaw: true } });
    const body = linesBody(200, 702);
    const [r1, r2] = await Promise.all([
      post(a.app, LINES, body, { 'content-type': 'text/plain' }),
      post(a.app, LINES, body, { 'content-type': 'text/plain' }),
    ]);
    expect([r1!.statusCode, r2!.statusCode]).toEqual([200, 200]);
    expect([r1!.json(), r2!.json()]).toContainEqual({ accepted: 0, duplicate: true });
    await expectAccounted(a, 200, 0);
    await expectStoredOnce(200);
  });

  it('a retry after the store lost the insert reply is stored once (dedup token)', async () => {
    const a = await start({ flags: { storeRaw: true } });
    a.faulty.loseReplies = 2;
    const body = linesBody(100, 703);
    const res = await post(a.app, LINES, body, { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(200);
    expect(a.pipeline.stats.insertErrors).toBe(2);
    await expectAccounted(a, 100, 0);
    await expectStoredOnce(100);
  });
});

describe('/readyz and /metrics', () => {
  it('/metrics counters match what the tables hold', async () => {
    const a = await start();
    for (const format of FLUENT_FORMATS) {
      const { body, headers } = fluentBody(
        [...fixtureEvents(format), ...bulkEvents(20, 800 + FLUENT_FORMATS.indexOf(format))],
        format,
      );
      expect((await post(a.app, FB, body, headers)).statusCode).toBe(200);
    }
    expect(
      (await post(a.app, LINES, Buffer.from(`${LINE_A}\nnope\n`), { 'content-type': 'text/plain' }))
        .statusCode,
    ).toBe(200);
    const rows = await count(store, 'access_log');
    const dead = await count(store, 'dead_letters');
    expect({ rows, dead }).toEqual({ rows: 5 * (FIXTURE_GOOD + 20) + 1, dead: 5 * FIXTURE_BAD + 1 });
    const res = await a.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(metricValue(res.body, 'egresslens_lines_total')).toBe(rows + dead);
    expect(metricValue(res.body, 'egresslens_dead_letters_total')).toBe(dead);
    expect(metricValue(res.body, 'egresslens_parsed_total')).toBe(rows);
    expect(metricValue(res.body, 'egresslens_stored_rows_total')).toBe(rows);
    expect(metricValue(res.body, 'egresslens_queue_batches')).toBe(0);
    const ready = await a.app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: 'ready', store: 'up', intake: 'ok' });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Defects found while writing this file: each test states the expected behaviour and fails until it is fixed.

async function within<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  return Promise.race([p, sleep(ms).then(() => 'timeout' as const)]);
}

describe('defects', () => {
  it('a body with no records ([] , empty, blank lines, only empty `log`s) is answered at once, not after storeWaitMs', async () => {
    const a = await start();
    const cases: Array<[string, string, string]> = [
      [FB, '[]', 'application/json'],
      [FB, '', 'application/x-ndjson'],
      [LINES, '\n\r\n\n', 'text/plain'],
      [
        FB,
        JSON.stringify([{ date: T0, log: '\n', stream: 'stdout', kubernetes: KUBE_A }]),
        'application/json',
      ],
    ];
    const answers = await Promise.all(
      cases.map(async ([url, body, type]) => {
        const res = await within(post(a.app, url, body, { 'content-type': type }), 2000);
        return { url, body, status: res === 'timeout' ? 'no answer within 2 s' : res.statusCode };
      }),
    );
    expect(answers).toEqual(cases.map(([url, body]) => ({ url, body, status: 200 })));
  });

  it('a body whose lines fill the batch exactly (batchRows) is answered once stored, not after storeWaitMs', async () => {
    const a = await start({ flags: { ingest: { batchRows: 10 } } });
    const res = await within(post(a.app, LINES, linesBody(10, 901), { 'content-type': 'text/plain' }), 2000);
    // The rows are stored at once; only the answer waits (for the next request, or storeWaitMs then 503).
    expect(await count(store, 'access_log')).toBe(10);
    expect(res === 'timeout' ? 'no answer within 2 s' : res.statusCode).toBe(200);
  });

  it('CRI partial lines (P … F) in one lines body are joined, and a lone P piece is not silently dropped', async () => {
    const a = await start();
    const ts = '2026-11-01T00:00:00.003456789Z';
    const body = [
      `${ts} stdout P ${LINE_A.slice(0, 70)}`,
      `${ts} stdout F ${LINE_A.slice(70)}`,
      `${ts} stdout F ${LINE_B}`,
      `${ts} stdout P a piece whose end never came`,
    ].join('\n');
    const res = await post(a.app, LINES, `${body}\n`, { 'content-type': 'text/plain' });
    expect(res.statusCode).toBe(200);
    const rows = await fixtureRows();
    const dead = await store.query<{ raw: string }>('SELECT raw FROM dead_letters');
    expect({ rows: [...rows.keys()], dead: dead.map((d) => d.raw) }).toEqual({
      rows: ['req-a', 'req-b'],
      dead: [expect.stringContaining('a piece whose end never came')],
    });
  });

  it('each of two concurrent requests reports its own parsed/deadLetters counts', async () => {
    const a = await start();
    a.faulty.startStall();
    const r1 = post(a.app, LINES, linesBody(3, 910), { 'content-type': 'text/plain' });
    const r2 = post(a.app, LINES, Buffer.concat([linesBody(4, 911), Buffer.from('not a log line\n')]), {
      'content-type': 'text/plain',
    });
    await until(() => a.pipeline.stats.lines === 8, 'both bodies to be appended');
    a.faulty.endStall();
    const [res1, res2] = await Promise.all([r1, r2]);
    await expectAccounted(a, 7, 1);
    expect([res1.json(), res2.json()]).toEqual([
      { accepted: 3, parsed: 3, deadLetters: 0 },
      { accepted: 5, parsed: 4, deadLetters: 1 },
    ]);
  });

  it('a Fluent Bit retry of a request that got "store is slow" is also answered within storeWaitMs while the store stalls', async () => {
    const a = await start({ bare: { storeWaitMs: 150 } });
    a.faulty.startStall();
    const body = linesBody(10, 920);
    const first = await post(a.app, LINES, body, { 'content-type': 'text/plain' });
    expect(first.statusCode).toBe(503);
    const retry = await within(post(a.app, LINES, body, { 'content-type': 'text/plain' }), 1500);
    expect(retry === 'timeout' ? 'no answer within 1.5 s' : retry.statusCode).toBe(503);
  });

  it('the same non-access-log line from a pod in two different requests gives two dead letters', async () => {
    const a = await start();
    // Two Fluent Bit flushes (different dates, so not a retry) carrying the same log line from the same pod.
    const line =
      'upstream connect error or disconnect/reset before headers. reset reason: connection failure';
    for (const time of [T0 + 1, T0 + 61]) {
      const { body, headers } = fluentBody([{ time, record: tailDockerRecord(line, KUBE_A) }], 'json');
      const res = await post(a.app, FB, body, headers);
      expect(res.json()).toEqual({ accepted: 1, parsed: 0, deadLetters: 1 });
    }
    const metrics = (await a.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metricValue(metrics, 'egresslens_dead_letters_total')).toBe(2);
    expect(await count(store, 'dead_letters')).toBe(2);
  });
});

/** The body is read into one buffer over a real socket: sized from Content-Length, or grown without it. */
describe('request bodies over a real socket', () => {
  async function listening(opts: IngestAppOptions = {}): Promise<{ a: IngestApp; port: number }> {
    const a = await start(opts);
    await a.app.listen({ host: '127.0.0.1', port: 0 });
    return { a, port: (a.app.server.address() as AddressInfo).port };
  }

  /** Sends `parts` one write at a time (chunked without a Content-Length), and returns the answer. */
  function send(
    port: number,
    parts: Buffer[],
    headers: Record<string, string>,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: FB, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => {
          body += d.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      const next = (i: number) => {
        if (i === parts.length) {
          req.end();
          return;
        }
        req.write(parts[i], () => setImmediate(next, i + 1));
      };
      next(0);
    });
  }

  it('a chunked body of many small writes, with no Content-Length, is stored whole', async () => {
    const { a, port } = await listening();
    const lines = generatedLines(3000, 77).map((g) => g.line);
    const body = Buffer.from(lines.map((log) => `${JSON.stringify({ date: 1793491200.5, log })}\n`).join(''));
    expect(body.length).toBeGreaterThan(4 * (64 << 10)); // past the first buffer, grown more than once
    const parts: Buffer[] = [];
    for (let at = 0; at < body.length; at += 7001) parts.push(body.subarray(at, at + 7001));
    const res = await send(port, parts, {
      'content-type': 'application/x-ndjson',
      'transfer-encoding': 'chunked',
    });
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ accepted: 3000 });
    await expectAccounted(a, 3000, 0);
  });

  it('a body with Content-Length, sent in pieces, is stored whole', async () => {
    const { a, port } = await listening();
    const lines = generatedLines(500, 78).map((g) => g.line);
    const body = Buffer.from(`${lines.join('\n')}\n`);
    const parts = [body.subarray(0, 10), body.subarray(10, 70_000), body.subarray(70_000)];
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: LINES,
          headers: { 'content-type': 'text/plain', 'content-length': String(body.length) },
        },
        (r) => {
          let text = '';
          r.on('data', (d: Buffer) => {
            text += d.toString();
          });
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      for (const p of parts) req.write(p);
      req.end();
    });
    expect(res.status, res.body).toBe(200);
    await expectAccounted(a, 500, 0);
  });

  it('a Content-Length over the limit is refused with 413 before any of the body is sent', async () => {
    const { port } = await listening({ flags: { ingest: { maxBodyBytes: 1 << 20 } } });
    const answer = await new Promise<string>((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => {
        sock.write(
          `POST ${FB} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${(1 << 20) + 1}\r\n\r\n`,
        );
      });
      let text = '';
      sock.on('data', (d: Buffer) => {
        text += d.toString();
        if (text.includes('\r\n\r\n')) {
          sock.destroy();
          resolve(text);
        }
      });
      sock.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
  });

  it('a chunked body that passes the limit is refused with 413', async () => {
    const { a, port } = await listening({ flags: { ingest: { maxBodyBytes: 256 << 10 } } });
    const line = Buffer.from(`${JSON.stringify({ log: 'x'.repeat(1000) })}\n`);
    const res = await send(
      port,
      Array.from({ length: 300 }, () => line),
      {
        'content-type': 'application/x-ndjson',
        'transfer-encoding': 'chunked',
      },
    ).catch((err: NodeJS.ErrnoException) => ({ status: 0, body: err.code ?? '' }));
    // 413, or (0) the connection cut after the answer while the client was still writing.
    expect([413, 0]).toContain(res.status);
    await expectStillHealthy(a);
  });
});
