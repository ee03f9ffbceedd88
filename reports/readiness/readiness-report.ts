/**
 * Lockdown readiness: for each source namespace, what REGISTRY_ONLY would do to its external traffic in the
 * window if the registry and the suggested ServiceEntries were applied. A request is admitted when it already
 * went through a ServiceEntry, when a registry entry covers its destination, or when a suggestion does; the
 * rest would be blocked, each destination with the reason it gets no entry (in-mesh host reached through
 * PassthroughCluster, an invalid or link-local name, …). Each namespace gets a ready-to-apply Sidecar that
 * switches it to REGISTRY_ONLY.
 *
 * One scan in the engine counts each namespace's requests by kind and groups the destinations not yet allowed,
 * one row each, read up to a bound (`maxDestinations`): past it the answer says how many requests were not
 * examined. A destination's verdict is the same in every namespace, so a second query counts per namespace only
 * the destinations nothing can admit, one by one, and in one sum whichever side (a registry entry admits them, or
 * only a suggestion does) carries fewer requests; the other side is what remains. Bare IPs need no plan (the service-entries report
 * admits every one with an IP or network entry, except link-local ones): unless a registry entry declares
 * addresses (then an IP may be the registry's), the engine counts them per namespace instead of listing them, so
 * that tens of thousands of IP-only destinations cost one count per namespace.
 */
import type { Store } from '../../store/store.js';
import { entryRanges } from '../registry/entry-ranges.js';
import type { RegistryEntry } from '../registry/registry.js';
import { type FlaggedDestination, isLinkLocal } from '../service-entries/service-entry-flags.js';
import { classifyDestinations } from '../service-entries/suggest-service-entries.js';
import type { ServiceEntryApiVersion } from '../service-entries/suggestion.js';
import { parseAddressRange, rangeContains } from '../shared/address-range.js';
import { clusterDomainParam } from '../shared/cluster-domain.js';
import type { DestinationTraffic } from '../shared/destination.js';
import { hostMatches, isWildcardHost, normalizeHost } from '../shared/host-match.js';
import { bareIp, isIpLiteral } from '../shared/ip-literal.js';
import { type ListInfo, listInfo, pageOf, slicePage } from '../shared/page.js';
import { type ReportWindow, windowParams } from '../shared/window.js';
import {
  type BreakdownRow,
  breakdownSql,
  type CountRow,
  EXAMINED_PER_NAMESPACE_QUERY,
  NARROW_FIRST_SHARE,
  SCAN_QUERY,
  type ScanRow,
} from './readiness-sql.js';
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

/** JSONEachRow gives a UInt8 condition as 0/1 and a Bool as true/false. */
const isTrue = (v: number | boolean) => v === true || v === 1;

