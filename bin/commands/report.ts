/**
 * `egresslens report service-entries|blocked|timeouts|hosts`: a report once, from the store — or, while a
 * running `serve` holds the embedded store (chDB allows one process per data directory), from its API.
 */
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET } from '../../reports/page.js';
import { loadRegistry } from '../../reports/registry.js';
import {
  REPORT_KINDS,
  type ReportFormat,
  type ReportKind,
  renderReport,
} from '../../reports/render-report.js';
import type { Config } from '../../schemas/config.js';
import { StoreLockedError } from '../../store/chdb-store.js';
import { openStore } from '../../store/open-store.js';
import { findServer } from '../server-advert.js';
import { UsageError } from '../usage-error.js';

export const reportUsage = `usage: egresslens report service-entries|blocked|timeouts|hosts [options]

  --since 24h|7d|ISO       start of the window (default 24h)
  --until ISO|duration     end of the window (default now)
  --namespace NS           only traffic from this source namespace
  --registry PATH          existing ServiceEntries (YAML file or folder, repeatable) to diff against
  --format yaml|json|table service-entries: yaml (default); others: table (default) or json
  --api-version v1|v1beta1 apiVersion of suggested ServiceEntries (default v1)
  --limit N                items to print (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}); the header says N of M
  --offset N               items to skip first (default 0), to page through a long list
  --cidr-prefix-v4 N       service-entries: group IP-only destinations with the same ports into one CIDR entry
                           per /N IPv4 network (8-32, default from config: 24; 32 turns grouping off)
  --cidr-prefix-v6 N       the same for IPv6 (32-128, default 64)
  --data DIR | --clickhouse-url URL    the store (as for serve)
  --server URL             ask a running egresslens serve instead of opening the store
  --auth-token TOKEN       bearer token for --server (env EGRESSLENS_AUTH_TOKEN)`;

export interface ReportArgs {
  kind: string | undefined;
  since?: string;
  until?: string;
  namespace?: string;
  format?: string;
  apiVersion?: string;
  limit?: string;
  offset?: string;
  cidrPrefixV4?: string;
  cidrPrefixV6?: string;
  server?: string;
  authToken?: string;
}

export async function runReport(config: Config, args: ReportArgs): Promise<number> {
  const kind = args.kind as ReportKind;
  if (!REPORT_KINDS.includes(kind)) throw new UsageError(`report needs one of ${REPORT_KINDS.join(', ')}`);
  const format = (args.format ?? (kind === 'service-entries' ? 'yaml' : 'table')) as ReportFormat;
  if (!['yaml', 'json', 'table'].includes(format) || (format === 'yaml' && kind !== 'service-entries')) {
    throw new UsageError(`--format ${format} does not apply to ${kind}`);
  }
  if (args.apiVersion && !['v1', 'v1beta1'].includes(args.apiVersion))
    throw new UsageError('--api-version is v1 or v1beta1');
  const numbers = {
    limit: intFlag('--limit', args.limit, 1, MAX_LIMIT),
    offset: intFlag('--offset', args.offset, 0, MAX_OFFSET),
    cidrPrefixV4: intFlag('--cidr-prefix-v4', args.cidrPrefixV4, 8, 32),
    cidrPrefixV6: intFlag('--cidr-prefix-v6', args.cidrPrefixV6, 32, 128),
  };
  const token = args.authToken ?? config.authToken;
  if (args.server) return fromServer(args.server, kind, format, args, numbers, token);

  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(config);
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    const advert = findServer(config.data);
    if (!advert) throw err;
    process.stderr.write(
      `egresslens: ${config.data} is held by a running egresslens serve (pid ${advert.pid}); asking it at ${advert.url}\n`,
    );
    return fromServer(advert.url, kind, format, args, numbers, token);
  }
  try {
    await store.migrate();
    const registry = config.registry.length ? await loadRegistry(config.registry) : null;
    const rendered = await renderReport(store, {
      kind,
      since: args.since,
      until: args.until,
      namespace: args.namespace,
      format,
      apiVersion: args.apiVersion as 'v1' | 'v1beta1' | undefined,
      ...numbers,
      // A running server applies its own configuration; here the local one fills what no flag set.
      cidrPrefixV4: numbers.cidrPrefixV4 ?? config.reports.cidrPrefixV4,
      cidrPrefixV6: numbers.cidrPrefixV6 ?? config.reports.cidrPrefixV6,
      registry,
    });
    process.stdout.write(rendered.text);
  } finally {
    await store.close();
  }
  return 0;
}

/** A whole number flag within bounds, or undefined when not given; a one-line usage error otherwise. */
function intFlag(flag: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min || n > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, not ${JSON.stringify(text)}`);
  }
  return n;
}

async function fromServer(
  base: string,
  kind: ReportKind,
  format: ReportFormat,
  args: ReportArgs,
  numbers: Record<string, number | undefined>,
  token: string | undefined,
): Promise<number> {
  const path = kind === 'hosts' ? '/v1/hosts' : `/v1/reports/${kind}`;
  const url = new URL(path, base);
  for (const [k, v] of Object.entries({
    since: args.since,
    until: args.until,
    namespace: args.namespace,
    format,
    apiVersion: args.apiVersion,
  })) {
    if (v) url.searchParams.set(k, v);
  }
  for (const [k, v] of Object.entries(numbers)) {
    // The CIDR prefixes apply to service-entries only (the other routes refuse unknown parameters).
    if (v === undefined || (k.startsWith('cidr') && kind !== 'service-entries')) continue;
    url.searchParams.set(k, String(v));
  }
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = await res.text();
  if (!res.ok) {
    process.stderr.write(`egresslens: ${url} answered ${res.status}: ${body}\n`);
    return 1;
  }
  process.stdout.write(body);
  return 0;
}
