/**
 * POST /v1/query on a real served instance (fastify listening on 127.0.0.1, embedded chDB in a temp directory):
 * every attack in query-attacks.ts must be refused (403 by the checker, or 400 when the engine's parser already
 * rejects the text), leak nothing, create no file and make no outbound connection (a canary server on 127.0.0.1
 * counts connections); legal queries must still work, and user SQL errors must be 400 with the engine's message,
 * never logged as server errors.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer } from '../../api/server.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { loadConfig } from '../../schemas/config.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { istioLine } from '../helpers/istio-line.js';
import {
  FILE_READS,
  OUTBOUND,
  OUTFILE_WRITES,
  SETTINGS_AND_MULTI,
  SYSTEM_AND_HOST,
} from './query-attacks.js';

const dir = mkdtempSync(join(tmpdir(), 'egresslens-security-query-'));
const outDir = mkdtempSync(join(tmpdir(), 'egresslens-security-out-'));
const SECRET = `egresslens-secret-${randomBytes(12).toString('hex')}`;
const secretFile = join(dir, 'secret.txt');
const LINES = 40;

let store: ChdbStore;
let app: FastifyInstance;
let pipeline: IngestPipeline;
let base: string;
let canary: Server;
let canaryUrl: string;
let canaryHost: string;
const canaryHits: string[] = [];
const logLevels: number[] = [];
let attackCount = 0;
/** Status and rule (or engine code) per attack, to report how each was stopped. */
const outcomes = new Map<string, number>();

async function query(sql: string): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(`${base}/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

function fill(sql: string, target = join(outDir, 'unused')): string {
  return sql
    .replaceAll('{P}', secretFile)
    .replaceAll('{T}', target)
    .replaceAll('{C}', canaryUrl)
    .replaceAll('{H}', canaryHost);
}

/** Refused by the checker (403 with a rule code) or by the engine's parser (400); never run. */
async function expectRefused(text: string): Promise<void> {
  attackCount++;
  const sql = text.length > 200 ? `${text.slice(0, 200)}… (${text.length} characters)` : text;
  const r = await query(text);
  expect([400, 403], `${JSON.stringify(sql)} → ${r.status} ${r.text.slice(0, 200)}`).toContain(r.status);
  expect(r.json?.error, sql).toBeTruthy();
  expect(r.json?.code, sql).toBeTruthy();
  expect(r.text, sql).not.toContain(SECRET);
  expect(r.text, sql).not.toMatch(/root:x:0:0|PATH=|node_modules\/vitest/);
  expect(r.json?.error.split('\n').length, sql).toBe(1);
  // A 400 must come from the parser, before anything ran: syntax (62), too deep (167, 306), too big (168).
  if (r.status === 400 && r.json.code !== 'bad-request')
    expect([62, 167, 168, 306], sql).toContain(r.json.engineCode);
  const key = r.status === 403 ? `403 ${r.json.code}` : `400 ${r.json.engineCode ?? r.json.code}`;
  outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
}

beforeAll(async () => {
  writeFileSync(secretFile, `${SECRET}\n`);
  canary = createServer((req, res) => {
    canaryHits.push(`${req.method} ${req.url}`);
    res.end('x\n1\n');
  });
  canary.on('connection', () => canaryHits.push('connection'));
  await new Promise<void>((r) => canary.listen(0, '127.0.0.1', r));
  const port = (canary.address() as AddressInfo).port;
  canaryHost = `127.0.0.1:${port}`;
  canaryUrl = `http://${canaryHost}`;

  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, cb) {
        for (const line of String(chunk).split('\n')) if (line) logLevels.push(JSON.parse(line).level);
        cb();
      },
    }),
  );
  const config = loadConfig({ env: {}, flags: { data: dir, ingest: { flushIntervalMs: 20 } } });
  store = ChdbStore.open(dir);
  await store.migrate();
  pipeline = new IngestPipeline(
    store,
    { ...config.ingest, format: 'auto', storeRaw: false, retryBaseMs: 10, retryMaxMs: 50 },
    log,
  );
  ({ app } = await buildServer({ config, store, pipeline, log }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const now = Date.now();
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const host = `api${i % 4}.example.com`;
    lines.push(
      istioLine({
        ts: new Date(now - 60_000 + i * 1000).toISOString(),
        method: 'GET',
        path: `/v1/items/${i}`,
        code: i % 5 === 0 ? 502 : 200,
        flags: i % 5 === 0 ? 'UF' : undefined,
        authority: host,
        upstreamHost: `10.0.0.${i % 4}:443`,
        cluster: 'PassthroughCluster',
        downstreamLocal: `10.0.0.${i % 4}:443`,
        duration: 10 + i,
        requestId: `req-${i}`,
      }),
    );
  }
  lines.push('this is not an access log line');
  const res = await fetch(`${base}/v1/ingest/lines`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: `${lines.join('\n')}\n`,
  });
  expect(res.status).toBeLessThan(300);
  await pipeline.flush();
});

