/**
 * Lockdown readiness: for each source namespace, what REGISTRY_ONLY would do to its external traffic in the
 * window if the registry and the suggested ServiceEntries were applied. A request is admitted when it already
 * went through a ServiceEntry, when a registry entry covers its destination, or when a suggestion does; the
 * rest would be blocked, each destination with the reason it gets no entry (in-mesh host reached through
 * PassthroughCluster, an invalid or link-local name, …). Each namespace gets a ready-to-apply Sidecar that
 * switches it to REGISTRY_ONLY.
 *
 * The totals per namespace are counted in the engine; destinations not yet allowed are grouped there too and
 * read up to a bound (`maxDestinations`): past it the answer says how many requests were not examined.
 */
import type { Store } from '../../store/store.js';
import type { RegistryEntry } from '../registry/registry.js';
import { type FlaggedDestination, isLinkLocal } from '../service-entries/service-entry-flags.js';
import { planServiceEntries } from '../service-entries/suggest-service-entries.js';
import type { ServiceEntryApiVersion } from '../service-entries/suggestion.js';
import { parseAddressRange, rangeContains } from '../shared/address-range.js';
import { ALLOWED_EXTERNAL_BY_DOMAIN_SQL, clusterDomainParam } from '../shared/cluster-domain.js';
import type { DestinationTraffic } from '../shared/destination.js';
import { hostMatches } from '../shared/host-match.js';
import { bareIp, isIpLiteral } from '../shared/ip-literal.js';
import { type ListInfo, listInfo, pageOf, slicePage } from '../shared/page.js';
import { BLOCKED_SQL, HOST_SQL, PASSTHROUGH_SQL, STATE_SQL } from '../shared/traffic-sql.js';
import { type ReportWindow, WINDOW_SQL, windowParams } from '../shared/window.js';
import { sidecarYaml } from './sidecar.js';

export interface DestinationToBlock {
  host: string;
  port: number;
  requests: number;
  reason: string;
}

export interface NamespaceReadiness {
  namespace: string;
  /** External requests in the window: through PassthroughCluster, blocked, or through a ServiceEntry. */
  requests: number;
  /** Already through a ServiceEntry, or to a destination a registry entry covers. */
  admittedByRegistry: number;
  /** To destinations only the suggested ServiceEntries would admit. */
  admittedWithSuggestions: number;
  wouldBlock: number;
  /** Requests to destinations past `maxDestinations`, not examined (counted neither way). */
  notExamined: number;
  /** (admittedByRegistry + admittedWithSuggestions) / requests. */
  share: number;
  destinationsToBlock: { items: DestinationToBlock[]; total: number; truncated: boolean };
  sidecarYaml: string;
}

export interface ReadinessReport extends ListInfo {
  window: { since: string; until: string };
  namespaces: NamespaceReadiness[];
  /** True when more destinations were not yet allowed than `maxDestinations`: see each `notExamined`. */
  destinationsTruncated: boolean;
}

export interface ReadinessOptions {
  namespace?: string;
  limit?: number;
  offset?: number;
  registry: RegistryEntry[] | null;
  apiVersion: ServiceEntryApiVersion;
  clusterDomain?: string;
  /** Destinations listed per namespace (default 50). */
  destinationsPerNamespace?: number;
  /** Destinations not yet allowed read from the engine at most (default 50,000). */
  maxDestinations?: number;
}

const FILTER = `${WINDOW_SQL} AND ({namespace:String} = '' OR k8s_namespace = {namespace:String})`;

const TOTALS_QUERY = `
SELECT k8s_namespace AS namespace, countIf(${ALLOWED_EXTERNAL_BY_DOMAIN_SQL} AND NOT ${PASSTHROUGH_SQL} AND NOT ${BLOCKED_SQL}) AS allowed,
  count() AS requests
FROM access_log
WHERE ${FILTER} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL})
GROUP BY namespace
ORDER BY namespace`;

const DESTINATIONS_QUERY = `
SELECT k8s_namespace AS namespace, ${HOST_SQL} AS host, dst_port AS port, any(dst_ip) AS ip, ${STATE_SQL} AS state,
  count() AS requests, countIf(method != '') AS http_requests, countIf(requested_server_name != '') AS tls_with_sni,
  toString(min(start_time)) AS first_seen, toString(max(start_time)) AS last_seen,
  count() OVER () AS total
FROM access_log
WHERE ${FILTER} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL})
GROUP BY namespace, host, port, state
ORDER BY requests DESC, namespace, host, port
LIMIT {max:UInt32}`;

interface DestinationRow {
  namespace: string;
  host: string;
  port: number;
  ip: string;
  state: string;
  requests: string | number;
  http_requests: string | number;
  tls_with_sni: string | number;
  first_seen: string;
  last_seen: string;
  total: string | number;
}

/** Does a ServiceEntry with these hosts, addresses and ports admit traffic to host:port (at ip)? */
function admits(
  spec: { hosts: readonly string[]; addresses?: readonly string[]; ports: readonly { number: number }[] },
  host: string,
  port: number,
  ip: string,
): boolean {
  if (spec.ports.length > 0 && !spec.ports.some((p) => p.number === port)) return false;
  if (spec.hosts.some((h) => hostMatches(h, host))) return true;
  // By address: the destination IP inside one of the entry's addresses (IPs or CIDRs, IPv4-mapped as IPv4).
  const dest = parseAddressRange(ip && isIpLiteral(ip) ? ip : isIpLiteral(host) ? host : '');
  if (!dest) return false;
  return (spec.addresses ?? []).some((a) => {
    const range = parseAddressRange(a);
    return range !== undefined && rangeContains(range, dest);
  });
}

