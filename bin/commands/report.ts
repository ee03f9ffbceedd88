/**
 * `egresslens report service-entries|blocked|timeouts|hosts`: a report once, from the store — or, while a
 * running `serve` holds the embedded store (chDB allows one process per data directory), from its API.
 */
import { existsSync } from 'node:fs';
import { loadRegistry } from '../../reports/registry/registry.js';
import {
  REPORT_KINDS,
  type ReportFormat,
  type ReportKind,
  renderReport,
} from '../../reports/render-report.js';
import { parseExportTo } from '../../reports/service-entries/service-entry-export-to.js';
import { isDns1123Label } from '../../reports/service-entries/service-entry-name.js';
import { CLUSTER_DOMAIN_HINT, isClusterDomain } from '../../reports/shared/cluster-domain.js';
import { DEFAULT_LIMIT, MAX_LIMIT, MAX_OFFSET } from '../../reports/shared/page.js';
import { parseWindow } from '../../reports/shared/window.js';
import type { Config } from '../../schemas/config.js';
import { StoreLockedError } from '../../store/chdb-store.js';
import { openStore } from '../../store/open-store.js';
import { exitOnAbort } from '../fatal-exits.js';
import { storeHolder } from '../store-holder.js';
import { UsageError, UserError } from '../usage-error.js';

export const reportUsage = `usage: egresslens report service-entries|blocked|timeouts|hosts|readiness [options]

  --since 24h|7d|all|ISO   start of the window (default 24h; all: everything stored)
  --until ISO|duration     end of the window (default now)
  --namespace NS           only traffic from this source namespace
  --registry PATH          existing ServiceEntries (YAML file or folder, repeatable) to diff against
  --format yaml|json|table service-entries: yaml (default); others: table (default) or json
  --api-version v1|v1beta1 apiVersion of suggested ServiceEntries (default v1)
  --entry-namespace NS     service-entries, blocked: metadata.namespace of the suggested ServiceEntries
  --export-to LIST         service-entries, blocked: their spec.exportTo, comma-separated (. * ~ or namespaces)
  --cluster-domain DOMAIN  all but timeouts: the mesh's cluster DNS domain (default from
                           config reports.clusterDomain, cluster.local): names under it are in-mesh
  --limit N                items to print (default ${DEFAULT_LIMIT}, at most ${MAX_LIMIT}); the header says N of M
  --offset N               items to skip first (default 0), to page through a long list
  --cidr-prefix-v4 N       service-entries: group IP-only destinations with the same ports into one CIDR entry
                           per /N IPv4 network (8-32, default from config: 24; 32 turns grouping off)
  --cidr-prefix-v6 N       the same for IPv6 (32-128, default 64)
  --data DIR | --clickhouse-url URL    the store (as for serve)
  --server URL             ask a running egresslens serve instead of opening the store
  --auth-token TOKEN       bearer token for --server: the read token (env EGRESSLENS_READ_TOKEN, or EGRESSLENS_AUTH_TOKEN)`;

export interface ReportArgs {
  kind: string | undefined;
  since?: string;
  until?: string;
  namespace?: string;
  format?: string;
  apiVersion?: string;
  entryNamespace?: string;
  exportTo?: string;
  clusterDomain?: string;
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
  if (
    !['yaml', 'json', 'table'].includes(format) ||
    (format === 'yaml' && kind !== 'service-entries' && kind !== 'readiness')
  ) {
    throw new UsageError(`--format ${format} does not apply to ${kind}`);
  }
  if (args.apiVersion && !['v1', 'v1beta1'].includes(args.apiVersion))
    throw new UsageError('--api-version is v1 or v1beta1');
  const entry = entryOptions(kind, args);
  parseWindow(args.since, args.until); // a bad --since fails here, in one line, before any store is opened
  const numbers = {
    limit: intFlag('--limit', args.limit, 1, MAX_LIMIT),
    offset: intFlag('--offset', args.offset, 0, MAX_OFFSET),
    cidrPrefixV4: intFlag('--cidr-prefix-v4', args.cidrPrefixV4, 8, 32),
    cidrPrefixV6: intFlag('--cidr-prefix-v6', args.cidrPrefixV6, 32, 128),
  };
  const token = args.authToken ?? config.readToken ?? config.authToken;
  if (args.server) return fromServer(args.server, kind, format, args, numbers, token);

