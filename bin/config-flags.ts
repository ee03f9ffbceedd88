/** Command-line flags shared by serve, ingest and report, mapped onto the config schema's shape. */
import type { ParseArgsConfig } from 'node:util';
import { type Config, ConfigError, loadConfig } from '../schemas/config.js';

export const STORE_OPTIONS = {
  config: { type: 'string', short: 'c' },
  data: { type: 'string' },
  'clickhouse-url': { type: 'string' },
  'clickhouse-user': { type: 'string' },
  'clickhouse-password': { type: 'string' },
  'clickhouse-database': { type: 'string' },
  'clickhouse-cluster': { type: 'string' },
  format: { type: 'string', short: 'f' },
  'store-raw': { type: 'boolean' },
  'ttl-days': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const SERVE_OPTIONS = {
  ...STORE_OPTIONS,
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  'auth-token': { type: 'string' },
  'ingest-token': { type: 'string' },
  'read-token': { type: 'string' },
  insecure: { type: 'boolean' },
  registry: { type: 'string', multiple: true },
  'kafka-brokers': { type: 'string' },
  'kafka-topic': { type: 'string' },
  'kafka-group': { type: 'string' },
  'cluster-domain': { type: 'string' },
  journal: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

export const REPORT_OPTIONS = {
  ...STORE_OPTIONS,
  since: { type: 'string' },
  until: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  registry: { type: 'string', multiple: true },
  'api-version': { type: 'string' },
  'entry-namespace': { type: 'string' },
  'export-to': { type: 'string' },
  'cluster-domain': { type: 'string' },
  limit: { type: 'string' },
  offset: { type: 'string' },
  'cidr-prefix-v4': { type: 'string' },
  'cidr-prefix-v6': { type: 'string' },
  server: { type: 'string' },
  'auth-token': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Config paths and the flag that sets each, so a config error names what to type. */
const FLAG_OF: Record<string, string> = {
  data: '--data',
  host: '--host',
  port: '--port',
  authToken: '--auth-token',
  format: '--format',
  ttlDays: '--ttl-days',
  logLevel: '--log-level',
  'clickhouse.url': '--clickhouse-url',
  'clickhouse.database': '--clickhouse-database',
  'kafka.brokers': '--kafka-brokers',
  'kafka.topic': '--kafka-topic',
  'kafka.group': '--kafka-group',
  'reports.clusterDomain': '--cluster-domain',
  'ingest.journalDir': '--journal',
};

type FlagValues = Record<string, string | boolean | string[] | undefined>;

export function configFromFlags(values: FlagValues): Config {
  const v = values;
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : undefined);
  const flags: Record<string, unknown> = {
    data: str('data'),
    format: str('format'),
    storeRaw: v['store-raw'] === true ? true : undefined,
    ttlDays: str('ttl-days'),
    logLevel: str('log-level'),
    host: str('host'),
    port: str('port'),
    authToken: str('auth-token'),
    ingestToken: str('ingest-token'),
    readToken: str('read-token'),
    insecure: v.insecure === true ? true : undefined,
    registry: Array.isArray(v.registry) ? v.registry : undefined,
    ...(str('cluster-domain') ? { reports: { clusterDomain: str('cluster-domain') } } : {}),
    ...(str('journal') ? { ingest: { journalDir: str('journal') } } : {}),
  };
  // Any server flag makes a clickhouse section (the URL may come from the file or the environment);
  // without a URL anywhere the config check names clickhouse.url.
  const serverFlags = ['url', 'user', 'password', 'database', 'cluster'].some((k) => str(`clickhouse-${k}`));
  if (serverFlags) {
    flags.clickhouse = {
      url: str('clickhouse-url'),
      username: str('clickhouse-user'),
      password: str('clickhouse-password'),
      database: str('clickhouse-database'),
      cluster: str('clickhouse-cluster'),
    };
  }
  if (str('kafka-brokers') || str('kafka-topic')) {
    flags.kafka = {
      brokers: str('kafka-brokers')
        ?.split(',')
        .map((b) => b.trim())
        .filter(Boolean),
      topic: str('kafka-topic'),
      group: str('kafka-group'),
    };
  }
  try {
    return loadConfig({ file: str('config'), flags });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(withFlagNames(err.message));
  }
}

/**
 * `kafka.topic (command line): Invalid input: expected string, received undefined` →
 * `kafka.topic (--kafka-topic): missing`: a problem set on the command line names the flag to fix.
 */
function withFlagNames(message: string): string {
  return message.replace(
    /([\w.]+) \(command line\): (.*?)(?=; [\w.]+ \(|$)/g,
    (_all, path: string, text: string) => {
      const said = /expected \w+, received undefined/.test(text) ? 'missing' : text;
      return `${path} (${FLAG_OF[path] ?? 'command line'}): ${said}`;
    },
  );
}
