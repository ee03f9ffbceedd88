/**
 * The Store on a ClickHouse server, over HTTP with @clickhouse/client.
 *
 * Every request goes through `client.exec` with `ignore_error_response`, so this file sees the HTTP status
 * and the raw error body itself. The client's own error path drops the status, and its error parser does
 * not recognise the pre-20.x "Code: N, e.displayText() = …" format. Knowing the status is how a proxy's
 * 502/503/504 is told apart from a ClickHouse error.
 *
 * Inserts send `req.body` as it is: a non-object-mode Readable of the Buffer, `INSERT … FORMAT X` in the URL.
 * `client.insert` would not do: for JSON formats it wants an object-mode stream and re-encodes every row.
 *
 * The server version is read once, at open (a single try, so a server that is down does not block
 * startup) or lazily before the first operation that depends on it. It decides whether
 * `insert_deduplication_token` may be sent (an unknown setting fails the whole insert on old servers),
 * whether `{name:Type}` parameters exist, and whether `migrate()` may run.
 */
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  createClient,
} from '@clickhouse/client';
import { applyMigrations, MIN_SERVER_VERSION, type MigrateSettings } from './schema.js';
import { QueryRefusedError, SERVER_FAULT_CODES, UserQueryError } from './sql-guard/errors.js';
import {
  CHECK_SETTINGS,
  checkUserSql,
  PREPARE_SQL,
  RUN_AST_SETTINGS,
  type SqlExplainer,
} from './sql-guard/guard.js';
import {
  type InsertFormat,
  type InsertRequest,
  type QueryOptions,
  type ReadOnlyLimits,
  type Store,
  StoreConfigError,
  StoreUnavailableError,
} from './store.js';
import { type ClusterOptions, DEFAULT_CLUSTER_PATHS } from './table-ddl.js';

export interface RetryOptions {
  /** Total tries, the first one included (1 = no retry). */
  attempts: number;
  /** Delay before the 2nd try; doubles per try, with jitter (each delay lies between half and all of it). */
  baseDelayMs: number;
  /** Upper bound for one delay. */
  maxDelayMs: number;
}

export interface ServerStoreOptions {
  /** http(s)://host:port; credentials and a database may also be in the URL (the client's rules). */
  url: string;
  username?: string;
  password?: string;
  database?: string;
  /**
   * A separate, read-only server user for POST /v1/query (GRANT SELECT on the database only, a readonly=1 profile
   * that holds the limits). When set, user SQL runs as this user and egresslens sends it no settings, because a
   * readonly=1 user may not change any.
   */
  readUsername?: string;
  readPassword?: string;
  /** Passed to the schema (TTL); undefined keeps everything. */
  ttlDays?: number;
  /**
   * A ClickHouse cluster (its name in `remote_servers`): tables are created ON CLUSTER as Replicated
   * MergeTree on every shard with a Distributed table of the same name over them, which intake writes to
   * and reports read from. The Keeper paths default to DEFAULT_CLUSTER_PATHS.
   */
  cluster?: { name: string } & Partial<Omit<ClusterOptions, 'name' | 'database'>>;
  /** One HTTP request's timeout; default 30 s. A timed-out request is retried. */
  requestTimeoutMs?: number;
  retry?: RetryOptions;
}

