/**
 * The schema, as versioned migrations. Every statement is idempotent (IF NOT EXISTS), so a crash between a
 * statement and its bookkeeping row is harmless; the version table says what ran.
 *
 * access_log is ordered for the report queries: by upstream cluster (PassthroughCluster, BlackHoleCluster,
 * outbound|…), then destination host, then time. Strings that repeat (clusters, flags, namespaces) are
 * LowCardinality; free text gets ZSTD. Unset strings are stored as '' and unset numbers as NULL, because
 * for numbers `-` and 0 differ (response code 0 means no response was sent).
 */

import { FIELD_ORDER } from '../parser/record.js';
import { DEFAULT_CLUSTER_DOMAIN } from '../reports/shared/cluster-domain.js';
import {
  createTableStatements,
  createViewStatement,
  type DdlOptions,
  quoteIdentifier,
  quoteLiteral,
  type TableDef,
} from './table-ddl.js';
import { HOST_SQL, stateSql, TIMED_OUT_SQL } from './traffic-classes.js';

export type SchemaOptions = DdlOptions;

export interface Migration {
  version: number;
  name: string;
  statements: (opts: SchemaOptions) => string[];
}

/** The columns the ingest path writes, in the order rows are encoded (store/row-encoder.ts). */
export const ACCESS_LOG_INSERT_COLUMNS = [
  'start_time',
  ...FIELD_ORDER,
  'format',
  'source',
  'k8s_namespace',
  'k8s_pod',
  'k8s_container',
  'k8s_workload',
  'k8s_node',
  'extra',
  'raw',
] as const;

export const DEAD_LETTER_INSERT_COLUMNS = [
  'source',
  'origin',
  'reason',
  'offset',
  'raw',
  'k8s_namespace',
  'k8s_pod',
  'kafka_topic',
  'kafka_partition',
  'kafka_offset',
] as const;

/** host:port or [v6]:port to host. */
const withoutPort = (col: string) => `replaceRegexpOne(${col}, ':[0-9]+$', '')`;
const portOf = (col: string) => `toUInt16OrZero(extract(${col}, ':([0-9]+)$'))`;

export const ACCESS_LOG: TableDef = {
  name: 'access_log',
  columns: `  start_time DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  ingest_time DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
  method LowCardinality(String),
  path String CODEC(ZSTD(3)),
  protocol LowCardinality(String),
  response_code Nullable(UInt16),
  response_flags LowCardinality(String),
  response_code_details LowCardinality(String),
  connection_termination_details LowCardinality(String),
  upstream_transport_failure_reason LowCardinality(String),
  bytes_received Nullable(UInt64),
  bytes_sent Nullable(UInt64),
  duration Nullable(UInt32),
  upstream_service_time Nullable(UInt32),
  x_forwarded_for String CODEC(ZSTD(1)),
  user_agent String CODEC(ZSTD(3)),
  request_id String CODEC(ZSTD(1)),
  authority LowCardinality(String),
  upstream_host String CODEC(ZSTD(1)),
  upstream_cluster LowCardinality(String),
  upstream_local_address String CODEC(ZSTD(1)),
  downstream_local_address String CODEC(ZSTD(1)),
  downstream_remote_address String CODEC(ZSTD(1)),
  requested_server_name LowCardinality(String),
  route_name LowCardinality(String),
  format LowCardinality(String),
  source LowCardinality(String),
  k8s_namespace LowCardinality(String),
  k8s_pod LowCardinality(String),
  k8s_container LowCardinality(String),
  k8s_workload LowCardinality(String),
  k8s_node LowCardinality(String),
  extra String CODEC(ZSTD(3)),
  raw String CODEC(ZSTD(3)),
  response_flags_list Array(LowCardinality(String)) MATERIALIZED if(response_flags = '', [], splitByChar(',', response_flags)),
  dst_ip String MATERIALIZED ${withoutPort('downstream_local_address')},
  dst_port UInt16 MATERIALIZED if(downstream_local_address != '', ${portOf('downstream_local_address')}, ${portOf('upstream_host')}),
  dst_host LowCardinality(String) MATERIALIZED lower(multiIf(
    requested_server_name != '', requested_server_name,
    authority != '', ${withoutPort('authority')},
    downstream_local_address != '', ${withoutPort('downstream_local_address')},
    ${withoutPort('upstream_host')}))`,
  partitionBy: 'toYYYYMM(start_time)',
  orderBy: '(upstream_cluster, dst_host, start_time)',
  ttlColumn: 'start_time',
  dedup: true,
  shardingKey: 'cityHash64(start_time, request_id, downstream_remote_address, upstream_host)',
};

export const DEAD_LETTERS: TableDef = {
  name: 'dead_letters',
  columns: `  time DateTime64(3, 'UTC') DEFAULT now64(3),
  source LowCardinality(String),
  origin String,
  reason String,
  offset UInt32,
  raw String CODEC(ZSTD(3)),
  k8s_namespace LowCardinality(String),
  k8s_pod LowCardinality(String),
  kafka_topic LowCardinality(String),
  kafka_partition Int32,
  kafka_offset Int64`,
  partitionBy: 'toYYYYMM(time)',
  orderBy: '(source, time)',
  ttlColumn: 'time',
  dedup: true,
  shardingKey: 'cityHash64(origin, offset, raw)',
};

