/**
 * The one interface both backends implement: embedded chDB and a ClickHouse server. They run the same DDL
 * (store/schema.ts) and the same SQL; user values reach SQL only as `{name:Type}` bound parameters.
 */

import type { MigrateSettings } from './schema.js';

export type InsertFormat = 'JSONEachRow' | 'JSONCompactEachRow';

export interface InsertRequest {
  table: string;
  /** Rows already encoded in `format`, one per line. */
  body: Buffer;
  format: InsertFormat;
  /** Explicit column list, in the order the rows carry them. */
  columns?: readonly string[];
  /**
   * Deterministic per batch: the same batch retried after a timeout or crash carries the same token, and
   * ClickHouse drops the repeat (tables have non_replicated_deduplication_window).
   */
  dedupToken?: string;
}

export interface QueryOptions {
  /** Bound parameters for `{name:Type}` placeholders. */
  params?: Record<string, unknown>;
  /** Extra ClickHouse settings for this query (limits, readonly). */
  settings?: Record<string, string | number>;
}

export interface ReadOnlyLimits {
  maxRows: number;
  maxSeconds: number;
  maxMemoryBytes: number;
  /** Bytes of the uncompressed result (max_result_bytes). */
  maxResultBytes: number;
}

export const DEFAULT_READONLY_LIMITS: ReadOnlyLimits = {
  maxRows: 10_000,
  maxSeconds: 10,
  maxMemoryBytes: 1 << 30,
  maxResultBytes: 64 << 20,
};

export interface Store {
  readonly kind: 'embedded' | 'server';
  /**
   * Creates or upgrades the schema; safe to run at every start. With a cluster domain (serve's), the
   * egress_requests view is re-created to classify by it.
   */
  migrate(settings?: MigrateSettings): Promise<void>;
  insert(req: InsertRequest): Promise<void>;
  /** A SELECT returning rows as objects (JSONEachRow). */
  query<T = Record<string, unknown>>(sql: string, opts?: QueryOptions): Promise<T[]>;
  /**
   * User SQL: judged first on the engine's own syntax tree against an allow-list (store/sql-guard; refusals throw
   * QueryRefusedError, engine errors about the query throw UserQueryError), then run read-only (readonly=1)
   * within row, result-size, time and memory limits.
   */
  queryReadOnly(sql: string, limits: ReadOnlyLimits): Promise<Record<string, unknown>[]>;
  /** DDL or other statements without a result. */
  command(sql: string): Promise<void>;
  /** True when the store answers a trivial query now. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** The store is unreachable or refused the operation for a reason a retry may cure. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** A configuration problem that retrying will not cure (bad credentials, server too old). */
export class StoreConfigError extends Error {
  override name = 'StoreConfigError';
}
