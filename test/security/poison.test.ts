/**
 * Poison lines against a served instance (buildServer + listen on loopback, requests over real sockets, the
 * embedded store): each class of value a column cannot hold goes to dead_letters with a reason naming the
 * field, and a good batch sent right after it is stored; /readyz stays 200 and intake keeps answering 2xx.
 * Then the encoder's checks are bypassed, so that the engine itself refuses a row, to show the batch is split
 * until that row stands alone, also when an outage interrupts the split.
 */
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_PIPELINE_OPTIONS, IngestPipeline } from '../../ingest/pipeline.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { clickHouseErrorCode } from '../../store/insert-error-kind.js';
import { openServerStore } from '../../store/server-store.js';
import type { InsertRequest, Store } from '../../store/store.js';
import { FaultyStore } from '../helpers/faulty-store.js';
import { fluentBody, kubernetesMeta, tailDockerRecord } from '../helpers/fluent-bit-bodies.js';
import { type IngestApp, startIngestApp } from '../helpers/ingest-app.js';
import { istioLine } from '../helpers/istio-line.js';
import { count } from '../helpers/lines.js';

const dir = mkdtempSync(join(tmpdir(), 'egresslens-poison-'));
let store: ChdbStore;

/**
 * The real store, except that an access_log row whose path is /engine-poison reaches the engine with
 * `1e+300` as its response_code: text the engine refuses (CANNOT_PARSE_INPUT_ASSERTION_FAILED), which the
 * encoder's own checks never let through. Everything else is passed on untouched.
 */
