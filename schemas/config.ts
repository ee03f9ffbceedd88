/**
 * egresslens configuration: defaults, then an optional file (JSON or YAML), then EGRESSLENS_* environment
 * variables, then command-line flags. Validated by zod; every error names the setting and where it came from.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import {
  CLUSTER_DOMAIN_HINT,
  CLUSTER_DOMAIN_PATTERN,
  DEFAULT_CLUSTER_DOMAIN,
} from '../reports/shared/cluster-domain.js';
import { DEFAULT_CLUSTER_PATHS } from '../store/table-ddl.js';

/**
 * A whole number from a file (a number or a string of digits) or an env var. Not z.coerce.number(), which
 * takes "" and false as 0 and true as 1 (`port: ""` listened on a random port).
 */
const wholeNumber = z
  .union([z.number(), z.string().trim().regex(/^\d+$/, 'expected a whole number').transform(Number)], {
    error: 'expected a whole number',
  })
  .pipe(z.number().int('expected a whole number'));
const port = wholeNumber.pipe(z.number().min(0).max(65535));
const positiveInt = wholeNumber.pipe(z.number().positive());

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);
/**
 * A boolean from a file, env var or flag. Not zod's coercing boolean, which makes the string "false" true:
 * only words that mean a boolean are taken, anything else is a config error.
 */
const strictBoolean = z.unknown().transform((value, ctx): boolean => {
  if (typeof value === 'boolean') return value;
  const word =
    typeof value === 'string' || typeof value === 'number' ? String(value).trim().toLowerCase() : '';
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  ctx.addIssue({
    code: 'custom',
    message: `expected true or false (or 1/0, yes/no, on/off), got ${JSON.stringify(value)}`,
  });
  return z.NEVER;
});

/** A bearer token: long enough not to be guessed, and sendable as-is in an Authorization header. */
const token = z
  .string()
  .min(16, 'use at least 16 characters')
  .regex(/^[\x21-\x7e]+$/, 'use printable ASCII without spaces');

/**
 * Time limits of the HTTP server, so a client that trickles its headers or body cannot hold a socket and a
 * request slot for ever. Node answers 408 and closes the socket when one is exceeded.
 */