export const REPORT_RUNS: TableDef = {
  name: 'report_runs',
  columns: `  run_time DateTime64(3, 'UTC'),
  schedule LowCardinality(String),
  window_start DateTime64(3, 'UTC'),
  window_end DateTime64(3, 'UTC'),
  suggested_hosts Array(String),
  new_hosts Array(String),
  blocked UInt64,
  timeouts UInt64,
  outputs Array(String),
  webhook_status String`,
  orderBy: '(schedule, run_time)',
  dedup: false,
  shardingKey: 'cityHash64(schedule, run_time)',
};

/**
 * The egress_requests view: one row per request with its class and destination, for Grafana and ad-hoc SQL,
 * by the reports' own classification (store/traffic-classes.ts), so nobody copies the fragments. Filters on
 * start_time and namespace reach access_log's primary key and partitions through the view. A view takes no
 * parameters, so the cluster domain (validated config, never request input) is a literal in its definition:
 * `serve` re-creates the view with its reports.clusterDomain at every start (egressRequestsViewStatement).
 */
const egressRequestsSelect = (clusterDomain: string) => `SELECT
  start_time,
  k8s_namespace AS namespace,
  k8s_workload AS workload,
  k8s_pod AS pod,
  ${stateSql(quoteLiteral(clusterDomain))} AS state,
  ${HOST_SQL} AS destination_host,
  dst_port AS destination_port,
  dst_ip AS destination_ip,
  ${TIMED_OUT_SQL} AS timed_out,
  response_code,
  response_flags,
  duration,
  bytes_sent,
  bytes_received,
  method,
  protocol,
  route_name,
  upstream_cluster,
  requested_server_name
FROM access_log`;

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'access_log and dead_letters',
    statements: (opts) => [
      ...createTableStatements(ACCESS_LOG, opts),
      ...createTableStatements(DEAD_LETTERS, opts),
    ],
  },
  {
    version: 2,
    name: 'report_runs',
    statements: (opts) => createTableStatements(REPORT_RUNS, opts),
  },
  {
    version: 3,
    name: 'egress_requests view',
    statements: (opts) => [
      createViewStatement('egress_requests', egressRequestsSelect(DEFAULT_CLUSTER_DOMAIN), opts),
    ],
  },
];

/** The egress_requests view again, its in-mesh names those of `clusterDomain` (run after the migrations). */
export function egressRequestsViewStatement(opts: SchemaOptions, clusterDomain: string): string {
  return createViewStatement('egress_requests', egressRequestsSelect(clusterDomain), opts, { replace: true });
}

/**
 * The versions applied. In cluster mode it is one Replicated table shared by every server of the cluster
 * (its Keeper path has no `{shard}`), so every egresslens instance sees the same versions wherever it
 * connects, and the version row carries a deduplication token so two instances that migrate at the same
 * time record it once. Their statements are all idempotent, and ON CLUSTER DDL goes through the cluster's
 * DDL queue, which Keeper orders: the second instance's CREATE … IF NOT EXISTS finds the table there.
 */
export function migrationsTableStatement(opts: SchemaOptions): string {
  const columns = `version UInt32,
  name String,
  applied_at DateTime64(3, 'UTC') DEFAULT now64(3)`;
  const cluster = opts.cluster;
  if (!cluster) {
    return `CREATE TABLE IF NOT EXISTS schema_migrations (\n  ${columns}\n) ENGINE = MergeTree ORDER BY version\nSETTINGS non_replicated_deduplication_window = 100`;
  }
  return (
    `CREATE TABLE IF NOT EXISTS schema_migrations ON CLUSTER ${quoteIdentifier(cluster.name)} (\n  ${columns}\n)\n` +
    `ENGINE = ReplicatedMergeTree(${quoteLiteral(cluster.migrationsPath)}, ${quoteLiteral(cluster.migrationsReplicaName)})\n` +
    'ORDER BY version'
  );
}

/** Records a migration; the token makes a second instance's record of the same version a no-op. */
export function recordMigrationStatement(m: Pick<Migration, 'version' | 'name'>): string {
  return (
    `INSERT INTO schema_migrations (version, name) SETTINGS insert_deduplication_token = ${quoteLiteral(`egresslens-migration-${m.version}`)} ` +
    `VALUES (${m.version}, ${quoteLiteral(m.name)})`
  );
}

/** The oldest server that has everything the DDL and SQL use (DateTime64, Map, codecs, dedup tokens). */
export const MIN_SERVER_VERSION = [23, 8] as const;

/** Runs the migrations not yet recorded; `run` executes one statement, `applied` reads the versions. */
export async function applyMigrations(
  run: (sql: string) => Promise<void>,
  applied: () => Promise<number[]>,
  opts: SchemaOptions,
  settings: MigrateSettings = {},
): Promise<number[]> {
  await run(migrationsTableStatement(opts));
  const done = new Set(await applied());
  const ran: number[] = [];
  for (const m of MIGRATIONS) {
    if (done.has(m.version)) continue;
    for (const sql of m.statements(opts)) await run(sql);
    await run(recordMigrationStatement(m));
    ran.push(m.version);
  }
  if (settings.clusterDomain !== undefined)
    await run(egressRequestsViewStatement(opts, settings.clusterDomain));
  return ran;
}

/** What the process that owns the schema's settings (serve) brings to a migration. */
export interface MigrateSettings {
  /** Re-create the egress_requests view for this cluster domain. */
  clusterDomain?: string;
}