function poisonRows(req: InsertRequest): InsertRequest {
  if (req.table !== 'access_log') return req;
  const rows = req.body
    .toString('utf8')
    .split('\n')
    .map((row) =>
      row.includes('"/engine-poison"')
        ? row.replace(/^(\[[^,]*,"GET","\/engine-poison","[^"]*",)\d+/, '$11e+300')
        : row,
    );
  return { ...req, body: Buffer.from(rows.join('\n')) };
}

/** A pass-through FaultyStore (no fault set) whose inserts go through poisonRows first. */
class EnginePoisonStore extends FaultyStore {
  override insert(req: InsertRequest): Promise<void> {
    return super.insert(poisonRows(req));
  }
}

interface Served {
  ingest: IngestApp;
  base: string;
  close(): Promise<void>;
}

async function serve(over: Store, flushIntervalMs = 20): Promise<Served> {
  const ingest = await startIngestApp(over, { flags: { ingest: { flushIntervalMs } } });
  await ingest.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = ingest.app.server.address() as AddressInfo;
  return { ingest, base: `http://127.0.0.1:${port}`, close: () => ingest.close() };
}

async function postLines(s: Served, lines: string[]): Promise<Response> {
  return fetch(`${s.base}/v1/ingest/lines`, {
    method: 'POST',
    headers: { 'content-type': 'text/plain' },
    body: `${lines.join('\n')}\n`,
  });
}

async function readyz(s: Served): Promise<number> {
  return (await fetch(`${s.base}/readyz`)).status;
}

let seq = 0;
const good = (tag: string) =>
  istioLine({
    ts: '2024-05-01T10:00:00.000Z',
    method: 'GET',
    path: '/ok',
    code: 200,
    requestId: `good-${tag.replace(/[^a-z0-9]+/gi, '_')}-${seq++}`,
    authority: 'api.example.com',
  });

const jsonLog = (fields: Record<string, unknown>) =>
  JSON.stringify({
    start_time: '2024-05-01T10:00:00.000Z',
    method: 'GET',
    path: '/json',
    response_code: 200,
    bytes_sent: 10,
    duration: 3,
    authority: 'api.example.com',
    ...fields,
  });

/** Poison as it arrives: a text line or a JSON line (via /v1/ingest/lines) or a Fluent Bit record. */
type Poison = { name: string; field: string; text?: string; object?: Record<string, unknown> };

const POISON: Poison[] = [
  {
    name: 'START_TIME in 1899',
    field: 'start_time',
    text: istioLine({ ts: '1899-12-31T23:59:59.999Z', method: 'GET' }),
  },
  {
    name: 'START_TIME in year 2300',
    field: 'start_time',
    text: istioLine({ ts: '2300-01-01T00:00:00.000Z', method: 'GET' }),
  },
  {
    name: 'START_TIME in year 0001',
    field: 'start_time',
    text: istioLine({ ts: '0001-01-01T00:00:00.000Z', method: 'GET' }),
  },
  {
    name: 'text response_code 70000',
    field: 'response_code',
    text: istioLine({ ts: '2024-05-01T10:00:00.000Z', method: 'GET', code: 70000 }),
  },
  {
    name: 'text duration 2^32',
    field: 'duration',
    text: istioLine({ ts: '2024-05-01T10:00:00.000Z', method: 'GET', duration: 4294967296 }),
  },
  { name: 'JSON response_code 1e300', field: 'response_code', text: jsonLog({ response_code: 1e300 }) },
  { name: 'JSON response_code 70000', field: 'response_code', text: jsonLog({ response_code: 70000 }) },
  { name: 'JSON response_code "70000"', field: 'response_code', text: jsonLog({ response_code: '70000' }) },
  { name: 'JSON bytes_sent 1e30', field: 'bytes_sent', text: jsonLog({ bytes_sent: 1e30 }) },
  { name: 'JSON bytes_sent 2^60', field: 'bytes_sent', text: jsonLog({ bytes_sent: 2 ** 60 }) },
  { name: 'JSON negative duration', field: 'duration', text: jsonLog({ duration: -5 }) },
  { name: 'JSON fractional response_code', field: 'response_code', text: jsonLog({ response_code: 200.5 }) },
  { name: 'JSON "NaN" bytes_sent', field: 'bytes_sent', text: jsonLog({ bytes_sent: 'NaN' }) },
  {
    name: 'JSON start_time 1899',
    field: 'start_time',
    text: jsonLog({ start_time: '1899-06-01T00:00:00Z' }),
  },
  {
    name: 'JSON start_time year 10000',
    field: 'start_time',
    text: jsonLog({ start_time: '+010000-01-01T00:00:00.000Z' }),
  },
  { name: 'JSON unpaired surrogate in path', field: 'path', text: jsonLog({ path: '/a\ud800' }) },
  {
    name: 'Fluent Bit record response_code 1e300',
    field: 'response_code',
    object: JSON.parse(jsonLog({ response_code: 1e300 })),
  },
  {
    name: 'Fluent Bit record duration 1e30',
    field: 'duration',
    object: JSON.parse(jsonLog({ duration: 1e30 })),
  },
];

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

describe('poison lines', () => {
  it('each class is dead-lettered with its reason; the good batch after it is stored; /readyz stays 200', async () => {
    const s = await serve(store);
    try {
      let goodSent = 0;
      for (const p of POISON) {
        const withPoison = good(p.name);
        let res: Response;
        if (p.text !== undefined) {
          res = await postLines(s, [p.text, withPoison]);
        } else {
          const { body, headers } = fluentBody([{ time: 1714557600, record: p.object! }], 'json_lines');
          res = await fetch(`${s.base}/v1/ingest/fluent-bit`, { method: 'POST', headers, body });
          expect(res.status, p.name).toBe(200);
          res = await postLines(s, [withPoison]);
        }
        expect(res.status, p.name).toBe(200);
        const after = good(p.name);
        expect((await postLines(s, [after])).status, p.name).toBe(200);
        goodSent += 2;
        expect(await readyz(s), p.name).toBe(200);
        expect(s.ingest.pipeline.state, p.name).toBe('ok');
        expect(
          await count(
            store,
            'access_log',
            `request_id IN ('${withPoison.match(/good-[^"]+/)![0]}', '${after.match(/good-[^"]+/)![0]}')`,
          ),
          p.name,
        ).toBe(2);
        const dead = await store.query<{ reason: string }>(
          'SELECT reason FROM dead_letters ORDER BY time DESC LIMIT 1',
        );
        expect(dead[0]?.reason, p.name).toMatch(new RegExp(`\\b${p.field}\\b`));
        expect(dead[0]?.reason, p.name).not.toContain('\n');
      }
      expect(await count(store, 'access_log')).toBe(goodSent);
      expect(await count(store, 'dead_letters')).toBe(POISON.length);
      expect(await count(store, 'access_log', 'response_code NOT IN (200)')).toBe(0);
      expect(s.ingest.pipeline.stats.insertErrors).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('stores a batch whose times span more months than one insert may create partitions for', async () => {
    // All 150 lines must be one batch: a 20 ms flush timer could seal part of the body while the rest of it is
    // still arriving (seen once on a loaded machine), and two batches of 100 and 50 months need no split.
    const s = await serve(store, 1000);
    try {
      // 150 lines, each in its own month: one insert would make 150 partitions (the engine allows 100), so
      // the store refuses the batch with TOO_MANY_PARTS; split in halves, every row is stored.
      const lines = Array.from({ length: 150 }, (_, i) =>
        istioLine({
          ts: new Date(Date.UTC(1950 + Math.floor(i / 12), i % 12, 15)).toISOString(),
          method: 'GET',
          requestId: `month-${i}`,
        }),
      );
      expect((await postLines(s, lines)).status).toBe(200);
      expect(await count(store, 'access_log')).toBe(150);
      expect(await count(store, 'dead_letters')).toBe(0);
      // The refused whole, then its two halves of 75 months each.
      expect(s.ingest.faulty.inserts).toBe(3);
      expect(s.ingest.pipeline.stats.insertErrors).toBe(0);
      expect(await readyz(s)).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('keeps a START_TIME between 1900 and 1970 as the time it says', async () => {
    const s = await serve(store);
    try {
      const ts = '1969-07-20T20:17:40.123Z';
      expect((await postLines(s, [istioLine({ ts, method: 'GET', requestId: 'moon' })])).status).toBe(200);
      const rows = await store.query<{ t: string }>(
        "SELECT toString(toUnixTimestamp64Milli(start_time)) AS t FROM access_log WHERE request_id = 'moon'",
      );
      expect(rows.map((r) => Number(r.t))).toEqual([Date.parse(ts)]);
      expect(await readyz(s)).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('dead letters', () => {
  it('are stored whatever they carry: unpaired surrogates, megabytes of raw text, out-of-range Kafka numbers', async () => {
    const s = await serve(store);
    try {
      // Over HTTP: a pod name with an unpaired surrogate (legal JSON) cannot go into a UTF-8 column.
      const k8s = kubernetesMeta({ namespace: 'shop', pod: 'checkout-\ud800' });
      const line = istioLine({ ts: '2024-05-01T10:00:00.000Z', method: 'GET', requestId: 'bad-pod' });
      const { body, headers } = fluentBody(
        [{ time: 1714557600, record: tailDockerRecord(line, k8s) }],
        'json_lines',
      );
      expect((await fetch(`${s.base}/v1/ingest/fluent-bit`, { method: 'POST', headers, body })).status).toBe(
        200,
      );
      // Straight into the pipeline the server uses: what other intake paths may hand it.
      s.ingest.pipeline.appendDeadLetter(
        `reason \udc00 ${'r'.repeat(10_000)}`,
        `\ud800${'x'.repeat(3 << 20)}`,
        {
          source: { source: 'kafka', namespace: 'n\ud800', pod: 'p', container: '', workload: '', node: '' },
          origin: 'o\udfff',
          kafka: { topic: 't\ud800', partition: 1e12, offset: 'not-a-number' },
        },
      );
      await s.ingest.pipeline.flush();
      expect(s.ingest.pipeline.stats.insertErrors).toBe(0);
      const dead = await store.query<{
        reason: string;
        k8s_pod: string;
        n: string;
        kafka_partition: number;
        kafka_offset: string;
      }>(
        'SELECT reason, k8s_pod, toString(length(raw)) AS n, kafka_partition, toString(kafka_offset) AS kafka_offset FROM dead_letters ORDER BY source',
      );
      expect(dead).toHaveLength(2);
      const [http, kafka] = [
        dead.find((d) => d.reason.startsWith('k8s_pod')),
        dead.find((d) => d.reason.startsWith('reason')),
      ];
      expect(http?.reason).toMatch(/^k8s_pod "checkout-\\ud800" is not a well-formed string/);
      expect(http?.k8s_pod).toBe('checkout-\ufffd');
      expect(kafka?.reason).toMatch(/\(raw cut to its first 1048576 of 3145729 characters\)$/);
      expect(Number(kafka?.n)).toBe(3 + (1 << 20) - 1); // U+FFFD is 3 bytes in UTF-8
      expect(kafka?.kafka_partition).toBe(2_147_483_647);
      expect(kafka?.kafka_offset).toBe('-1');
      expect(await count(store, 'access_log')).toBe(0);
      expect(await readyz(s)).toBe(200);
    } finally {
      await s.close();
    }
  });
});

describe('a row the engine refuses', () => {
  const batch = (n: number, poisonAt: number[]) =>
    Array.from({ length: n }, (_, i) =>
      poisonAt.includes(i)
        ? istioLine({
            ts: '2024-05-01T10:00:00.000Z',
            method: 'GET',
            path: '/engine-poison',
            requestId: `p-${i}`,
          })
        : istioLine({ ts: '2024-05-01T10:00:00.000Z', method: 'GET', path: '/ok', requestId: `r-${i}` }),
    );

  it('is isolated by splitting the batch: the rest is stored, the row is a dead letter with the engine reason', async () => {
    const s = await serve(new EnginePoisonStore(store));
    try {
      const res = await postLines(s, batch(200, [17, 150]));
      expect(res.status).toBe(200);
      expect(await count(store, 'access_log')).toBe(198);
      expect(await count(store, 'access_log', "path = '/engine-poison'")).toBe(0);
      const dead = await store.query<{ reason: string; raw: string; origin: string; source: string }>(
        'SELECT reason, raw, origin, source FROM dead_letters ORDER BY origin',
      );
      expect(dead).toHaveLength(2);
      for (const d of dead) {
        expect(d.reason).toMatch(
          /^the store refused the row: Code: 27\. .*CANNOT_PARSE_INPUT_ASSERTION_FAILED/,
        );
        expect(d.raw).toMatch(/"\/engine-poison".*"p-(17|150)"/);
        expect(d.origin).toMatch(/^batch .*, row (17|150)$/);
        expect(d.source).toBe('http');
      }
      expect(await readyz(s)).toBe(200);
      expect((await postLines(s, batch(10, []))).status).toBe(200);
      expect(await count(store, 'access_log')).toBe(208);
      expect(s.ingest.pipeline.stats.storedRows).toBe(208);
      expect(s.ingest.pipeline.stats.deadLetters).toBe(2);
    } finally {
      await s.close();
    }
  });

  it('stores every good row exactly once when an outage interrupts the split', async () => {
    const s = await serve(new EnginePoisonStore(store));
    try {
      // The whole batch is refused (nothing written), then the first half is written but its reply is lost:
      // the batch is retried, split the same way, and the half already stored is dropped by its token.
      s.ingest.faulty.loseReplies = 1;
      const res = await postLines(s, batch(64, [40]));
      expect(res.status).toBe(200);
      expect(s.ingest.faulty.loseReplies).toBe(0);
      expect(s.ingest.pipeline.stats.insertErrors).toBe(1);
      expect(await count(store, 'access_log')).toBe(63);
      expect(await count(store, 'access_log', "request_id LIKE 'r-%'")).toBe(63);
      expect(
        (await store.query<{ n: string }>('SELECT uniqExact(request_id) AS n FROM access_log')).map((r) =>
          Number(r.n),
        ),
      ).toEqual([63]);
      expect(await count(store, 'dead_letters')).toBe(1);
      expect(await readyz(s)).toBe(200);
    } finally {
      await s.close();
    }
  });
});

/**
 * The server backend's side of the same story. No modern ClickHouse server runs here (the test machine has
 * 18.16, which egresslens refuses), so ServerStore talks HTTP to a shim that runs each INSERT on the real
 * chDB engine (rows poisoned as above) and answers as ClickHouse 24.3 does: the engine's own message, HTTP
 * 500 and X-ClickHouse-Exception-Code. The engine's refusal thus reaches the pipeline through ServerStore's
 * real error path (status, header and body parsing) instead of chDB's exception text.
 */
describe('a row the engine refuses, on the server backend', () => {
  async function startShim(): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const search = new URL(req.url ?? '/', 'http://shim').searchParams;
        const query = search.get('query') ?? Buffer.concat(chunks).toString('utf8');
        try {
          if (query.startsWith('SELECT version()')) return res.end('{"v":"24.3.1.2672"}\n');
          const m = /^INSERT INTO `(\w+)` \(([^)]*)\) FORMAT (JSONEachRow|JSONCompactEachRow)$/.exec(query);
          if (!m?.[1] || !m[2] || !m[3]) return res.end('1\n');
          const token = search.get('insert_deduplication_token') ?? undefined;
          await store.insert(
            poisonRows({
              table: m[1],
              columns: m[2].split(', ').map((c) => c.replace(/`/g, '')),
              format: m[3] as 'JSONEachRow' | 'JSONCompactEachRow',
              body: Buffer.concat(chunks),
              dedupToken: token,
            }),
          );
          res.end('');
        } catch (err) {
          const code = clickHouseErrorCode(err) ?? 1001;
          res.writeHead(500, { 'X-ClickHouse-Exception-Code': String(code) });
          res.end(`${(err as Error).message} (version 24.3.1.2672)\n`);
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return {
      url: `http://127.0.0.1:${port}`,
      close: async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      },
    };
  }

  it('splits the batch until the refused row stands alone; the rest is stored', async () => {
    const shim = await startShim();
    const server = await openServerStore({
      url: shim.url,
      retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 },
    });
    const pipeline = new IngestPipeline(server, {
      ...DEFAULT_PIPELINE_OPTIONS,
      retryBaseMs: 10,
      retryMaxMs: 50,
      tokenPrefix: 'server-backend',
    });
    try {
      const lines = Array.from({ length: 40 }, (_, i) =>
        istioLine({
          ts: '2024-05-01T10:00:00.000Z',
          method: 'GET',
          path: i === 29 ? '/engine-poison' : '/ok',
          requestId: `s-${i}`,
        }),
      );
      const buf = Buffer.from(`${lines.join('\n')}\n`);
      const ctx = {
        source: { source: 'server', namespace: '', pod: '', container: '', workload: '', node: '' },
        origin: 'test',
      };
      for (let start = 0; start < buf.length; ) {
        const nl = buf.indexOf(10, start);
        pipeline.appendLine(buf, start, nl, ctx);
        start = nl + 1;
      }
      await pipeline.flush();
      expect(await count(store, 'access_log')).toBe(39);
      const dead = await store.query<{ reason: string; origin: string }>(
        'SELECT reason, origin FROM dead_letters',
      );
      expect(dead).toEqual([
        {
          reason: expect.stringMatching(
            /^the store refused the row: ClickHouse at http:\/\/127\.0\.0\.1:\d+ failed \(HTTP 500, code 27\): Cannot parse input/,
          ),
          origin: 'batch server-backend:0, row 29',
        },
      ]);
      expect(pipeline.stats.insertErrors).toBe(0);
      expect(pipeline.state).toBe('ok');
    } finally {
      await pipeline.close(5000);
      await server.close();
      await shim.close();
    }
  });
});
