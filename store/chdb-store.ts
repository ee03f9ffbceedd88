/**
 * The embedded backend: chDB in this process, data in one directory.
 * chDB allows one data directory per process and one operation at a time per Session, so ingest and
 * queries get Sessions of their own on the same path; a second process cannot open the directory at all
 * (StoreLockedError), which is how the CLI knows to ask a running server instead.
 */
import './chdb-allocator.js';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { drainPending, Session } from 'chdb';
import { applyMigrations, type MigrateSettings, type SchemaOptions } from './schema.js';
import { engineErrorOf, SERVER_FAULT_CODES, UserQueryError } from './sql-guard/errors.js';
import {
  CHECK_SETTINGS,
  checkUserSql,
  PREPARE_SQL,
  type PreparedSql,
  RUN_AST_SETTINGS,
  type SqlExplainer,
} from './sql-guard/guard.js';
import {
  DEFAULT_READONLY_LIMITS,
  type InsertRequest,
  type QueryOptions,
  type ReadOnlyLimits,
  type Store,
  StoreUnavailableError,
} from './store.js';

/**
 * Two background merge threads: on a small machine more concurrent merges of growing parts made peak memory
 * climb with the amount ingested (bench:ingest, 1 M vs 5 M lines), while inserts did not get faster.
 */
export const ENGINE_ARGS = ['--background_pool_size=2'];

/** Another process holds the data directory. */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
}

export class ChdbStore implements Store {
  readonly kind = 'embedded';
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly ingestSession: Session,
    private readonly querySession: Session,
    /** Opened with readonly=1 and limits as connection arguments, so user SQL cannot lift them. */
    private readonly readOnlySession: Session,
    /** Parses user SQL for the guard (store/sql-guard), readonly=1 and parser limits as connection arguments. */
    private readonly checkSession: Session,
    /**
     * Used by ping() alone: operations on one Session run one at a time, so a ping on the query Session
     * waited behind every report (a report over 1 M rows held /readyz for 232 s).
     */
    private readonly pingSession: Session,
    private readonly schema: SchemaOptions,
  ) {}

  static open(dir: string, schema: SchemaOptions = {}): ChdbStore {
    const path = resolve(dir);
    mkdirSync(path, { recursive: true });
    let ingest: Session;
    try {
      ingest = new Session(path, { connectionArgs: ENGINE_ARGS });
    } catch (err) {
      const message = (err as Error).message;
      if (/Failed to create connection|lock|already running/i.test(message)) {
        throw new StoreLockedError(
          `the data directory ${path} is in use by another egresslens process (chDB allows one process per directory)`,
        );
      }
      throw err;
    }
    const query = new Session(path, { connectionArgs: ENGINE_ARGS });
    const limits = DEFAULT_READONLY_LIMITS;
    const readOnly = new Session(path, {
      connectionArgs: [
        ...ENGINE_ARGS,
        '--readonly=1',
        `--max_result_rows=${limits.maxRows}`,
        '--result_overflow_mode=throw',
        `--max_execution_time=${limits.maxSeconds}`,
        `--max_memory_usage=${limits.maxMemoryBytes}`,
        `--max_result_bytes=${limits.maxResultBytes}`,
        ...settingsArgs(RUN_AST_SETTINGS),
      ],
    });
    const check = new Session(path, { connectionArgs: [...ENGINE_ARGS, ...settingsArgs(CHECK_SETTINGS)] });
    const ping = new Session(path, {
      connectionArgs: [...ENGINE_ARGS, '--readonly=1', '--max_execution_time=5'],
    });
    return new ChdbStore(path, ingest, query, readOnly, check, ping, schema);
  }

  async migrate(settings: MigrateSettings = {}): Promise<void> {
    await applyMigrations(
      (sql) => this.command(sql),
      async () =>
        (await this.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
          Number(r.version),
        ),
      this.schema,
      settings,
    );
  }

  async insert(req: InsertRequest): Promise<void> {
    this.assertOpen();
    if (req.body.length === 0) return;
    await this.ingestSession.insert({
      table: req.table,
      values: req.body,
      format: req.format,
      columns: req.columns,
      settings: req.dedupToken ? { insert_deduplication_token: req.dedupToken } : undefined,
    });
  }

  async query<T = Record<string, unknown>>(sql: string, opts: QueryOptions = {}): Promise<T[]> {
    this.assertOpen();
    const text = withSettings(sql, opts.settings);
    const result = opts.params
      ? await this.querySession.queryBindAsync(text, opts.params, { format: 'JSONEachRow' })
      : await this.querySession.queryAsync(text, { format: 'JSONEachRow' });
    return parseRows(result.text()) as T[];
  }

  /**
   * User SQL: judged by the guard on the engine's own syntax tree (readonly=1 does not confine chDB: the scalar
   * file() and INTO OUTFILE work under it), then the engine's canonical text of what was judged runs on the
   * read-only session. The limits are fixed when the store opens (DEFAULT_READONLY_LIMITS); chDB takes them per
   * connection.
   */
  async queryReadOnly(sql: string, _limits: ReadOnlyLimits): Promise<Record<string, unknown>[]> {
    this.assertOpen();
    const canonical = await checkUserSql(sql, this.explainer);
    const result = await userQuery(() =>
      this.readOnlySession.queryAsync(canonical, { format: 'JSONEachRow' }),
    );
    const body = result.text();
    // The engine skips its result limits for a query without a table (SELECT arrayJoin(range(…))).
    const limits = DEFAULT_READONLY_LIMITS;
    if (Buffer.byteLength(body) > limits.maxResultBytes) {
      throw new UserQueryError(`the result exceeds ${limits.maxResultBytes} bytes (max_result_bytes)`, 396);
    }
    const rows = parseRows(body);
    if (rows.length > limits.maxRows) {
      throw new UserQueryError(`the result exceeds ${limits.maxRows} rows (max_result_rows)`, 396);
    }
    return rows;
  }

  private readonly explainer: SqlExplainer = {
    prepare: async (sql) => {
      this.assertOpen();
      const result = await userQuery(() =>
        this.checkSession.queryBindAsync(PREPARE_SQL, { sql }, { format: 'JSONEachRow' }),
      );
      return parseRows(result.text())[0] as unknown as PreparedSql;
    },
    explainAst: async (canonical) => {
      this.assertOpen();
      const result = await userQuery(() =>
        this.checkSession.queryAsync(`EXPLAIN AST ${canonical}`, { format: 'TSVRaw' }),
      );
      return result.text();
    },
    explainQueryTree: async (canonical) => {
      this.assertOpen();
      const result = await userQuery(() =>
        this.checkSession.queryAsync(`EXPLAIN QUERY TREE run_passes = 0 ${canonical}`, { format: 'TSVRaw' }),
      );
      return result.text();
    },
  };

  async command(sql: string): Promise<void> {
    this.assertOpen();
    await this.querySession.queryAsync(sql, { format: 'TSV' });
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.pingSession.queryAsync('SELECT 1', { format: 'TSV' });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.ingestSession.close();
    this.querySession.close();
    this.readOnlySession.close();
    this.checkSession.close();
    this.pingSession.close();
    await drainPending();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreUnavailableError('the embedded store is closed');
  }
}

