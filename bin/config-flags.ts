/** Command-line flags shared by serve, ingest and report, mapped onto the config schema's shape. */
import type { ParseArgsConfig } from 'node:util';
import { type Config, loadConfig } from '../schemas/config.js';

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
} as const satisfies ParseArgsConfig['options'];

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
  return loadConfig({ file: str('config'), flags });
}
