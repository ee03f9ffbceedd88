/**
 * Lockdown readiness: for each source namespace, what REGISTRY_ONLY would do to its external traffic in the
 * window if the registry and the suggested ServiceEntries were applied. A request is admitted when it already
 * went through a ServiceEntry, when a registry entry covers its destination, or when a suggestion does; the
 * rest would be blocked, each destination with the reason it gets no entry (in-mesh host reached through
 * PassthroughCluster, an invalid or link-local name, …). Each namespace gets a ready-to-apply Sidecar that
 * switches it to REGISTRY_ONLY.
 *
 * The totals per namespace are counted in the engine. Destinations not yet allowed are grouped there too, one
 * row per destination with its requests per namespace, and read up to a bound (`maxDestinations`): past it the
 * answer says how many requests were not examined. Bare IPs need no plan (the service-entries report admits
 * every one with an IP or network entry, except link-local ones): unless a registry entry declares addresses
 * (then an IP may be the registry's), the engine counts them per namespace instead of listing them, so that tens
 * of thousands of IP-only destinations cost one column of the totals.
 */
import type { Store } from '../../store/store.js';
import { entryRanges } from '../registry/entry-ranges.js';
import type { RegistryEntry } from '../registry/registry.js';
import { type FlaggedDestination, isLinkLocal } from '../service-entries/service-entry-flags.js';
import { classifyDestinations } from '../service-entries/suggest-service-entries.js';
import type { ServiceEntryApiVersion } from '../service-entries/suggestion.js';
import { parseAddressRange, rangeContains } from '../shared/address-range.js';
import { ALLOWED_EXTERNAL_BY_DOMAIN_SQL, clusterDomainParam } from '../shared/cluster-domain.js';
import type { DestinationTraffic } from '../shared/destination.js';
import { hostMatches, isWildcardHost, normalizeHost } from '../shared/host-match.js';
import { bareIp, isIpLiteral } from '../shared/ip-literal.js';
import { type ListInfo, listInfo, pageOf, slicePage } from '../shared/page.js';
import {
  BLOCKED_SQL,
  HOST_SQL,
  IS_IP_SQL,
  IS_LINK_LOCAL_SQL,
  PASSTHROUGH_SQL,
} from '../shared/traffic-sql.js';
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

/** Rows to bare IPs that are not link-local: admitted by an IP or network entry, counted without a plan. */
const PLAIN_IP_SQL = `(NOT {list_ips:UInt8} AND upstream_cluster NOT LIKE 'outbound|%' AND ${IS_IP_SQL('dst_host')}
  AND NOT ${IS_LINK_LOCAL_SQL('dst_host')})`;

const TOTALS_QUERY = `
SELECT k8s_namespace AS namespace, countIf(${ALLOWED_EXTERNAL_BY_DOMAIN_SQL} AND NOT ${PASSTHROUGH_SQL} AND NOT ${BLOCKED_SQL}) AS allowed,
  count() AS requests, countIf((${PASSTHROUGH_SQL} OR ${BLOCKED_SQL}) AND ${PLAIN_IP_SQL}) AS plain_ip_requests
FROM access_log
WHERE ${FILTER} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL} OR ${ALLOWED_EXTERNAL_BY_DOMAIN_SQL})
GROUP BY namespace
ORDER BY namespace`;

const DESTINATIONS_QUERY = `
SELECT host, port, any(ip) AS ip, sum(n) AS requests, sum(http) AS http_requests, sum(tls) AS tls_with_sni,
  toString(min(first)) AS first_seen, toString(max(last)) AS last_seen,
  groupArray(namespace) AS ns_names, groupArray(n) AS ns_requests,
  count() OVER () AS total
FROM (
  SELECT k8s_namespace AS namespace, ${HOST_SQL} AS host, dst_port AS port, any(dst_ip) AS ip, count() AS n,
    countIf(method != '') AS http, countIf(requested_server_name != '') AS tls,
    min(start_time) AS first, max(start_time) AS last
  FROM access_log
  WHERE ${FILTER} AND (${PASSTHROUGH_SQL} OR ${BLOCKED_SQL}) AND NOT ${PLAIN_IP_SQL}
  GROUP BY namespace, host, port)
GROUP BY host, port
ORDER BY requests DESC, host, port
LIMIT {max:UInt32}`;

interface DestinationRow {
  host: string;
  port: number;
  ip: string;
  requests: string | number;
  http_requests: string | number;
  tls_with_sni: string | number;
  first_seen: string;
  last_seen: string;
  ns_names: string[];
  ns_requests: Array<string | number>;
  total: string | number;
}

/** Does a ServiceEntry with these hosts, addresses and ports admit traffic to host:port (at ip)? */
function admits(entry: RegistryEntry, host: string, port: number, ip: string): boolean {
  if (entry.ports.length > 0 && !entry.ports.some((p) => p.number === port)) return false;
  if (entry.hosts.some((h) => hostMatches(h, host))) return true;
  const ranges = entryRanges(entry);
  if (ranges.length === 0) return false;
  // By address: the destination IP inside one of the entry's addresses (IPs or CIDRs, IPv4-mapped as IPv4).
  const dest = parseAddressRange(ip && isIpLiteral(ip) ? ip : isIpLiteral(host) ? host : '');
  return dest !== undefined && ranges.some((range) => rangeContains(range, dest));
}