  if (!config.clickhouse) {
    // Reading commands never create a store: a mistyped --data would otherwise report nothing, successfully.
    if (!existsSync(config.data)) {
      throw new UserError(
        `no data directory ${config.data}: give the one "egresslens ingest" or "serve" wrote with --data DIR`,
      );
    }
    const holder = storeHolder(config.data);
    if (holder?.server) {
      process.stderr.write(
        `egresslens: ${config.data} is held by a running egresslens serve (pid ${holder.pid}); asking it at ${holder.server.url}\n`,
      );
      return fromServer(holder.server.url, kind, format, args, numbers, token);
    }
    if (holder) {
      throw new UserError(
        `${config.data} is in use by another egresslens process (pid ${holder.pid}); wait for it to finish`,
      );
    }
  }
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(config);
  } catch (err) {
    if (!(err instanceof StoreLockedError)) throw err;
    throw new UserError(`${config.data} is in use by another egresslens process; wait for it to finish`);
  }
  exitOnAbort(); // after chDB is loaded, as for serve: an out-of-memory must end the report, not hang it
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
      ...entry,
      clusterDomain: entry.clusterDomain ?? config.reports.clusterDomain,
    });
    process.stdout.write(rendered.text);
  } finally {
    await store.close();
  }
  return 0;
}

/** The reports each of `--entry-namespace`, `--export-to` and `--cluster-domain` applies to. */
const ENTRY_FLAG_KINDS: Record<string, readonly ReportKind[]> = {
  '--entry-namespace': ['service-entries', 'blocked'],
  '--export-to': ['service-entries', 'blocked'],
  '--cluster-domain': ['service-entries', 'blocked', 'readiness', 'hosts'],
};

/** `--entry-namespace`, `--export-to` and `--cluster-domain`, checked. */
function entryOptions(
  kind: ReportKind,
  args: ReportArgs,
): { entryNamespace?: string; exportTo?: string[]; clusterDomain?: string } {
  const given: [string, string | undefined][] = [
    ['--entry-namespace', args.entryNamespace],
    ['--export-to', args.exportTo],
    ['--cluster-domain', args.clusterDomain],
  ];
  for (const [flag, value] of given) {
    const kinds = ENTRY_FLAG_KINDS[flag]!;
    if (value !== undefined && !kinds.includes(kind))
      throw new UsageError(`${flag} applies to report ${kinds.join(', ')}, not ${kind}`);
  }
  if (args.entryNamespace !== undefined && !isDns1123Label(args.entryNamespace))
    throw new UsageError(
      '--entry-namespace must be a Kubernetes namespace name (lowercase letters, digits, -)',
    );
  if (args.clusterDomain !== undefined && !isClusterDomain(args.clusterDomain))
    throw new UsageError(`--cluster-domain must be ${CLUSTER_DOMAIN_HINT}`);
  let exportTo: string[] | undefined;
  if (args.exportTo !== undefined) {
    try {
      exportTo = parseExportTo(args.exportTo, args.entryNamespace);
    } catch (err) {
      throw new UsageError(`--export-to: ${(err as Error).message}`);
    }
  }
  return {
    ...(args.entryNamespace ? { entryNamespace: args.entryNamespace } : {}),
    ...(exportTo ? { exportTo } : {}),
    ...(args.clusterDomain ? { clusterDomain: args.clusterDomain } : {}),
  };
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
  if (!/^https?:\/\/[^/]/.test(base)) {
    throw new UserError(`--server wants a URL like http://127.0.0.1:8080, not ${JSON.stringify(base)}`);
  }
  const url = new URL(path, base);
  for (const [k, v] of Object.entries({
    since: args.since,
    until: args.until,
    namespace: args.namespace,
    format,
    apiVersion: args.apiVersion,
    entryNamespace: args.entryNamespace,
    exportTo: args.exportTo,
    clusterDomain: args.clusterDomain,
  })) {
    if (v) url.searchParams.set(k, v);
  }
  for (const [k, v] of Object.entries(numbers)) {
    // The CIDR prefixes apply to service-entries only (the other routes refuse unknown parameters).
    if (v === undefined || (k.startsWith('cidr') && kind !== 'service-entries')) continue;
    url.searchParams.set(k, String(v));
  }
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    body = await res.text();
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new UserError(
      `cannot reach ${url.origin} (${cause?.code ?? cause?.message ?? (err as Error).message}): is egresslens serve running there? Check --server`,
    );
  }
  if (!res.ok) {
    let reason = body;
    try {
      reason = (JSON.parse(body) as { error?: string }).error ?? body;
    } catch {
      // not JSON: the body as it is
    }
    const hint = res.status === 401 ? ' (give --auth-token or EGRESSLENS_AUTH_TOKEN)' : '';
    throw new UserError(`${url.origin} answered ${res.status}: ${reason.trim()}${hint}`);
  }
  process.stdout.write(body);
  return 0;
}