/** `{a: 1}` → `['--a=1']`: settings as chDB connection arguments, which a query's SETTINGS cannot change. */
function settingsArgs(settings: Record<string, string | number>): string[] {
  return Object.entries(settings).map(([k, v]) => `--${k}=${v}`);
}

/** Runs a step of user SQL; an engine exception becomes UserQueryError with the engine's one-line message. */
async function userQuery<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const parsed = engineErrorOf((err as Error).message ?? String(err));
    if (parsed && !SERVER_FAULT_CODES.has(parsed.code ?? -1))
      throw new UserQueryError(parsed.text, parsed.code);
    throw err;
  }
}

/** Appends our own (never user-supplied) settings as a SETTINGS clause. */
export function withSettings(sql: string, settings?: Record<string, string | number>): string {
  if (!settings || Object.keys(settings).length === 0) return sql;
  const clause = Object.entries(settings)
    .map(([k, v]) => {
      if (!/^[a-z_][a-z0-9_]*$/i.test(k)) throw new Error(`invalid setting name ${k}`);
      return `${k} = ${typeof v === 'number' ? v : `'${String(v).replace(/[\\']/g, '\\$&')}'`}`;
    })
    .join(', ');
  return `${sql.replace(/;\s*$/, '')}\nSETTINGS ${clause}`;
}

function parseRows(body: string): Record<string, unknown>[] {
  if (!body) return [];
  return body
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
