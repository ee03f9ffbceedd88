/**
 * egresslens configuration: defaults, then an optional file (JSON or YAML), then EGRESSLENS_* environment
 * variables, then command-line flags. Validated by zod; every error names the setting and where it came from.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

export const ScheduleSchema = z
  .object({
    name: z
      .string()
      .min(1)
      .regex(/^[a-z0-9][a-z0-9-]*$/, 'use lowercase letters, digits and dashes'),
    cron: z.string().min(1),
    /** Look-back window of each run, e.g. `24h`, `7d`. */
    window: z
      .string()
      .regex(/^\d+[smhd]$/, 'a duration like 30m, 24h or 7d')
      .default('24h'),
    outputDir: z.string().optional(),
    webhook: z.string().url().optional(),
  })
  .strict();

export const ConfigSchema = z
  .object({
    data: z.string().min(1).default('./data'),
    host: z.string().min(1).default('127.0.0.1'),
    port: port.default(8080),
    /** Bearer token for every route except /healthz and /readyz; required to bind beyond loopback. */
    authToken: z.string().min(16, 'use at least 16 characters').optional(),
    /** Allows a non-loopback bind without a token. */
    insecure: z.coerce.boolean().default(false),
    format: z.string().min(1).default('auto'),
    storeRaw: z.coerce.boolean().default(false),
    ttlDays: positiveInt.optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    clickhouse: z
      .object({
        url: z.string().url(),
        username: z.string().default('default'),
        password: z.string().default(''),
        database: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain database name')
          .default('default'),
      })
      .strict()
      .optional(),
    ingest: z
      .object({
        batchRows: positiveInt.default(50_000),
        batchBytes: positiveInt.default(32 << 20),
        flushIntervalMs: positiveInt.default(250),
        maxPendingBatches: positiveInt.default(4),
        maxBodyBytes: positiveInt.default(16 << 20),
        maxDecodedBytes: positiveInt.default(64 << 20),
        maxRecords: positiveInt.default(100_000),
        maxKeysPerRecord: positiveInt.default(1000),
      })
      .strict()
      .prefault({}),
    /** ServiceEntry YAML files or folders: the registry that suggestions are diffed against. */
    registry: z.array(z.string()).default([]),
    /** IP-only destinations of one network with the same ports become one CIDR ServiceEntry of this prefix. */
    reports: z
      .object({
        cidrPrefixV4: z.coerce.number().int().min(8).max(32).default(24),
        cidrPrefixV6: z.coerce.number().int().min(32).max(128).default(64),
      })
      .strict()
      .prefault({}),
    schedules: z.array(ScheduleSchema).default([]),
    kafka: z
      .object({
        brokers: z.array(z.string().regex(/^[^:\s]+:\d+$/, 'host:port')).min(1),
        topic: z.string().min(1),
        group: z.string().min(1).default('egresslens'),
        clientId: z.string().default('egresslens'),
        ssl: z.coerce.boolean().default(false),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string(),
            password: z.string(),
          })
          .optional(),
        fromBeginning: z.coerce.boolean().default(true),
      })
      .strict()
      .optional(),
  })
  .strict();

export type Config = z.infer<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variables and the settings they fill. */
const ENV: Record<string, string[]> = {
  EGRESSLENS_DATA: ['data'],
  EGRESSLENS_HOST: ['host'],
  EGRESSLENS_PORT: ['port'],
  EGRESSLENS_AUTH_TOKEN: ['authToken'],
  EGRESSLENS_FORMAT: ['format'],
  EGRESSLENS_LOG_LEVEL: ['logLevel'],
  EGRESSLENS_TTL_DAYS: ['ttlDays'],
  EGRESSLENS_CLICKHOUSE_URL: ['clickhouse', 'url'],
  EGRESSLENS_CLICKHOUSE_USER: ['clickhouse', 'username'],
  EGRESSLENS_CLICKHOUSE_PASSWORD: ['clickhouse', 'password'],
  EGRESSLENS_CLICKHOUSE_DATABASE: ['clickhouse', 'database'],
};

type Layer = Record<string, unknown>;

function setPath(target: Layer, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) node = (node[key] ??= {}) as Layer;
  node[path[path.length - 1]!] = value;
}

function merge(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const prev = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? merge(prev as Layer, v as Layer)
        : v;
  }
  return out;
}

export function readConfigFile(path: string): Layer {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    const value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error('the top level must be a mapping of settings');
    }
    return value as Layer;
  } catch (err) {
    throw new ConfigError(
      `config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(err as Error).message}`,
    );
  }
}

export function envLayer(env: NodeJS.ProcessEnv): Layer {
  const layer: Layer = {};
  for (const [name, path] of Object.entries(ENV)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(layer, path, value);
  }
  return layer;
}

/** Builds the config: file < env < flags. `flags` uses the schema's shape (nested objects allowed). */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; flags?: Layer } = {}): Config {
  const fileLayer = opts.file ? readConfigFile(opts.file) : {};
  const merged = merge(merge(fileLayer, envLayer(opts.env ?? process.env)), opts.flags ?? {});
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  - ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ConfigError(
      `invalid configuration${opts.file ? ` (file ${opts.file}, env, flags)` : ''}:\n${lines.join('\n')}`,
    );
  }
  return result.data;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Refuses to expose the API and ingest without a token unless told --insecure. */
export function checkExposure(config: Config): void {
  if (!isLoopback(config.host) && !config.authToken && !config.insecure) {
    throw new ConfigError(
      `refusing to listen on ${config.host} without an auth token: set authToken (EGRESSLENS_AUTH_TOKEN or --auth-token), or pass --insecure`,
    );
  }
}