const HttpSchema = z
  .object({
    /** From the connection's first byte to the end of the request headers. */
    headersTimeoutMs: positiveInt.default(10_000),
    /** From the first byte to the end of the request body; at 30 s a 16 MiB body needs ~0.6 MB/s. */
    requestTimeoutMs: positiveInt.default(30_000),
    /** Longer than Fluent Bit's keepalive idle timeout (30 s), so the client, not the server, closes idle sockets. */
    keepAliveTimeoutMs: positiveInt.default(72_000),
    /** A socket with no traffic either way (e.g. a client that stops reading its answer) is closed after this. */
    idleTimeoutMs: positiveInt.default(300_000),
  })
  .strict()
  .refine((h) => h.headersTimeoutMs <= h.requestTimeoutMs, {
    message: 'headersTimeoutMs cannot be longer than requestTimeoutMs',
    path: ['headersTimeoutMs'],
  });

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
    /** Bearer token for every route except /healthz and /readyz (both roles); not with the two below. */
    authToken: token.optional(),
    /** Bearer token for intake only (POST /v1/ingest/*): the one every Fluent Bit node holds. */
    ingestToken: token.optional(),
    /** Bearer token for reading only: reports, hosts, query, metrics, docs, UI. */
    readToken: token.optional(),
    /** Allows a non-loopback bind without a token for each role. */
    insecure: strictBoolean.default(false),
    format: z.string().min(1).default('auto'),
    storeRaw: strictBoolean.default(false),
    ttlDays: positiveInt.optional(),
    /** A stuck event loop (no turn for this long) kills the process with a fatal log, for its supervisor to restart; 0 turns it off. */
    watchdogMs: wholeNumber.pipe(z.number().min(0)).default(30_000),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    clickhouse: z
      .object({
        url: z.string().url(),
        username: z.string().default('default'),
        password: z.string().default(''),
        /** Optional read-only user for POST /v1/query (README: Security). */
        readUsername: z.string().min(1).optional(),
        readPassword: z.string().optional(),
        database: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a plain database name')
          .default('default'),
        /** A cluster name from the servers' remote_servers: Replicated tables ON CLUSTER plus Distributed ones. */
        cluster: z
          .string()
          .regex(/^[A-Za-z_][A-Za-z0-9_.-]*$/, 'a cluster name as in remote_servers')
          .optional(),
        /** Keeper path of each replicated table ({shard}, {database}, {table} are macros). */
        replicaPath: z.string().min(1).default(DEFAULT_CLUSTER_PATHS.replicaPath),
        /** Replica name of each replicated table ({replica} is the server's macro). */
        replicaName: z.string().min(1).default(DEFAULT_CLUSTER_PATHS.replicaName),
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
        /** Nesting of maps/arrays in one record (JSON or msgpack); checked before values are built. */
        maxDepth: positiveInt.default(64),
        /** A record or line longer than this is kept as a dead letter (its first 64 KiB), not decoded or parsed. */
        maxRecordBytes: positiveInt.default(1 << 20),
        /** Time one body may take to decode (it is decoded in slices of ~10 ms); over it → 413. */
        maxDecodeMs: positiveInt.default(10_000),
        /** Bodies are refused (503 + Retry-After) while the JS heap in use is above this share of its limit. */
        maxHeapUsedPercent: wholeNumber.pipe(z.number().min(1).max(100)).default(85),
        /**
         * A directory for the intake journal: HTTP requests are answered once their rows are synced there, not
         * once stored, and batches left by a crash are stored at the next start. One directory per process.
         */
        journalDir: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** The egress gauges on /metrics: how far back they look, how often they refresh, how many namespaces. */
    metrics: z
      .object({
        windowSeconds: positiveInt.default(300),
        refreshSeconds: positiveInt.default(30),
        maxNamespaces: wholeNumber.pipe(z.number().positive().max(1000)).default(50),
      })
      .strict()
      .prefault({}),
    http: HttpSchema.prefault({}),
    /**
     * Analytic work (POST /v1/query, reports, hosts, scheduled reports) runs under one cap with its own queue,
     * so it can never take the threads that probes and ingest need. Full queue: 429; waited too long: 503.
     */
    limits: z
      .object({
        maxConcurrentQueries: positiveInt.default(2),
        maxQueuedQueries: wholeNumber.pipe(z.number().min(0)).default(16),
        queueTimeoutMs: positiveInt.default(10_000),
      })
      .strict()
      .prefault({}),
    /** ServiceEntry YAML files or folders: the registry that suggestions are diffed against. */
    registry: z.array(z.string()).default([]),
    /** IP-only destinations of one network with the same ports become one CIDR ServiceEntry of this prefix. */
    reports: z
      .object({
        cidrPrefixV4: wholeNumber.pipe(z.number().min(8).max(32)).default(24),
        cidrPrefixV6: wholeNumber.pipe(z.number().min(32).max(128)).default(64),
        /** The mesh's cluster DNS domain: names under it (and `*.svc`) are in-mesh, never external. */
        clusterDomain: z
          .string()
          .max(253)
          .regex(CLUSTER_DOMAIN_PATTERN, CLUSTER_DOMAIN_HINT)
          .default(DEFAULT_CLUSTER_DOMAIN),
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
        ssl: strictBoolean.default(false),
        sasl: z
          .object({
            mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
            username: z.string(),
            password: z.string(),
          })
          .optional(),
        fromBeginning: strictBoolean.default(true),
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
  EGRESSLENS_INGEST_TOKEN: ['ingestToken'],
  EGRESSLENS_READ_TOKEN: ['readToken'],
  EGRESSLENS_INSECURE: ['insecure'],
  EGRESSLENS_STORE_RAW: ['storeRaw'],
  EGRESSLENS_FORMAT: ['format'],
  EGRESSLENS_LOG_LEVEL: ['logLevel'],
  EGRESSLENS_TTL_DAYS: ['ttlDays'],
  EGRESSLENS_CLUSTER_DOMAIN: ['reports', 'clusterDomain'],
  EGRESSLENS_JOURNAL_DIR: ['ingest', 'journalDir'],
  EGRESSLENS_CLICKHOUSE_URL: ['clickhouse', 'url'],
  EGRESSLENS_CLICKHOUSE_USER: ['clickhouse', 'username'],
  EGRESSLENS_CLICKHOUSE_PASSWORD: ['clickhouse', 'password'],
  EGRESSLENS_CLICKHOUSE_DATABASE: ['clickhouse', 'database'],
  EGRESSLENS_CLICKHOUSE_CLUSTER: ['clickhouse', 'cluster'],
  EGRESSLENS_CLICKHOUSE_READ_USER: ['clickhouse', 'readUsername'],
  EGRESSLENS_CLICKHOUSE_READ_PASSWORD: ['clickhouse', 'readPassword'],
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
    throw new ConfigError(`cannot read config file ${path}: ${firstLine((err as Error).message)}`);
  }
  try {
    const value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error('the top level must be a mapping of settings');
    }
    return value as Layer;
  } catch (err) {
    // The YAML parser's message carries a code frame over several lines; its first line names the place.
    throw new ConfigError(
      `config file ${path} is not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${firstLine((err as Error).message)}`,
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

function has(layer: Layer, path: PropertyKey[]): boolean {
  let node: unknown = layer;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return false;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node !== undefined;
}

/** Where a setting's value came from, the layer with the highest precedence first, for error messages. */
function sourceOf(
  path: PropertyKey[],
  layers: { file?: string; fileLayer: Layer; env: Layer; flags: Layer },
): string {
  for (let n = path.length; n > 0; n--) {
    const at = path.slice(0, n);
    if (has(layers.flags, at)) return 'command line';
    if (has(layers.env, at)) {
      const name = Object.entries(ENV).find(([, p]) => p.join('.') === at.slice(0, p.length).join('.'))?.[0];
      return name ? `env ${name}` : 'env';
    }
    if (has(layers.fileLayer, at)) return `file ${layers.file}`;
  }
  return 'default';
}

/** Builds the config: file < env < flags. `flags` uses the schema's shape (nested objects allowed). */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; flags?: Layer } = {}): Config {
  const fileLayer = opts.file ? readConfigFile(opts.file) : {};
  const env = envLayer(opts.env ?? process.env);
  const flags = opts.flags ?? {};
  const merged = merge(merge(fileLayer, env), flags);
  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    // One line, each problem with its setting and where the value came from.
    const problems = result.error.issues.map((i) => {
      const path = i.code === 'unrecognized_keys' ? [...i.path, i.keys[0]!] : i.path;
      const name =
        i.code === 'unrecognized_keys'
          ? i.keys.map((k) => [...i.path, k].join('.')).join(', ')
          : path.join('.');
      const source = sourceOf(path, { file: opts.file, fileLayer, env, flags });
      return `${name || '(top level)'} (${source}): ${i.message}`;
    });
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  return result.data;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0]!.trim().replace(/:$/, '');
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * Startup refuses unsafe token setups, each with one line: a non-loopback bind needs a token for intake and
 * one for reading (unless --insecure); authToken opens both roles, so it cannot stand beside the role tokens
 * (a Fluent Bit node holding it could still run SQL); and two equal role tokens would be one token.
 */
export function checkExposure(config: Config): void {
  const { authToken, ingestToken, readToken } = config;
  if (authToken && (ingestToken || readToken)) {
    throw new ConfigError(
      'authToken opens both intake and reading, so it cannot be combined with ingestToken/readToken: set ingestToken and readToken alone (or authToken alone)',
    );
  }
  if (ingestToken && readToken && ingestToken === readToken) {
    throw new ConfigError(
      'ingestToken and readToken are the same: give each role its own token (or set authToken)',
    );
  }
  if (isLoopback(config.host) || config.insecure) return;
  const missing = [
    !authToken && !ingestToken ? 'intake (ingestToken, EGRESSLENS_INGEST_TOKEN or --ingest-token)' : '',
    !authToken && !readToken ? 'reading (readToken, EGRESSLENS_READ_TOKEN or --read-token)' : '',
  ].filter(Boolean);
  if (missing.length) {
    throw new ConfigError(
      `refusing to listen on ${config.host} without a token for ${missing.join(' and ')}: set them (or authToken for both), or pass --insecure`,
    );
  }
}
