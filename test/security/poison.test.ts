/**
 * Poison lines against a served instance (buildServer + listen on loopback, requests over real sockets, the
 * embedded store): each class of value a column cannot hold goes to dead_letters with a reason naming the
 * field, and a good batch sent right after it is stored; /readyz stays 200 and intake keeps answering 2xx.
 * Then the encoder's checks are bypassed, so that the engine itself refuses a row, to show the batch is split
 * until that row stands alone, also when an outage interrupts the split.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import type { InsertRequest, QueryOptions, ReadOnlyLimits, Store } from '../../store/store.js';
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
class EnginePoisonStore implements Store {
  readonly kind: Store['kind'];
  constructor(private readonly inner: Store) {
    this.kind = inner.kind;
  }
  insert(req: InsertRequest): Promise<void> {
    if (req.table !== 'access_log') return this.inner.insert(req);
    const rows = req.body
      .toString('utf8')
      .split('\n')
      .map((row) =>
        row.includes('"/engine-poison"')
          ? row.replace(/^(\[[^,]*,"GET","\/engine-poison","[^"]*",)\d+/, '$11e+300')
          : row,
      );
    return this.inner.insert({ ...req, body: Buffer.from(rows.join('\n')) });
  }
  migrate(): Promise<void> {
    return this.inner.migrate();
  }
  query<T>(sql: string, opts?: QueryOptions): Promise<T[]> {
    return this.inner.query<T>(sql, opts);
  }
  queryReadOnly(sql: string, limits: ReadOnlyLimits): Promise<Record<string, unknown>[]> {
    return this.inner.queryReadOnly(sql, limits);
  }
  command(sql: string): Promise<void> {
    return this.inner.command(sql);
  }
  ping(): Promise<boolean> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Served {
  ingest: IngestApp;
  base: string;
  close(): Promise<void>;
}

async function serve(over: Store): Promise<Served> {
  const ingest = await startIngestApp(over, { flags: { ingest: { flushIntervalMs: 20 } } });
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
    const s = await serve(store);
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