const destinationKey = (host: string, port: number) => `${host}\u0000${port}`;

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
  // grouping() as the SQL standard has it (1: the column is not a key of the row's set), whatever a server's
  // profile says.
  const scan = await store.query<ScanRow>(SCAN_QUERY, {
    params,
    settings: { force_grouping_standard_compatibility: 1 },
  });
  const rows = scan.filter((r) => isTrue(r.is_destination));
  const destinationsTotal = rows.length > 0 ? Number(rows[0]!.destinations) : 0;
  /** Per namespace, requests by kind. */
  const kinds = new Map<string, { allowed: number; plain: number; examined: number }>();
  for (const r of scan) {
    if (isTrue(r.is_destination)) continue;
    let k = kinds.get(r.namespace);
    if (!k) kinds.set(r.namespace, (k = { allowed: 0, plain: 0, examined: 0 }));
    k[r.kind] += Number(r.requests);
  }

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
      // Neither the namespaces nor the times change what the classification flags.
      namespaces: [],
      workloads: [],
      firstSeen: '',
      lastSeen: '',
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

  // Of the destinations a registry entry admits and those only the suggestions admit, the engine sums per
  // namespace whichever carries fewer requests; the other is what remains. Those nothing can admit are listed.
  const blockReasons = new Map<string, string>();
  const blocked = { hosts: [] as string[], ports: [] as number[] };
  const byVerdict = {
    registry: { hosts: [] as string[], ports: [] as number[], requests: 0 },
    suggestion: { hosts: [] as string[], ports: [] as number[], requests: 0 },
  };
  let scannedRequests = 0;
  for (const r of rows) {
    const port = Number(r.port);
    const requests = Number(r.requests);
    const v = verdictOf(r.host, port, r.ip);
    scannedRequests += requests;
    const to = v.by === 'none' ? blocked : byVerdict[v.by];
    to.hosts.push(r.host);
    to.ports.push(port);
    if (v.by === 'none') blockReasons.set(destinationKey(r.host, port), v.reason);
    else byVerdict[v.by].requests += requests;
  }
  const summedVerdict: 'registry' | 'suggestion' =
    byVerdict.registry.requests <= byVerdict.suggestion.requests ? 'registry' : 'suggestion';
  const summed = byVerdict[summedVerdict];
  const brokenDown =
    summed.requests + (scannedRequests - byVerdict.registry.requests - byVerdict.suggestion.requests);
  // At most `max` destinations, bounded like the scan's answer.
  const breakdown =
    blocked.hosts.length + summed.hosts.length === 0
      ? []
      : await store.query<BreakdownRow>(breakdownSql(brokenDown <= scannedRequests * NARROW_FIRST_SHARE), {
          params: {
            ...params,
            blocked_hosts: blocked.hosts,
            blocked_ports: blocked.ports,
            summed_hosts: summed.hosts,
            summed_ports: summed.ports,
            prefilter_hosts: [...new Set([...blocked.hosts, ...summed.hosts])],
          },
        });
  const truncated = destinationsTotal > rows.length;
  /** Requests per namespace to the examined destinations: all of them unless the list was cut at `max`. */
  const examined = new Map<string, number>();
  if (truncated) {
    for (const r of await store.query<CountRow>(EXAMINED_PER_NAMESPACE_QUERY, { params }))
      examined.set(r.namespace, Number(r.requests));
  } else {
    for (const [ns, k] of kinds) examined.set(ns, k.examined);
  }

  interface Tally {
    /** Requests to the destinations of `summedVerdict`. */
    summed: number;
    block: Map<string, DestinationToBlock>;
  }
  const perNamespace = new Map<string, Tally>();
  const tallyOf = (ns: string): Tally => {
    let t = perNamespace.get(ns);
    if (!t) perNamespace.set(ns, (t = { summed: 0, block: new Map() }));
    return t;
  };
  for (const r of breakdown) {
    const ns = tallyOf(r.namespace);
    const requests = Number(r.requests);
    if (!isTrue(r.blocked)) {
      ns.summed += requests;
      continue;
    }
    const port = Number(r.block_port);
    const key = destinationKey(r.block_host, port);
    const reason = blockReasons.get(key) ?? '';
    const same = ns.block.get(key);
    if (same) same.requests += requests;
    else ns.block.set(key, { host: r.block_host, port, requests, reason });
  }

  const perList = opts.destinationsPerNamespace ?? 50;
  const all: NamespaceReadiness[] = [...kinds].map(([namespace, k]) => {
    const requests = k.allowed + k.plain + k.examined;
    const ns = tallyOf(namespace);
    const block = [...ns.block.values()].sort(
      (a, b) => b.requests - a.requests || a.host.localeCompare(b.host),
    );
    const wouldBlock = block.reduce((s, b) => s + b.requests, 0);
    const examinedRequests = examined.get(namespace) ?? 0;
    const rest = examinedRequests - ns.summed - wouldBlock;
    const byRegistry = summedVerdict === 'registry' ? ns.summed : rest;
    const admittedByRegistry = k.allowed + byRegistry;
    // Plain IPs are admitted by the IP and network entries the suggestions hold.
    const admittedWithSuggestions = k.plain + (summedVerdict === 'suggestion' ? ns.summed : rest);
    return {
      namespace,
      requests,
      admittedByRegistry,
      admittedWithSuggestions,
      wouldBlock,
      notExamined: k.examined - examinedRequests,
      share: requests > 0 ? (admittedByRegistry + admittedWithSuggestions) / requests : 1,
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