export const DEFAULT_RETRY: Readonly<RetryOptions> = { attempts: 5, baseDelayMs: 200, maxDelayMs: 5000 };
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** The first release with the `insert_deduplication_token` setting (ClickHouse PR #32304). */
export const DEDUP_TOKEN_MIN_VERSION = [22, 2] as const;
/** The first release with formatQuery(), which the query checker (store/sql-guard) parses user SQL with. */
export const GUARD_MIN_VERSION = [23, 10] as const;
/** The first release with `{name:Type}` query parameters over HTTP (`param_*`). */
export const QUERY_PARAMS_MIN_VERSION = [19, 11] as const;

const INSERT_FORMATS: ReadonlySet<InsertFormat> = new Set<InsertFormat>([
  'JSONEachRow',
  'JSONCompactEachRow',
]);

/** A statement the server rejected for a reason a retry will not cure (syntax, unknown table, bad data …). */
export class ClickHouseServerError extends Error {
  override name = 'ClickHouseServerError';
  constructor(
    message: string,
    /** The ClickHouse error code (e.g. 60 for an unknown table), when the body carried one. */
    readonly code: number | undefined,
    readonly httpStatus: number | undefined,
    /** The server's own words, without the "ClickHouse at … failed" prefix. */
    readonly serverMessage: string = message,
  ) {
    super(message);
  }
}

/** Internal marker: this attempt failed in a way a retry may cure. */
class RetryableError extends Error {
  override name = 'RetryableError';
}

/** '18.16.1' → [18, 16, 1]; '23.8.9.54' → [23, 8, 9, 54]; '24.3.1.2672-lts' → [24, 3, 1, 2672]. */
export function parseServerVersion(text: string): number[] {
  const cleaned = text
    .trim()
    .replace(/^["']|["']$/g, '')
    .replace(/^v/i, '');
  const m = /^(\d+(?:\.\d+)*)/.exec(cleaned);
  if (!m?.[1])
    throw new Error(`Cannot parse a ClickHouse server version from ${JSON.stringify(text.slice(0, 100))}`);
  return m[1].split('.').map(Number);
}

/** Negative, zero or positive like a comparator; missing components count as 0. */
export function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

const atLeast = (v: readonly number[], min: readonly number[]) => compareVersions(v, min) >= 0;

/** Node/socket error codes that mean "the request did not get through; try again". */
const RETRYABLE_NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

/** ClickHouse error codes for overload and transient trouble. */
const RETRYABLE_CLICKHOUSE_CODES = new Set([
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  242, // TABLE_IS_READ_ONLY (replica lost its Keeper session)
  252, // TOO_MANY_PARTS
  319, // UNKNOWN_STATUS_OF_INSERT
  999, // KEEPER_EXCEPTION
]);

/** 192 UNKNOWN_USER, 193 WRONG_PASSWORD, 194 REQUIRED_PASSWORD, 516 AUTHENTICATION_FAILED. */
const AUTH_CLICKHOUSE_CODES = new Set([192, 193, 194, 516]);

const RETRYABLE_HTTP_STATUSES = new Set([429, 502, 503, 504]);

/** Pulls the code and the human part out of an error body, old ("Code: 193, e.displayText() = DB::Exception:
 *  Wrong password for user egress, e.what() = DB::Exception") or new ("Code: 516. DB::Exception: …
 *  (AUTHENTICATION_FAILED) (version 24.3.1.1)"). */
function parseErrorBody(
  body: string,
  header: string | undefined,
): { code: number | undefined; message: string } {
  const headerCode = header !== undefined && /^\d+$/.test(header.trim()) ? Number(header.trim()) : undefined;
  const codeMatch = /Code: (\d+)/.exec(body);
  const code = headerCode ?? (codeMatch?.[1] ? Number(codeMatch[1]) : undefined);
  let message = body;
  const exc = /DB::Exception: ([\s\S]*)$/.exec(body);
  if (exc?.[1]) message = exc[1];
  message = message
    .replace(/,\s*e\.what\(\) = [\s\S]*$/, '')
    .replace(/\s*\(version [\s\S]*\)\s*$/, '')
    .replace(/\s*\([A-Z][A-Z0-9_]{2,}\)\s*$/, '')
    .trim();
  if (message.length > 1000) message = `${message.slice(0, 1000)}…`;
  if (message === '') message = '(empty response body)';
  return { code, message };
}

/** http://user:pw@host:8123/db?x=1 → http://host:8123/db (never put a password into an error message). */
function displayUrl(raw: string): string {
  try {
    const u = new URL(raw);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return raw;
  }
}

function displayUser(opts: ServerStoreOptions): string {
  if (opts.username !== undefined) return opts.username;
  try {
    const u = new URL(opts.url).username;
    if (u) return decodeURIComponent(u);
  } catch {
    // the client reports a malformed URL itself
  }
  return 'default';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

function quoteIdent(name: string): string {
  if (!IDENT.test(name)) throw new Error(`Invalid ClickHouse identifier ${JSON.stringify(name)}`);
  return '`' + name + '`';
}

/** 'access_log' or 'db.access_log'. */
function quoteTable(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}

/** Trailing whitespace and semicolons would break the FORMAT clause appended after the statement. */
function trimSql(sql: string): string {
  return sql.trim().replace(/[;\s]+$/, '');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}

function errorText(err: unknown): string {
  // Node's happy-eyeballs connect (several addresses) fails with an AggregateError and an empty message.
  if (err instanceof AggregateError && err.message === '' && err.errors.length > 0) {
    return err.errors.map(errorText).join('; ');
  }
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

export class ServerStore implements Store {
  readonly kind = 'server' as const;
  /** The URL without credentials, for messages and logs. */
  readonly url: string;
  readonly username: string;

  private readonly client: ClickHouseClient;
  /** The read user's client, or undefined to run user SQL as the main user with readonly=1 and limits. */
  private readonly readClient: ClickHouseClient | undefined;
  private readonly retry: RetryOptions;
  private readonly ttlDays: number | undefined;
  private readonly cluster: ClusterOptions | undefined;
  private readonly closing = new AbortController();
  private version: { text: string; parts: number[] } | undefined;
  private versionProbe: Promise<number[]> | undefined;

  constructor(opts: ServerStoreOptions) {
    const retry = { ...DEFAULT_RETRY, ...opts.retry };
    if (!Number.isInteger(retry.attempts) || retry.attempts < 1)
      throw new StoreConfigError(`retry.attempts must be an integer >= 1, got ${retry.attempts}`);
    if (!(retry.baseDelayMs >= 0) || !(retry.maxDelayMs >= 0))
      throw new StoreConfigError('retry.baseDelayMs and retry.maxDelayMs must be >= 0');
    this.retry = retry;
    this.ttlDays = opts.ttlDays;
    this.cluster = opts.cluster
      ? { ...DEFAULT_CLUSTER_PATHS, ...opts.cluster, database: opts.database ?? 'default' }
      : undefined;
    this.url = displayUrl(opts.url);
    this.username = displayUser(opts);
    const connect = (username: string | undefined, password: string | undefined) =>
      createClient({
        url: opts.url,
        ...(username !== undefined ? { username } : {}),
        ...(password !== undefined ? { password } : {}),
        ...(opts.database !== undefined ? { database: opts.database } : {}),
        request_timeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        application: 'egresslens',
        // Every failure reaches the caller as an exception; the client would also log each failed try.
        log: { level: ClickHouseLogLevel.OFF },
      });
    this.client = connect(opts.username, opts.password);
    this.readClient = opts.readUsername ? connect(opts.readUsername, opts.readPassword ?? '') : undefined;
  }

  /** The server's version() text, once known (after open or the first request that needed it). */
  get serverVersion(): string | undefined {
    return this.version?.text;
  }

  async migrate(settings: MigrateSettings = {}): Promise<void> {
    const version = await this.withRetry('read the server version', () => this.ensureVersion());
    if (!atLeast(version, MIN_SERVER_VERSION)) {
      throw new StoreConfigError(
        `ClickHouse server ${this.version?.text ?? version.join('.')} at ${this.url} is too old: ` +
          `egresslens needs ${MIN_SERVER_VERSION.join('.')} or newer ` +
          '(DateTime64, LowCardinality, codecs, TTL, query parameters, insert deduplication tokens)',
      );
    }
    await applyMigrations(
      (sql) => this.command(sql),
      async () =>
        (await this.query<{ version: number | string }>('SELECT version FROM schema_migrations')).map((r) =>
          Number(r.version),
        ),
      { ttlDays: this.ttlDays, cluster: this.cluster },
      settings,
    );
  }

  async insert(req: InsertRequest): Promise<void> {
    if (!INSERT_FORMATS.has(req.format)) throw new Error(`Unsupported insert format ${String(req.format)}`);
    const columns = req.columns?.length ? ` (${req.columns.map(quoteIdent).join(', ')})` : '';
    const sql = `INSERT INTO ${quoteTable(req.table)}${columns} FORMAT ${req.format}`;
    if (req.body.length === 0) return;
    await this.withRetry(`insert into ${req.table}`, async () => {
      const settings: Record<string, string> = {};
      // Through a Distributed table the insert returns only once every shard has its rows, so an
      // acknowledged batch is stored, and a retried one reaches the shards that already hold its rows
      // (the sharding key is a function of the row) with its token, where it is dropped.
      if (this.cluster) settings['insert_distributed_sync'] = '1';
      if (req.dedupToken !== undefined) {
        // 18.16 and other pre-22.2 servers fail the whole insert on an unknown setting.
        const version = await this.ensureVersion();
        if (atLeast(version, DEDUP_TOKEN_MIN_VERSION))
          settings['insert_deduplication_token'] = req.dedupToken;
      }
      await this.send(sql, { body: req.body, settings });
    });
  }

  async query<T = Record<string, unknown>>(sql: string, opts: QueryOptions = {}): Promise<T[]> {
    const params = opts.params && Object.keys(opts.params).length > 0 ? opts.params : undefined;
    return this.withRetry('query', async () => {
      if (params) {
        const version = await this.ensureVersion();
        if (!atLeast(version, QUERY_PARAMS_MIN_VERSION)) {
          // Never fall back to interpolating values into the SQL.
          throw new StoreConfigError(
            `ClickHouse server ${this.version?.text} at ${this.url} has no query parameters ({name:Type} needs ` +
              `${QUERY_PARAMS_MIN_VERSION.join('.')} or newer; egresslens needs ${MIN_SERVER_VERSION.join('.')} or newer)`,
          );
        }
      }
      const body = await this.send(`${trimSql(sql)}\nFORMAT JSONEachRow`, {
        settings: opts.settings,
        params,
      });
      return this.parseRows<T>(body);
    });
  }

  /**
   * User SQL: judged by the guard (store/sql-guard) on this server's own EXPLAIN AST, then the canonical text of
   * what was judged runs. As the read user when one is configured (its profile holds readonly=1 and the limits);
   * otherwise as the main user with readonly=1 and the limits as request settings, which a query cannot change.
   */
  async queryReadOnly(sql: string, limits: ReadOnlyLimits): Promise<Record<string, unknown>[]> {
    const version = await this.withRetry('read the server version', () => this.ensureVersion());
    if (!atLeast(version, GUARD_MIN_VERSION)) {
      throw new QueryRefusedError(
        'unverifiable',
        `queries cannot be checked on ClickHouse ${this.version?.text ?? version.join('.')}: ` +
          `POST /v1/query needs ${GUARD_MIN_VERSION.join('.')} or newer (formatQuery, EXPLAIN QUERY TREE)`,
      );
    }
    const canonical = await checkUserSql(sql, this.explainer);
    const settings = this.readClient
      ? undefined
      : {
          readonly: 1,
          max_result_rows: limits.maxRows,
          max_result_bytes: limits.maxResultBytes,
          result_overflow_mode: 'throw',
          max_execution_time: limits.maxSeconds,
          max_memory_usage: limits.maxMemoryBytes,
          ...RUN_AST_SETTINGS,
        };
    const body = await userQuery(() =>
      this.withRetry('query', () =>
        this.send(`${canonical}\nFORMAT JSONEachRow`, { settings, client: this.readClient }),
      ),
    );
    return this.parseRows(body);
  }

  /** The guard's parse steps run as the main user under CHECK_SETTINGS (readonly=1): nothing in them executes. */
  private readonly explainer: SqlExplainer = {
    prepare: async (sql) => {
      const rows = await userQuery(() =>
        this.withRetry('check a query', async () =>
          this.parseRows<{ canonical: string; stable: number; database: string; tables: string[] }>(
            await this.send(`${PREPARE_SQL}\nFORMAT JSONEachRow`, {
              settings: CHECK_SETTINGS,
              params: { sql },
            }),
          ),
        ),
      );
      if (!rows[0]) throw new Error('the server returned no row for the query check');
      return rows[0];
    },
    explainAst: async (canonical) => {
      // No FORMAT clause: it would be parsed as part of the explained query. TSVRaw prints the lines as they are.
      const body = await userQuery(() =>
        this.withRetry('check a query', () =>
          this.send(`EXPLAIN AST ${canonical}`, {
            settings: { ...CHECK_SETTINGS, default_format: 'TSVRaw' },
          }),
        ),
      );
      return body.toString('utf8');
    },
    explainQueryTree: async (canonical) => {
      const body = await userQuery(() =>
        this.withRetry('check a query', () =>
          this.send(`EXPLAIN QUERY TREE run_passes = 0 ${canonical}`, {
            settings: { ...CHECK_SETTINGS, default_format: 'TSVRaw' },
          }),
        ),
      );
      return body.toString('utf8');
    },
  };

  async command(sql: string): Promise<void> {
    await this.withRetry('command', async () => {
      await this.send(trimSql(sql));
    });
  }

  async ping(): Promise<boolean> {
    if (this.closing.signal.aborted) return false;
    try {
      await this.send('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closing.signal.aborted) return;
    this.closing.abort();
    await this.client.close();
    await this.readClient?.close();
  }

  /** One try at reading version(); used by openServerStore and lazily by operations that depend on it. */
  async detectVersion(): Promise<number[]> {
    if (this.version) return this.version.parts;
    if (!this.versionProbe) {
      // Concurrent callers share one request; a failed probe is forgotten so the next call tries again.
      const probe = this.readVersion();
      this.versionProbe = probe;
      const forget = () => {
        if (this.versionProbe === probe) this.versionProbe = undefined;
      };
      probe.then(forget, forget);
    }
    return this.versionProbe;
  }

  private async readVersion(): Promise<number[]> {
    const rows = this.parseRows<{ v: string }>(await this.send('SELECT version() AS v\nFORMAT JSONEachRow'));
    const text = String(rows[0]?.v ?? '');
    let parts: number[];
    try {
      parts = parseServerVersion(text);
    } catch (err) {
      throw new StoreConfigError(
        `${this.url} does not look like a ClickHouse server: version() returned ${JSON.stringify(text)}`,
        { cause: err },
      );
    }
    this.version = { text: text.trim(), parts };
    return parts;
  }

  private ensureVersion(): Promise<number[]> {
    return this.version ? Promise.resolve(this.version.parts) : this.detectVersion();
  }

  private async withRetry<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs } = this.retry;
    for (let n = 1; ; n++) {
      this.assertOpen();
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof RetryableError)) throw err;
        if (n >= attempts) {
          throw new StoreUnavailableError(
            `ClickHouse at ${this.url} is unavailable: ${what} failed after ${n} attempt${n === 1 ? '' : 's'} ` +
              `(last error: ${err.message})`,
            { cause: err.cause ?? err },
          );
        }
        const full = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
        try {
          await sleep(full / 2 + (Math.random() * full) / 2, undefined, { signal: this.closing.signal });
        } catch {
          throw new StoreUnavailableError(
            `ClickHouse store for ${this.url} was closed while retrying ${what}`,
            {
              cause: err.cause ?? err,
            },
          );
        }
      }
    }
  }

  private assertOpen(): void {
    if (this.closing.signal.aborted) throw new Error(`ClickHouse store for ${this.url} is closed`);
  }

  /** One HTTP request; returns the response body, or throws RetryableError / StoreConfigError / ClickHouseServerError. */
  private async send(
    query: string,
    opts: {
      body?: Buffer;
      settings?: Record<string, string | number>;
      params?: Record<string, unknown>;
      /** Another user's client (the read user); the main client by default. */
      client?: ClickHouseClient;
    } = {},
  ): Promise<Buffer> {
    this.assertOpen();
    let status: number;
    let exceptionHeader: string | undefined;
    let payload: Buffer;
    try {
      const res = await (opts.client ?? this.client).exec({
        query,
        ...(opts.body ? { values: Readable.from([opts.body], { objectMode: false }) } : {}),
        ...(opts.settings && Object.keys(opts.settings).length > 0
          ? { clickhouse_settings: opts.settings as ClickHouseSettings }
          : {}),
        ...(opts.params ? { query_params: opts.params } : {}),
        ignore_error_response: true,
      });
      status = res.http_status_code ?? 200;
      const h = res.response_headers['x-clickhouse-exception-code'];
      exceptionHeader = Array.isArray(h) ? h[0] : h;
      payload = await readAll(res.stream);
    } catch (err) {
      throw this.transportFailure(err);
    }
    if (status >= 300 || exceptionHeader !== undefined) {
      throw this.httpFailure(status, exceptionHeader, payload.toString('utf8'));
    }
    return payload;
  }

  private transportFailure(err: unknown): Error {
    if (err instanceof StoreConfigError || err instanceof ClickHouseServerError) return err;
    const code = err instanceof Error ? (err as NodeJS.ErrnoException).code : undefined;
    const message = err instanceof Error ? err.message : String(err);
    if (
      (code !== undefined && RETRYABLE_NET_CODES.has(code)) ||
      /socket hang up|^Timeout error|ECONNRESET|ECONNREFUSED|EPIPE/i.test(message)
    ) {
      return new RetryableError(errorText(err), { cause: err });
    }
    return err instanceof Error ? err : new Error(message);
  }

  private httpFailure(status: number, header: string | undefined, body: string): Error {
    const { code, message } = parseErrorBody(body, header);
    const isAuthText = /Wrong password|Unknown user|Authentication failed|password is incorrect/i.test(body);
    if (status === 401 || (code !== undefined && AUTH_CLICKHOUSE_CODES.has(code)) || isAuthText) {
      return new StoreConfigError(
        `ClickHouse at ${this.url} rejected the credentials for user "${this.username}": ${message}`,
      );
    }
    if (status === 403) {
      return new StoreConfigError(`ClickHouse at ${this.url} denied user "${this.username}": ${message}`);
    }
    const where = code !== undefined ? `HTTP ${status}, code ${code}` : `HTTP ${status}`;
    if (RETRYABLE_HTTP_STATUSES.has(status) || (code !== undefined && RETRYABLE_CLICKHOUSE_CODES.has(code))) {
      return new RetryableError(`${where}: ${message}`);
    }
    return new ClickHouseServerError(
      `ClickHouse at ${this.url} failed (${where}): ${message}`,
      code,
      status,
      message,
    );
  }

  private parseRows<T>(body: Buffer): T[] {
    const rows: T[] = [];
    for (const line of body.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        rows.push(JSON.parse(line) as T);
      } catch {
        // A server that fails after the header went out appends the exception to the body.
        if (/^\s*Code: \d+/.test(line)) {
          const { code, message } = parseErrorBody(line, undefined);
          throw new ClickHouseServerError(
            `ClickHouse at ${this.url} failed mid-result (code ${code}): ${message}`,
            code,
            200,
            message,
          );
        }
        const shown = JSON.stringify(line.slice(0, 200));
        throw new ClickHouseServerError(
          `ClickHouse at ${this.url} returned a line that is not JSON: ${shown}`,
          undefined,
          200,
          `a line that is not JSON: ${shown}`,
        );
      }
    }
    return rows;
  }
}

/** A server error about user SQL (syntax, unknown column, limit …) becomes UserQueryError with its message. */
async function userQuery<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ClickHouseServerError && !SERVER_FAULT_CODES.has(err.code ?? -1)) {
      throw new UserQueryError(err.serverMessage.split('\n')[0]!.slice(0, 500), err.code);
    }
    throw err;
  }
}

/**
 * Creates the store and reads the server version with a single try. A bad password, a missing database or
 * a server that is not ClickHouse fails here with StoreConfigError; a server that is down does not (the
 * store retries on each operation, and reads the version when it first needs it).
 */
export async function openServerStore(opts: ServerStoreOptions): Promise<ServerStore> {
  const store = new ServerStore(opts);
  try {
    await store.detectVersion();
  } catch (err) {
    if (err instanceof RetryableError) return store;
    await store.close();
    if (err instanceof ClickHouseServerError && err.httpStatus === 200) {
      throw new StoreConfigError(
        `${store.url} does not look like a ClickHouse server: SELECT version() returned ${err.serverMessage}`,
        { cause: err },
      );
    }
    if (err instanceof ClickHouseServerError) {
      const where =
        err.code !== undefined ? `HTTP ${err.httpStatus}, code ${err.code}` : `HTTP ${err.httpStatus}`;
      throw new StoreConfigError(
        `ClickHouse at ${store.url} refused "SELECT version()" (${where}): ${err.serverMessage}`,
        { cause: err },
      );
    }
    throw err;
  }
  return store;
}
