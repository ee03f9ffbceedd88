/**
 * HTTP intake end to end on the embedded store: every Fluent Bit body shape, plain lines, hostile input,
 * backpressure, retries, probes and metrics. One chDB directory for the file; tables truncated between tests;
 * each test builds its own pipeline and server over a FaultyStore in front of it.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { type IngestApp, type IngestAppOptions, metricValue, post, startIngestApp } from '../helpers/ingest-app.js';
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
  if (health.statusCode !== 404) expect(health.statusCode).toBe(200);
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

function fixtureEvents(): FluentEvent[] {
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
    { time: T0 + 4, record: { stream: 'stdout', time: '2026-11-01T00:00:04Z', ...ENVOY_JSON_E, kubernetes: KUBE_E } },
    // Not access logs: kept as dead letters.
    { time: T0 + 5, record: tailDockerRecord(NOT_A_LOG, KUBE_A) },
    { time: T0 + 6, record: { level: 'info', msg: 'listener added', kubernetes: KUBE_B } },
  ];
}
const FIXTURE_GOOD = 5;
const FIXTURE_BAD = 2;

/** Generated Istio lines as tail + kubernetes records, spread over three pods. */
function bulkEvents(n: number, seed: number): FluentEvent[] {
  const pods = [KUBE_A, KUBE_B, KUBE_D];
  return generatedLines(n, seed).map((g, i) => ({ time: T0 + 10 + i / 1000, record: tailDockerRecord(g.line, pods[i % 3]!) }));
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
  const dead = await store.query<{ reason: string; raw: string; source: string; k8s_namespace: string; k8s_pod: string }>(
    'SELECT reason, raw, source, k8s_namespace, k8s_pod FROM dead_letters ORDER BY raw',
  );
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

  it.each(FLUENT_FORMATS)('%s: the shipper\'s time is the start time of a line format without START_TIME', async (format) => {
    const a = await start({ flags: { format: '%RESPONSE_CODE% %REQ(:AUTHORITY)% "%REQ(X-REQUEST-ID)%"' } });
    const record = tailDockerRecord('503 api.sendgrid.com "req-t"', KUBE_C);
    const { body, headers } = fluentBody([{ time: T0 + 7.5, record }], format);
    const res = await post(a.app, FB, body, headers);
    expect(res.statusCode, res.body).toBe(200);
    const rows = await fixtureRows();
    // The legacy msgpack helper writes the first event's time as integer seconds.
    const ms = format === 'msgpack_legacy' ? (T0 + 7) * 1000 : (T0 + 7.5) * 1000;
    expect(rows.get('req-t')).toMatchObject({ ms, response_code: 503, authority: 'api.sendgrid.com', k8s_workload: 'mailer' });
    await expectAccounted(a, 1, 0);
  });

  it('plain text lines, with and without gzip, CRLF endings and blank lines', async () => {
    const a = await start();
    const lines = generatedLines(500, 21).map((g) => g.line);
    const bad = ['garbage', '[2026-11-01T00:00:00.000Z] "GET / HTTP/1.1" 2x0 -', '{"not":"an access log"}'];
    const first = Buffer.from(`${[...lines.slice(0, 250), ...bad].join('\r\n')}\r\n\r\n\n`);
    const res1 = await post(a.app, LINES, first, { 'content-type': 'text/plain; charset=utf-8' });
    expect(res1.statusCode, res1.body).toBe(200);
    expect(res1.json()).toEqual({ accepted: 253, parsed: 250, deadLetters: 3 });
    const res2 = await post(a.app, LINES, gzipSync(joinLines([...lines.slice(250), LINE_A, JSON.stringify(ENVOY_JSON_D)])), {
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
    });
    expect(res2.statusCode, res2.body).toBe(200);
    expect(res2.json()).toEqual({ accepted: 252, parsed: 252, deadLetters: 0 });
    await expectAccounted(a, 502, 3);
    const rows = await fixtureRows();
    expect(rows.get('req-a')).toMatchObject({ response_code: 504, source: 'http', k8s_namespace: '', k8s_workload: '' });
    expect(rows.get('req-d')).toMatchObject({ response_code: 502, upstream_cluster: 'outbound|443||api.stripe.com' });
    const dead = await store.query<{ raw: string; reason: string }>('SELECT raw, reason FROM dead_letters ORDER BY raw');
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
    ['app.kubernetes.io/name before app', { pod: 'x-1', labels: { app: 'b', 'app.kubernetes.io/name': 'a' } }, 'a'],
    ['k8s-app', { pod: 'coredns-5d78c9869d-xk8wz', labels: { 'k8s-app': 'kube-dns' } }, 'kube-dns'],
    ['Deployment pod name', { pod: 'sleep-7f9c8d5b4-x2x9z' }, 'sleep'],
    ['StatefulSet pod name', { pod: 'kafka-2' }, 'kafka'],
    ['DaemonSet pod name', { pod: 'fluent-bit-x7k2p' }, 'fluent-bit'],
    ['plain pod name', { pod: 'standalone' }, 'standalone'],
    ['owner reference', { pod: 'whatever', ownerReferences: [{ kind: 'ReplicaSet', name: 'reviews-v1-545db77b95' }] }, 'reviews-v1'],
  ] as const)('workload from %s', async (_name, k, workload) => {
    const a = await start();
    const kube = kubernetesMeta({ namespace: 'ns1', node: 'node-z', container: 'istio-proxy', ...k } as Parameters<typeof kubernetesMeta>[0]);
    const { body, headers } = fluentBody([{ time: T0, record: tailDockerRecord(LINE_A, kube) }], 'json');
    const res = await post(a.app, FB, body, headers);
    expect(res.statusCode, res.body).toBe(200);
    const [row] = await store.query<Row>('SELECT k8s_namespace, k8s_pod, k8s_container, k8s_workload, k8s_node FROM access_log');
    expect(row).toEqual({ k8s_namespace: 'ns1', k8s_pod: k.pod, k8s_container: 'istio-proxy', k8s_workload: workload, k8s_node: 'node-z' });
  });
});
