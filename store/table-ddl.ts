/**
 * Renders one table's DDL for the two ways egresslens can store: a single server (or embedded chDB), where a
 * table is a MergeTree, and a ClickHouse cluster, where the same name is a Distributed table over
 * Replicated MergeTree tables on every shard. The rest of egresslens reads and writes the same table names
 * either way: intake inserts into the Distributed table, reports read from it.
 */

export interface TableDef {
  name: string;
  /** The column list, between the parentheses of CREATE TABLE. */
  columns: string;
  partitionBy?: string;
  orderBy: string;
  /** The TTL expression's time column; with `ttlDays` set, rows older than that many days are dropped. */
  ttlColumn?: string;
  /** Retried batches carry a deduplication token: keep a window of recent tokens. */
  dedup: boolean;
  /**
   * Cluster mode: which shard a row goes to. It must be a function of the row's content, so a retried
   * batch sends every row to the shard that already has it and that shard's dedup window drops it.
   */
  shardingKey: string;
}

export interface ClusterOptions {
  /** The cluster's name in the servers' `remote_servers`. */
  name: string;
  /** The database the tables live in (the Distributed engine names it). */
  database: string;
  /** ZooKeeper/Keeper path of each replicated table; `{shard}`, `{database}`, `{table}` are macros. */
  replicaPath: string;
  /** This replica's name; `{replica}` is the server's macro. */
  replicaName: string;
  /** Keeper path of the cluster-wide schema_migrations table (one replication group over every server). */
  migrationsPath: string;
  /** This server's name in that group: unique across the whole cluster, so shard and replica together. */
  migrationsReplicaName: string;
}

export const DEFAULT_CLUSTER_PATHS = {
  replicaPath: '/clickhouse/tables/{shard}/{database}/{table}',
  replicaName: '{replica}',
  migrationsPath: '/clickhouse/egresslens/{database}/schema_migrations',
  migrationsReplicaName: '{shard}-{replica}',
} as const;

export interface DdlOptions {
  ttlDays?: number;
  cluster?: ClusterOptions;
}

/** How many recent insert tokens a table remembers: more than the batches a long outage can replay. */
export const DEDUP_WINDOW = 10_000;

/** The local (per-shard) table behind a Distributed one. */
export function localTableName(name: string): string {
  return `${name}_local`;
}

export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/[\\`]/g, '\\$&')}\``;
}

export function quoteLiteral(text: string): string {
  return `'${text.replace(/[\\']/g, '\\$&')}'`;
}

/** The statements that create `def`: one table, or in cluster mode the local table and its Distributed table. */
export function createTableStatements(def: TableDef, opts: DdlOptions): string[] {
  const cluster = opts.cluster;
  const clauses = [
    def.partitionBy ? `PARTITION BY ${def.partitionBy}` : '',
    `ORDER BY ${def.orderBy}`,
    def.ttlColumn && opts.ttlDays
      ? `TTL toDateTime(${def.ttlColumn}) + INTERVAL ${Math.floor(opts.ttlDays)} DAY`
      : '',
  ].filter((c) => c !== '');
  if (!cluster) {
    if (def.dedup) clauses.push(`SETTINGS non_replicated_deduplication_window = ${DEDUP_WINDOW}`);
    return [
      `CREATE TABLE IF NOT EXISTS ${def.name} (\n${def.columns}\n)\nENGINE = MergeTree\n${clauses.join('\n')}`,
    ];
  }
  const local = localTableName(def.name);
  const onCluster = `ON CLUSTER ${quoteIdentifier(cluster.name)}`;
  // Replicated tables deduplicate inserts by default; the window is widened to the same size as above.
  if (def.dedup) clauses.push(`SETTINGS replicated_deduplication_window = ${DEDUP_WINDOW}`);
  const engine = `ReplicatedMergeTree(${quoteLiteral(cluster.replicaPath)}, ${quoteLiteral(cluster.replicaName)})`;
  return [
    `CREATE TABLE IF NOT EXISTS ${local} ${onCluster} (\n${def.columns}\n)\nENGINE = ${engine}\n${clauses.join('\n')}`,
    `CREATE TABLE IF NOT EXISTS ${def.name} ${onCluster} AS ${local}\n` +
      `ENGINE = Distributed(${quoteLiteral(cluster.name)}, ${quoteLiteral(cluster.database)}, ${quoteLiteral(local)}, ${def.shardingKey})`,
  ];
}

/** A plain view (no storage); in cluster mode it is created on every server, over the Distributed tables. */
export function createViewStatement(
  name: string,
  select: string,
  opts: DdlOptions,
  { replace = false } = {},
): string {
  const onCluster = opts.cluster ? ` ON CLUSTER ${quoteIdentifier(opts.cluster.name)}` : '';
  const create = replace ? 'CREATE OR REPLACE VIEW' : 'CREATE VIEW IF NOT EXISTS';
  return `${create} ${name}${onCluster} AS\n${select}`;
}