/** Whether a ServiceEntry host can match an IP literal: an IP itself, `*`, or a wildcard ending like one. */
function mayMatchIp(pattern: string): boolean {
  const p = normalizeHost(pattern);
  return isIpLiteral(p) || (isWildcardHost(p) && /^[0-9a-f.:]*$/.test(p.slice(1)));
}

export async function readinessReport(
  store: Store,
  window: ReportWindow,
  opts: ReadinessOptions,
): Promise<ReadinessReport> {
  const registry = opts.registry ?? [];
  // A registry entry may admit an IP (by its addresses, or a host that can match an IP literal): then every IP
  // destination is listed and judged here.
  const listIps = registry.some((e) => entryRanges(e).length > 0 || e.hosts.some(mayMatchIp));
  const params = {
    ...windowParams(window),
    namespace: opts.namespace ?? '',
    max: opts.maxDestinations ?? 50_000,
    list_ips: listIps ? 1 : 0,
    ...clusterDomainParam(opts.clusterDomain),
  };
  const totals = await store.query<{
    namespace: string;
    allowed: string | number;
    requests: string | number;
    plain_ip_requests: string | number;
  }>(TOTALS_QUERY, { params });
  const rows = await store.query<DestinationRow>(DESTINATIONS_QUERY, { params });
  const destinationsTotal = rows.length > 0 ? Number(rows[0]!.total) : 0;

  // Named destinations are classified as the service-entries report would for the same traffic, whichever
  // namespace they came from: what it flags gets no entry; every other named destination is in a suggestion.
  const traffic: DestinationTraffic[] = [];
  for (const r of rows) {
    if (isIpLiteral(r.host)) continue;
    traffic.push({
      host: r.host,
      port: Number(r.port),
      ip: r.ip || undefined,
      requests: Number(r.requests),
      bytes: 0,
      httpRequests: Number(r.http_requests),
      tlsWithSni: Number(r.tls_with_sni),
      grpcRequests: 0,
      namespaces: r.ns_names.filter((n) => n !== ''),
      workloads: [],
      firstSeen: r.first_seen,
      lastSeen: r.last_seen,
      examplePaths: [],
    });
  }
  const { flagged } = classifyDestinations(traffic, opts.clusterDomain);
  const flaggedByHost = new Map<string, FlaggedDestination[]>();
  for (const f of flagged) flaggedByHost.set(f.host, [...(flaggedByHost.get(f.host) ?? []), f]);

  type Verdict = { by: 'registry' | 'suggestion' } | { by: 'none'; reason: string };
  const verdictOf = (host: string, port: number, ip: string): Verdict => {
    const flag = flaggedByHost.get(host)?.find((f) => f.ports.length === 0 || f.ports.includes(port));
    if (registry.some((e) => admits(e, host, port, ip))) return { by: 'registry' };
    if (isIpLiteral(host) && isLinkLocal(bareIp(host)))
      return {
        by: 'none',
        reason: `link-local: ${host} is a link-local address (the cloud metadata service's range); no ServiceEntry admits it`,
      };
    if (flag) return { by: 'none', reason: `${flag.reason}: ${flag.detail}` };
    return { by: 'suggestion' };
  };

  interface Tally {
    registry: number;
    suggestion: number;
    block: Map<string, DestinationToBlock>;
    examined: number;
  }
  const perNamespace = new Map<string, Tally>();
  const tallyOf = (ns: string): Tally => {
    let t = perNamespace.get(ns);
    if (!t) perNamespace.set(ns, (t = { registry: 0, suggestion: 0, block: new Map(), examined: 0 }));
    return t;
  };
  for (const t of totals) {
    const n = tallyOf(t.namespace);
    n.suggestion += Number(t.plain_ip_requests);
    n.examined += Number(t.plain_ip_requests);
  }
  for (const r of rows) {
    const port = Number(r.port);
    const v = verdictOf(r.host, port, r.ip);
    r.ns_names.forEach((namespace, i) => {
      const ns = tallyOf(namespace);
      const requests = Number(r.ns_requests[i]);
      ns.examined += requests;
      if (v.by === 'none') {
        const key = `${r.host}\u0000${port}`;
        const same = ns.block.get(key);
        if (same) same.requests += requests;
        else ns.block.set(key, { host: r.host, port, requests, reason: v.reason });
      } else if (v.by === 'registry') ns.registry += requests;
      else ns.suggestion += requests;
    });
  }

  const perList = opts.destinationsPerNamespace ?? 50;
  const all: NamespaceReadiness[] = totals.map((t) => {
    const requests = Number(t.requests);
    const allowed = Number(t.allowed);
    const ns = tallyOf(t.namespace);
    const notAllowed = requests - allowed;
    const block = [...ns.block.values()].sort(
      (a, b) => b.requests - a.requests || a.host.localeCompare(b.host),
    );
    const wouldBlock = block.reduce((s, b) => s + b.requests, 0);
    const admittedByRegistry = allowed + ns.registry;
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