afterAll(async () => {
  await app?.close();
  await pipeline?.close();
  await store?.close();
  await new Promise<void>((r) => canary.close(() => r()));
  // The attack count for the closing note.
  console.log(`query attacks refused: ${attackCount}`, Object.fromEntries([...outcomes].sort()));
});

describe('POST /v1/query refuses attacks', () => {
  it('file reads in every spelling: refused, nothing leaks', async () => {
    for (const sql of FILE_READS) await expectRefused(fill(sql));
  });

  it('INTO OUTFILE and other writes in every spelling: refused, the file is never created', async () => {
    let n = 0;
    for (const sql of OUTFILE_WRITES) {
      const target = join(outDir, `out-${n++}.txt`);
      await expectRefused(fill(sql, target));
      expect(existsSync(target), sql).toBe(false);
    }
  });

  it('outbound requests: refused, and the canary on 127.0.0.1 receives no connection at all', async () => {
    for (const sql of OUTBOUND) await expectRefused(fill(sql));
    expect(canaryHits).toEqual([]);
    // The canary does answer: a request from here reaches it.
    await fetch(`${canaryUrl}/probe`);
    expect(canaryHits).toContain('GET /probe');
    canaryHits.length = 0;
  });

  it('system tables, other databases, host information and sleeping: refused', async () => {
    for (const sql of SYSTEM_AND_HOST) await expectRefused(fill(sql));
  });

  it('SETTINGS anywhere, SET, multi-statements, writes and non-SELECT statements: refused', async () => {
    const before = (await query('SELECT count() AS n FROM access_log')).json.rows[0].n;
    for (const sql of SETTINGS_AND_MULTI) await expectRefused(fill(sql));
    expect((await query('SELECT count() AS n FROM access_log')).json.rows[0].n).toBe(before);
  });

  it('says which rule refused, as data', async () => {
    const cases: Array<[string, string]> = [
      ["SELECT file('/etc/passwd')", 'function-not-allowed'],
      ["SELECT * FROM url('http://127.0.0.1:9/x', 'CSV')", 'table-function'],
      ['SELECT * FROM system.tables', 'table-not-allowed'],
      ["SELECT 1 INTO /**/ OUTFILE '/tmp/x'", 'output-clause'],
      ['SELECT 1 FORMAT CSV', 'output-clause'],
      ['SELECT 1 SETTINGS max_threads = 1', 'settings'],
      ['SELECT * FROM (SELECT 1 SETTINGS max_threads = 1)', 'settings'],
      ["DESCRIBE url('http://127.0.0.1:9/x', 'CSV')", 'not-a-select'],
      ['SELECT * APPLY(toString) FROM access_log', 'construct-not-allowed'],
    ];
    for (const [sql, code] of cases) {
      const r = await query(sql);
      expect(r.status, sql).toBe(403);
      expect(r.json.code, sql).toBe(code);
      expect(r.json.reason, sql).toMatch(/allowed/);
      expect(r.json.error).toBe(`not allowed: ${r.json.reason}`);
    }
    expect((await query("SELECT file('/etc/passwd')")).json.reason).toBe('function file() is not allowed');
  });

  it('a parse bomb stops at the parser limits with 400', async () => {
    await expectRefused(`SELECT ${'('.repeat(5000)}1${')'.repeat(5000)}`);
    await expectRefused(`SELECT ${Array.from({ length: 15_000 }, (_, i) => `${i}`).join('+')}`);
    await expectRefused(`SELECT ${Array(20_000).fill('-a').join(',')}`);
    await expectRefused(`SELECT ${'['.repeat(2000)}1${']'.repeat(2000)}`);
  });
});

