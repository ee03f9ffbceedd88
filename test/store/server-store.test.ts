import http from 'node:http';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ClickHouseServerError,
  compareVersions,
  openServerStore,
  parseServerVersion,
  type ServerStore,
} from '../../store/server-store.js';
import { QueryRefusedError } from '../../store/sql-guard/errors.js';
import { DEFAULT_READONLY_LIMITS, StoreConfigError, StoreUnavailableError } from '../../store/store.js';
import { startClickHouse, type TestClickHouse } from '../helpers/clickhouse-server.js';

const TOO_OLD =
  'is too old: egresslens needs 23.8 or newer (DateTime64, LowCardinality, codecs, TTL, query parameters, insert deduplication tokens)';

/** n JSONEachRow rows for `t (ts DateTime, host String, code UInt16)`, one second apart. */
function encodeRows(n: number, startSecond = 0): Buffer {
  const base = Date.UTC(2024, 0, 1) / 1000;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const ts = new Date((base + startSecond + i) * 1000).toISOString().slice(0, 19).replace('T', ' ');
    lines.push(JSON.stringify({ ts, host: `host-${i % 50}.example.com`, code: [200, 404, 503][i % 3] }));
  }
  return Buffer.from(lines.join('\n') + '\n');
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('parseServerVersion', () => {
  it('parses the shapes version() returns', () => {
    expect(parseServerVersion('18.16.1')).toEqual([18, 16, 1]);
    expect(parseServerVersion('23.8.9.54\n')).toEqual([23, 8, 9, 54]);
    expect(parseServerVersion('24.3.1.2672-lts')).toEqual([24, 3, 1, 2672]);
    expect(parseServerVersion('"25.1"')).toEqual([25, 1]);
    expect(() => parseServerVersion('<html>')).toThrow(/Cannot parse a ClickHouse server version/);
  });

  it('compares component-wise', () => {
    expect(compareVersions([18, 16, 1], [23, 8])).toBeLessThan(0);
    expect(compareVersions([23, 8], [23, 8, 0])).toBe(0);
    expect(compareVersions([23, 10, 1], [23, 8])).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// A stub HTTP server that answers like a modern ClickHouse: it covers what 18.16 cannot show (dedup tokens,
// query parameters, the migration path) and failure shapes that are hard to provoke on a real server.

interface SeenRequest {
  query: string;
  search: URLSearchParams;
  /** The insert payload when the query travelled in the URL; '' otherwise. */
  data: Buffer;
}
type Reply = { status?: number; body?: string; headers?: Record<string, string> } | 'hang';

interface Stub {
  url: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

async function startStub(
  version: string,
  handler: (r: SeenRequest, n: number) => Reply | undefined,
): Promise<Stub> {
  const requests: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const search = new URL(req.url ?? '/', 'http://stub').searchParams;
      const raw = Buffer.concat(chunks);
      const inUrl = search.get('query');
      const seen: SeenRequest = {
        query: inUrl ?? raw.toString('utf8'),
        search,
        data: inUrl !== null ? raw : Buffer.alloc(0),
      };
      requests.push(seen);
      const reply: Reply = seen.query.startsWith('SELECT version()')
        ? { body: version.startsWith('<') ? version : JSON.stringify({ v: version }) + '\n' }
        : (handler(seen, requests.length) ?? {});
      if (reply === 'hang') return;
      res.writeHead(reply.status ?? 200, reply.headers ?? {});
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('ServerStore against a stub of a modern ClickHouse', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  async function setup(
    version: string,
    handler: (r: SeenRequest, n: number) => Reply | undefined = () => undefined,
  ) {
    const stub = await startStub(version, handler);
    cleanup.push(() => stub.close());
    const store = await openServerStore({
      url: stub.url,
      username: 'egress',
      password: 'pw',
      requestTimeoutMs: 300,
      retry: { attempts: 4, baseDelayMs: 20, maxDelayMs: 50 },
    });
    cleanup.push(() => store.close());
    const inserts = () => stub.requests.filter((r) => r.query.startsWith('INSERT INTO `t`'));
    return { stub, store, inserts };
  }

  it('sends the body byte for byte with the column list, and the dedup token on >= 22.2', async () => {
    const { store, inserts } = await setup('24.3.1.2672');
    expect(store.serverVersion).toBe('24.3.1.2672');
    const body = Buffer.from('{"a":1,"offset":"x"}\n{"a":2,"offset":"ü\\n"}\n');
    await store.insert({
      table: 't',
      body,
      format: 'JSONEachRow',
      columns: ['a', 'offset'],
      dedupToken: 'tok-1',
    });
    await store.insert({ table: 't', body, format: 'JSONCompactEachRow' });
    const [first, second] = inserts();
    expect(first?.query).toBe('INSERT INTO `t` (`a`, `offset`) FORMAT JSONEachRow');
    expect(first?.data.equals(body)).toBe(true);
    expect(first?.search.get('insert_deduplication_token')).toBe('tok-1');
    expect(second?.query).toBe('INSERT INTO `t` FORMAT JSONCompactEachRow');
    expect(second?.search.has('insert_deduplication_token')).toBe(false);
  });

  it('binds query parameters server-side (param_*) and passes settings', async () => {
    const { store, stub } = await setup('23.8.9.54', (r) =>
      r.query.includes('{host:String}')
        ? { body: '{"h":"x\'; DROP TABLE t --","n":"18446744073709551615"}\n' }
        : undefined,
    );
    const rows = await store.query<{ h: string; n: string }>('SELECT {host:String} AS h, {n:UInt64} AS n;', {
      params: { host: "x'; DROP TABLE t --", n: '18446744073709551615' },
      settings: { max_execution_time: 5, readonly: 2 },
    });
    expect(rows).toEqual([{ h: "x'; DROP TABLE t --", n: '18446744073709551615' }]);
    const req = stub.requests.at(-1)!;
    expect(req.query).toBe('SELECT {host:String} AS h, {n:UInt64} AS n\nFORMAT JSONEachRow');
    // The value travels as data; the client escapes it in ClickHouse's text format (' → \').
    expect(req.search.get('param_host')).toBe("x\\'; DROP TABLE t --");
    expect(req.search.get('param_n')).toBe('18446744073709551615');
    expect(req.search.get('max_execution_time')).toBe('5');
    expect(req.search.get('readonly')).toBe('2');
  });

  it('migrate() runs the migrations on >= 23.8, once', async () => {
    const applied: number[] = [];
    const { store, stub } = await setup('23.8.9.54', (r) => {
      if (r.query.startsWith('SELECT version FROM schema_migrations'))
        return { body: applied.map((v) => `{"version":${v}}\n`).join('') };
      const m = /^INSERT INTO schema_migrations \(version, name\) SETTINGS .* VALUES \((\d+),/.exec(r.query);
      if (m) applied.push(Number(m[1]));
      return undefined;
    });
    const stmts = () => stub.requests.map((r) => r.query).filter((q) => !q.startsWith('SELECT version()'));
    const ttlStore = await openServerStore({ url: stub.url, ttlDays: 30 });
    cleanup.push(() => ttlStore.close());
    await ttlStore.migrate();
    const first = stmts();
    expect(first[0]).toMatch(/^CREATE TABLE IF NOT EXISTS schema_migrations/);
    expect(first[1]).toMatch(/^SELECT version FROM schema_migrations\nFORMAT JSONEachRow$/);
    expect(first[2]).toMatch(/^CREATE TABLE IF NOT EXISTS access_log/);
    expect(first[2]).toContain('TTL toDateTime(start_time) + INTERVAL 30 DAY');
    expect(first[3]).toMatch(/^CREATE TABLE IF NOT EXISTS dead_letters/);
    expect(first[4]).toMatch(/^INSERT INTO schema_migrations \(version, name\) SETTINGS .* VALUES \(1, /);
    expect(first[5]).toMatch(/^CREATE TABLE IF NOT EXISTS report_runs/);
    expect(first[6]).toMatch(/^INSERT INTO schema_migrations \(version, name\) SETTINGS .* VALUES \(2, /);
    expect(first[7]).toMatch(/^CREATE VIEW IF NOT EXISTS egress_requests AS/);
    expect(first[8]).toMatch(/^INSERT INTO schema_migrations \(version, name\) SETTINGS .* VALUES \(3, /);
    expect(first).toHaveLength(9);
    stub.requests.length = 0;
    await store.migrate();
    expect(stmts()).toHaveLength(2); // CREATE schema_migrations IF NOT EXISTS + the version read
  });

  it('in cluster mode, migrate() creates every table ON CLUSTER and inserts wait for the shards', async () => {
    const applied: number[] = [];
    const stub = await startStub('24.8.4.13', (r) => {
      if (r.query.startsWith('SELECT version FROM schema_migrations'))
        return { body: applied.map((v) => `{"version":${v}}\n`).join('') };
      const m = /^INSERT INTO schema_migrations \(version, name\) SETTINGS .* VALUES \((\d+),/.exec(r.query);
      if (m) applied.push(Number(m[1]));
      return undefined;
    });
    cleanup.push(() => stub.close());
    const store = await openServerStore({ url: stub.url, database: 'egress', cluster: { name: 'fleet' } });
    cleanup.push(() => store.close());
    await store.migrate();
    const ddl = stub.requests.map((r) => r.query).filter((q) => q.startsWith('CREATE TABLE'));
    expect(ddl.map((q) => /^CREATE TABLE IF NOT EXISTS (\S+) ON CLUSTER `fleet`/.exec(q)?.[1])).toEqual([
      'schema_migrations',
      'access_log_local',
      'access_log',
      'dead_letters_local',
      'dead_letters',
      'report_runs_local',
      'report_runs',
    ]);
    expect(stub.requests.map((r) => r.query).find((q) => q.startsWith('CREATE VIEW'))).toMatch(
      /^CREATE VIEW IF NOT EXISTS egress_requests ON CLUSTER `fleet` AS/,
    );
    expect(ddl[0]).toContain(
      "ReplicatedMergeTree('/clickhouse/egresslens/{database}/schema_migrations', '{shard}-{replica}')",
    );
    expect(ddl[1]).toContain(
      "ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}')",
    );
    expect(ddl[2]).toContain("ENGINE = Distributed('fleet', 'egress', 'access_log_local', cityHash64(");
    await store.insert({
      table: 'access_log',
      body: Buffer.from('{"a":1}\n'),
      format: 'JSONEachRow',
      dedupToken: 'batch-7',
    });
    const insert = stub.requests.find((r) => r.query.startsWith('INSERT INTO `access_log`'))!;
    expect(insert.search.get('insert_distributed_sync')).toBe('1');
    expect(insert.search.get('insert_deduplication_token')).toBe('batch-7');
  });

  it('retries 503s and then succeeds', async () => {
    let failures = 0;
    const { store, inserts } = await setup('24.3.1', (r) => {
      if (r.query.startsWith('INSERT') && failures++ < 2) return { status: 503, body: 'upstream overloaded' };
      return undefined;
    });
    await store.insert({
      table: 't',
      body: Buffer.from('{"a":1}\n'),
      format: 'JSONEachRow',
      dedupToken: 'b7',
    });
    expect(inserts()).toHaveLength(3);
    expect(inserts().map((r) => r.search.get('insert_deduplication_token'))).toEqual(['b7', 'b7', 'b7']);
  });

  it('retries a request that times out, with the same dedup token', async () => {
    const { store, inserts } = await setup('24.3.1', (r, n) =>
      r.query.startsWith('INSERT') && n === 2 ? 'hang' : undefined,
    );
    const t0 = Date.now();
    await store.insert({
      table: 't',
      body: Buffer.from('{"a":1}\n'),
      format: 'JSONEachRow',
      dedupToken: 'b8',
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(inserts().map((r) => r.search.get('insert_deduplication_token'))).toEqual(['b8', 'b8']);
  });

  it('gives up with StoreUnavailableError when the overload lasts', async () => {
    const { store, inserts } = await setup('24.3.1', (r) =>
      r.query.startsWith('INSERT')
        ? {
            status: 500,
            body: 'Code: 202. DB::Exception: Too many simultaneous queries. Maximum: 100. (TOO_MANY_SIMULTANEOUS_QUERIES) (version 24.3.1.1)\n',
          }
        : undefined,
    );
    const err = await rejectionOf(
      store.insert({ table: 't', body: Buffer.from('{"a":1}\n'), format: 'JSONEachRow' }),
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(
      /^ClickHouse at http:\/\/127\.0\.0\.1:\d+ is unavailable: insert into t failed after 4 attempts \(last error: HTTP 500, code 202: Too many simultaneous queries\. Maximum: 100\.\)$/,
    );
    expect(inserts()).toHaveLength(4);
  });

  it('fails at once, without retries, on credentials revoked after open (401)', async () => {
    const { store, inserts } = await setup('24.3.1', (r) =>
      r.query.startsWith('INSERT')
        ? {
            status: 401,
            body: 'Code: 516. DB::Exception: egress: Authentication failed: password is incorrect, or there is no user with such name. (AUTHENTICATION_FAILED) (version 24.3.1.2672 (official build))\n',
          }
        : undefined,
    );
    const err = await rejectionOf(
      store.insert({ table: 't', body: Buffer.from('{"a":1}\n'), format: 'JSONEachRow' }),
    );
    expect(err).toBeInstanceOf(StoreConfigError);
    expect(err.message).toMatch(
      /^ClickHouse at http:\/\/127\.0\.0\.1:\d+ rejected the credentials for user "egress": egress: Authentication failed: password is incorrect, or there is no user with such name\.$/,
    );
    expect(inserts()).toHaveLength(1);
  });

  it('does not retry ordinary server errors', async () => {
    const { store, inserts } = await setup('24.3.1', () => ({
      status: 404,
      body: 'Code: 60. DB::Exception: Table default.t does not exist. (UNKNOWN_TABLE) (version 24.3.1.1)\n',
      headers: { 'X-ClickHouse-Exception-Code': '60' },
    }));
    const err = await rejectionOf(
      store.insert({ table: 't', body: Buffer.from('{"a":1}\n'), format: 'JSONEachRow' }),
    );
    expect(err).toBeInstanceOf(ClickHouseServerError);
    expect((err as ClickHouseServerError).code).toBe(60);
    expect(err.message).toMatch(/failed \(HTTP 404, code 60\): Table default\.t does not exist\.$/);
    expect(inserts()).toHaveLength(1);
  });

  it('refuses at open an endpoint that is not ClickHouse', async () => {
    const stub = await startStub('<html>hello</html>', () => undefined);
    cleanup.push(() => stub.close());
    const err = await rejectionOf(openServerStore({ url: stub.url }));
    expect(err).toBeInstanceOf(StoreConfigError);
    expect(err.message).toBe(
      `${stub.url} does not look like a ClickHouse server: SELECT version() returned a line that is not JSON: "<html>hello</html>"`,
    );
  });

  it('close() ends a retry loop at once', async () => {
    const port = await freePort();
    const store = await openServerStore({
      url: `http://127.0.0.1:${port}`,
      retry: { attempts: 100, baseDelayMs: 1000, maxDelayMs: 5000 },
    });
    const pending = rejectionOf(
      store.insert({ table: 't', body: Buffer.from('{"a":1}\n'), format: 'JSONEachRow' }),
    );
    await sleep(100);
    const t0 = Date.now();
    await store.close();
    const err = await pending;
    expect(Date.now() - t0).toBeLessThan(200);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toBe(
      `ClickHouse store for http://127.0.0.1:${port} was closed while retrying insert into t`,
    );
  });

  it('counts every try, including the first: a socket that is reset on accept', async () => {
    let connections = 0;
    const srv = net.createServer((sock) => {
      connections++;
      sock.destroy();
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => srv.close(() => resolve())));
    const { port } = srv.address() as net.AddressInfo;
    const store = await openServerStore({
      url: `http://127.0.0.1:${port}`,
      retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 20 },
    });
    cleanup.push(() => store.close());
    expect(connections).toBe(1); // the version probe at open: one try, and open still succeeds
    expect(store.serverVersion).toBeUndefined();
    const err = await rejectionOf(
      store.insert({ table: 't', body: Buffer.from('{"a":1}\n'), format: 'JSONEachRow' }),
    );
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err.message).toMatch(
      /insert into t failed after 3 attempts \(last error: .*(socket hang up|ECONNRESET)/,
    );
    expect(connections).toBe(4);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('ServerStore against Debian clickhouse-server 18.16', () => {
  let server: TestClickHouse;
  let admin: ServerStore;
  let store: ServerStore;
  const db = `egresslens_test_${Date.now()}_${process.pid}`;
  const fast = { attempts: 3, baseDelayMs: 50, maxDelayMs: 200 };
  const count = async (table: string) =>
    (await store.query<{ n: string }>(`SELECT count() AS n FROM ${table}`))[0]?.n;

  beforeAll(async () => {
    server = await startClickHouse(); // may apt-install clickhouse-server on a fresh machine
    admin = await openServerStore({ url: server.url, retry: fast });
    await admin.command(`CREATE DATABASE ${db}`);
    store = await openServerStore({ url: server.url, database: db, retry: fast });
    for (const t of ['t', 't_egress', 't_recover'])
      await store.command(
        `CREATE TABLE ${t} (ts DateTime, host String, code UInt16) ENGINE = MergeTree ORDER BY ts`,
      );
  }, 300_000);

  afterAll(async () => {
    await admin?.command(`DROP DATABASE IF EXISTS ${db}`).catch(() => {});
    await store?.close();
    await admin?.close();
    await server?.stopIfStarted();
  }, 120_000);

  it('detects the version at open', () => {
    expect(store.serverVersion).toBe('18.16.1');
  });

  it('inserts a 10,000-row JSONEachRow buffer exactly (dedup token skipped on 18.16)', async () => {
    const body = encodeRows(10_000);
    await store.insert({
      table: 't',
      body,
      format: 'JSONEachRow',
      columns: ['ts', 'host', 'code'],
      dedupToken: 'b-1',
    });
    expect(await count('t')).toBe('10000'); // UInt64 arrives as a JSON string
    const [agg] = await store.query<{ hosts: string; s: string; first: string }>(
      'SELECT uniqExact(host) AS hosts, sum(code) AS s, toString(min(ts)) AS first FROM t',
    );
    expect(agg).toEqual({
      hosts: '50',
      s: String(3334 * 200 + 3333 * 404 + 3333 * 503),
      first: '2024-01-01 00:00:00',
    });
  });

  it('refuses user SQL it cannot check (18.16 has no formatQuery or EXPLAIN), before any of it runs', async () => {
    for (const sql of [
      'SELECT 1',
      "SELECT file('/etc/passwd')",
      "SELECT 1 INTO OUTFILE '/tmp/egresslens-x'",
    ]) {
      const err = await rejectionOf(store.queryReadOnly(sql, DEFAULT_READONLY_LIMITS));
      expect(err, sql).toBeInstanceOf(QueryRefusedError);
      expect((err as QueryRefusedError).code).toBe('unverifiable');
      expect((err as QueryRefusedError).reason).toMatch(
        /on ClickHouse 18\.16\.1: POST \/v1\/query needs 23\.10 or newer/,
      );
    }
  });

  it('rejects a format 18.16 does not know, without retrying', async () => {
    const t0 = Date.now();
    const err = await rejectionOf(
      store.insert({
        table: 't',
        body: Buffer.from('["2024-01-01 00:00:00","h",1]\n'),
        format: 'JSONCompactEachRow',
      }),
    );
    expect(err).toBeInstanceOf(ClickHouseServerError);
    expect(err.message).toBe(
      `ClickHouse at ${server.url} failed (HTTP 404, code 73): Unknown format JSONCompactEachRow`,
    );
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('retries connection refused and then throws StoreUnavailableError', async () => {
    const port = await freePort();
    const dead = await openServerStore({
      url: `http://127.0.0.1:${port}`,
      retry: { attempts: 4, baseDelayMs: 40, maxDelayMs: 100 },
    });
    try {
      expect(await dead.ping()).toBe(false);
      const t0 = Date.now();
      const err = await rejectionOf(dead.insert({ table: 't', body: encodeRows(3), format: 'JSONEachRow' }));
      const elapsed = Date.now() - t0;
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(err.message).toBe(
        `ClickHouse at http://127.0.0.1:${port} is unavailable: insert into t failed after 4 attempts ` +
          `(last error: connect ECONNREFUSED 127.0.0.1:${port})`,
      );
      expect(elapsed).toBeGreaterThanOrEqual(110 - 5); // 20–40 + 40–80 + 50–100 ms of backoff
      expect(elapsed).toBeLessThan(3000);
    } finally {
      await dead.close();
    }
  });

  it('fails fast with StoreConfigError on a wrong password or an unknown user', async () => {
    const slow = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 5000 };
    let t0 = Date.now();
    let err = await rejectionOf(
      openServerStore({ url: server.url, username: 'egress', password: 'wrong', retry: slow }),
    );
    expect(err).toBeInstanceOf(StoreConfigError);
    expect(err.message).toBe(
      `ClickHouse at ${server.url} rejected the credentials for user "egress": Wrong password for user egress`,
    );
    expect(Date.now() - t0).toBeLessThan(900);
    t0 = Date.now();
    err = await rejectionOf(
      openServerStore({ url: server.url, username: 'nobody', password: 'x', retry: slow }),
    );
    expect(err).toBeInstanceOf(StoreConfigError);
    expect(err.message).toBe(
      `ClickHouse at ${server.url} rejected the credentials for user "nobody": Unknown user nobody`,
    );
    expect(Date.now() - t0).toBeLessThan(900);
  });

  it('works with the right password', async () => {
    const egress = await openServerStore({
      url: server.url,
      username: 'egress',
      password: 'egress-test-password',
      database: db,
      retry: fast,
    });
    try {
      const who = await egress.query<{ user: string }>(
        "SELECT user FROM system.processes WHERE query LIKE '%whoami-6f1c%'",
      );
      expect(who).toEqual([{ user: 'egress' }]);
      await egress.insert({ table: 't_egress', body: encodeRows(25), format: 'JSONEachRow' });
      expect(await count('t_egress')).toBe('25');
      expect(await egress.ping()).toBe(true);
    } finally {
      await egress.close();
    }
  });

  it('fails at open with StoreConfigError when the database does not exist', async () => {
    const err = await rejectionOf(
      openServerStore({ url: server.url, database: `${db}_missing`, retry: fast }),
    );
    expect(err).toBeInstanceOf(StoreConfigError);
    expect(err.message).toBe(
      `ClickHouse at ${server.url} refused "SELECT version()" (HTTP 404, code 81): Database ${db}_missing doesn't exist`,
    );
  });

  it('migrate() refuses a server older than MIN_SERVER_VERSION and creates nothing', async () => {
    const err = await rejectionOf(store.migrate());
    expect(err).toBeInstanceOf(StoreConfigError);
    expect(err.message).toBe(`ClickHouse server 18.16.1 at ${server.url} ${TOO_OLD}`);
    const tables = await store.query<{ name: string }>(
      `SELECT name FROM system.tables WHERE database = '${db}' ORDER BY name`,
    );
    expect(tables.map((t) => t.name)).toEqual(['t', 't_egress', 't_recover']);
  });

  it('query() passes settings; ping() answers', async () => {
    const [row] = await store.query<{ value: string }>(
      "SELECT value FROM system.settings WHERE name = 'max_block_size'",
      { settings: { max_block_size: 12345 } },
    );
    expect(row).toEqual({ value: '12345' });
    const t0 = Date.now();
    const err = await rejectionOf(
      store.query('SELECT number FROM system.numbers LIMIT 100;', {
        settings: { max_result_rows: 5, result_overflow_mode: 'throw' },
      }),
    );
    expect(err).toBeInstanceOf(ClickHouseServerError);
    expect((err as ClickHouseServerError).code).toBe(396);
    expect(err.message).toMatch(/Limit for result exceeded, max rows: 5\.00/);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(await store.ping()).toBe(true);
    await store.command('SELECT 1');
  });

  it('refuses {name:Type} parameters on 18.16 instead of interpolating them', async () => {
    const err = await rejectionOf(store.query('SELECT {n:UInt8} AS n', { params: { n: 1 } }));
    expect(err).toBeInstanceOf(StoreConfigError);
    expect(err.message).toBe(
      `ClickHouse server 18.16.1 at ${server.url} has no query parameters ({name:Type} needs 19.11 or newer; egresslens needs 23.8 or newer)`,
    );
  });

  it('recovers: an insert started while the server is down lands once after it comes back', async () => {
    await server.stop();
    // Opened while down: open succeeds, the version is read lazily once the server is back.
    const patient = await openServerStore({
      url: server.url,
      database: db,
      retry: { attempts: 60, baseDelayMs: 100, maxDelayMs: 1000 },
    });
    try {
      expect(patient.serverVersion).toBeUndefined();
      expect(await patient.ping()).toBe(false);
      let settled = false;
      const outcome = patient
        .insert({ table: 't_recover', body: encodeRows(777), format: 'JSONEachRow', dedupToken: 'recover-1' })
        .then(
          () => null,
          (err: unknown) => err,
        )
        .finally(() => {
          settled = true;
        });
      await sleep(1500);
      expect(settled).toBe(false); // still retrying
      await server.start();
      expect(await outcome).toBeNull();
      expect(patient.serverVersion).toBe('18.16.1');
      expect(await count('t_recover')).toBe('777');
    } finally {
      await patient.close();
      await server.start(); // a no-op when it is up; brings it back if the test failed in between
    }
  }, 120_000);
});