export async function readinessReport(
  store: Store,
  window: ReportWindow,
  opts: ReadinessOptions,
): Promise<ReadinessReport> {
  const params = {
    ...windowParams(window),
    namespace: opts.namespace ?? '',
    max: opts.maxDestinations ?? 50_000,
    ...clusterDomainParam(opts.clusterDomain),
  };
  const [totals, rows] = await Promise.all([
    store.query<{ namespace: string; allowed: string | number; requests: string | number }>(TOTALS_QUERY, {
      params,
    }),
    store.query<DestinationRow>(DESTINATIONS_QUERY, { params }),
  ]);
  const destinationsTotal = rows.length > 0 ? Number(rows[0]!.total) : 0;

  // Bare IPs need no plan: the service-entries report admits every one with an IP or network (CIDR) entry,
  // except link-local addresses. Named destinations get one plan over all of them, whichever namespace they
  // came from: what the service-entries report would suggest for the same traffic, and what it flags.
  const traffic = new Map<string, DestinationTraffic>();
  for (const r of rows) {
    if (isIpLiteral(r.host)) continue;
    const key = `${r.host}:${r.port}`;
    const t = traffic.get(key);
    const requests = Number(r.requests);
    if (t) {
      t.requests += requests;
      t.httpRequests += Number(r.http_requests);
      t.tlsWithSni += Number(r.tls_with_sni);
      if (r.namespace && !t.namespaces.includes(r.namespace)) t.namespaces.push(r.namespace);
      continue;
    }
    traffic.set(key, {
      host: r.host,
      port: Number(r.port),
      ip: r.ip || undefined,
      requests,
      bytes: 0,
      httpRequests: Number(r.http_requests),
      tlsWithSni: Number(r.tls_with_sni),
      grpcRequests: 0,
      namespaces: r.namespace ? [r.namespace] : [],
      workloads: [],
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      examplePaths: [],
    });
  }
  const plan = planServiceEntries([...traffic.values()], {
    apiVersion: opts.apiVersion,
    clusterDomain: opts.clusterDomain,
  });
  // Every named destination the plan does not flag is in one of its suggestions (an entry, a wildcard, or an
  // IP entry for its TCP ports): a lookup per destination instead of matching it against every suggestion.
  const flaggedByHost = new Map<string, FlaggedDestination[]>();
  for (const f of plan.flagged) flaggedByHost.set(f.host, [...(flaggedByHost.get(f.host) ?? []), f]);
  const registry = opts.registry ?? [];

  type Verdict = { by: 'registry' | 'suggestion' } | { by: 'none'; reason: string };
  const verdicts = new Map<string, Verdict>();
  const verdictOf = (host: string, port: number, ip: string): Verdict => {
    const key = `${host}:${port}`;
    let v = verdicts.get(key);
    if (v) return v;
    const flag = flaggedByHost.get(host)?.find((f) => f.ports.length === 0 || f.ports.includes(port));
    if (registry.some((e) => admits(e, host, port, ip))) v = { by: 'registry' };
    else if (isIpLiteral(host) && isLinkLocal(bareIp(host)))
      v = {
        by: 'none',
        reason: `link-local: ${host} is a link-local address (the cloud metadata service's range); no ServiceEntry admits it`,
      };
    else if (flag) v = { by: 'none', reason: `${flag.reason}: ${flag.detail}` };
    else v = { by: 'suggestion' };
    verdicts.set(key, v);
    return v;
  };

  const perNamespace = new Map<
    string,
    { registry: number; suggestion: number; block: DestinationToBlock[]; examined: number }
  >();
  for (const r of rows) {
    const ns = perNamespace.get(r.namespace) ?? { registry: 0, suggestion: 0, block: [], examined: 0 };
    perNamespace.set(r.namespace, ns);
    const requests = Number(r.requests);
    ns.examined += requests;
    const v = verdictOf(r.host, Number(r.port), r.ip);
    if (v.by === 'none') {
      const same = ns.block.find((b) => b.host === r.host && b.port === Number(r.port));
      if (same) same.requests += requests;
      else ns.block.push({ host: r.host, port: Number(r.port), requests, reason: v.reason });
    } else if (v.by === 'registry') ns.registry += requests;
    else ns.suggestion += requests;
  }

  const perList = opts.destinationsPerNamespace ?? 50;
  const all: NamespaceReadiness[] = totals.map((t) => {
    const requests = Number(t.requests);
    const allowed = Number(t.allowed);
    const ns = perNamespace.get(t.namespace) ?? { registry: 0, suggestion: 0, block: [], examined: 0 };
    const notAllowed = requests - allowed;
    const wouldBlock = ns.block.reduce((s, b) => s + b.requests, 0);
    const admittedByRegistry = allowed + ns.registry;
    const block = ns.block.sort((a, b) => b.requests - a.requests || a.host.localeCompare(b.host));
    return {
      namespace: t.namespace,
      requests,
      admittedByRegistry,
      admittedWithSuggestions: ns.suggestion,
      wouldBlock,
      notExamined: Math.max(0, notAllowed - ns.examined),
      share: requests > 0 ? (admittedByRegistry + ns.suggestion) / requests : 1,
      destinationsToBlock: {
        items: block.slice(0, perList),
        total: block.length,
        truncated: block.length > perList,
      },
      sidecarYaml: '',
    };
  });
  // Least ready first: where the work is.
  all.sort((a, b) => a.share - b.share || b.requests - a.requests || a.namespace.localeCompare(b.namespace));
  const page = pageOf(opts);
  const namespaces = slicePage(all, page);
  for (const n of namespaces) n.sidecarYaml = sidecarYaml(n, opts.apiVersion);
  return {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    ...listInfo(page, namespaces.length, all.length),
    namespaces,
    destinationsTruncated: destinationsTotal > rows.length,
  };
}