describe('POST /v1/query answers legal queries', () => {
  it('aggregates over access_log with lambdas, combinators and case-insensitive names', async () => {
    const r = await query(`
      SELECT dst_host, count() AS n, COUNT(*) AS n2, countIf(response_code >= 500) AS errors,
             arrayMap(x -> x * 2, [1, 2]) AS doubled, arraySum(x -> x, groupArray(duration)) AS total,
             quantileExact(0.5)(duration) AS p50, uniqExactIf(request_id, response_flags = 'UF') AS uf, LOWER('A') AS a
      FROM access_log GROUP BY dst_host ORDER BY dst_host`);
    expect(r.status, r.text).toBe(200);
    expect(r.json.rows.map((x: any) => x.dst_host)).toEqual([0, 1, 2, 3].map((i) => `api${i}.example.com`));
    expect(r.json.rows.reduce((s: number, x: any) => s + x.n, 0)).toBe(LINES);
    expect(r.json.rows.reduce((s: number, x: any) => s + x.errors, 0)).toBe(LINES / 5);
    expect(r.json.rows[0].doubled).toEqual([2, 4]);
    expect(r.json.rows[0].a).toBe('a');
  });

  it('CTEs, UNION, INTERSECT, subqueries, JOINs, ARRAY JOIN, IN, window functions', async () => {
    const legal: Array<[string, (rows: any[]) => void]> = [
      [
        'WITH hosts AS (SELECT DISTINCT dst_host AS h FROM access_log) SELECT count() AS n FROM hosts',
        (rows) => expect(rows[0].n).toBe(4),
      ],
      [
        `WITH a AS (SELECT dst_host, count() AS c FROM access_log GROUP BY dst_host),
              b AS (SELECT * FROM a WHERE c > 0)
         SELECT sum(c) AS n FROM b JOIN a USING (dst_host) WHERE dst_host IN (SELECT dst_host FROM b)`,
        (rows) => expect(Number(rows[0].n)).toBe(LINES),
      ],
      [
        "SELECT * FROM (SELECT 'log' AS t, count() AS n FROM access_log UNION ALL SELECT 'dead', count() FROM dead_letters) ORDER BY t",
        (rows) =>
          expect(rows).toEqual([
            { t: 'dead', n: 1 },
            { t: 'log', n: LINES },
          ]),
      ],
      [
        'SELECT dst_host FROM access_log INTERSECT DISTINCT SELECT dst_host FROM default.access_log WHERE response_code = 502',
        (rows) => expect(rows.length).toBe(4),
      ],
      [
        "SELECT reason FROM dead_letters WHERE raw LIKE '%not an access log%'",
        (rows) => expect(rows.length).toBe(1),
      ],
      ['SELECT count() AS n FROM report_runs', (rows) => expect(rows[0].n).toBe(0)],
      [
        "SELECT count() AS n FROM access_log AS l ARRAY JOIN splitByChar('/', path) AS part WHERE part != ''",
        (rows) => expect(rows[0].n).toBe(LINES * 3),
      ],
      [
        "SELECT request_id, row_number() OVER (PARTITION BY dst_host ORDER BY start_time) AS rn FROM access_log WHERE dst_host = 'api0.example.com' ORDER BY rn LIMIT 2",
        (rows) => expect(rows.map((x) => x.rn)).toEqual([1, 2]),
      ],
      [
        'WITH c AS (SELECT dst_host FROM access_log) SELECT count() AS n FROM access_log WHERE dst_host IN c',
        (rows) => expect(rows[0].n).toBe(LINES),
      ],
      [
        "SELECT JSONExtractString('{\"a\":\"b\"}', 'a') AS v, toStartOfHour(now()) <= now() AS ok, IPv4StringToNum('10.0.0.1') AS ip, domain('https://x.io/p') AS d",
        (rows) => expect(rows[0]).toEqual({ v: 'b', ok: 1, ip: 167772161, d: 'x.io' }),
      ],
      ['SELECT 1 AS one;', (rows) => expect(rows).toEqual([{ one: 1 }])],
    ];
    for (const [sql, check] of legal) {
      const r = await query(sql);
      expect(r.status, `${sql} → ${r.text.slice(0, 300)}`).toBe(200);
      check(r.json.rows);
    }
  });
});

describe('POST /v1/query user errors', () => {
  it('answers 400 with the engine one-line message, and logs them below error', async () => {
    const before = logLevels.filter((l) => l >= 50).length;
    const cases: Array<[string, RegExp]> = [
      ['SELEC 1', /Syntax error/],
      ['SELECT nope FROM access_log', /Unknown expression identifier `nope`/],
      ["SELECT throwIf(1, 'boom')", /boom/],
      ["SELECT 1 + 'a'", /Illegal type|Cannot|NO_COMMON_TYPE|types/i],
      [
        'SELECT arrayJoin(range(300)) AS x FROM access_log',
        /Limit for result exceeded, max rows: 10\.00 thousand/,
      ],
      [
        "SELECT repeat('x', 1000000) AS s FROM access_log ARRAY JOIN [1, 2] AS r",
        /Limit for result exceeded|the result exceeds 67108864 bytes/,
      ],
      ['SELECT arrayJoin(range(20000)) AS x', /the result exceeds 10000 rows/],
      ['SELECT 1; SELECT 2', /Multi-statements are not allowed/],
      ['', /./],
    ];
    for (const [sql, message] of cases) {
      const r = await query(sql);
      expect(r.status, `${sql} → ${r.text.slice(0, 300)}`).toBe(400);
      expect(r.json.error, sql).toMatch(message);
      expect(r.json.error, sql).not.toMatch(/\n|DB::Exception|Stack trace|formatQuery/);
    }
    expect(logLevels.filter((l) => l >= 50).length).toBe(before);
  });
});
