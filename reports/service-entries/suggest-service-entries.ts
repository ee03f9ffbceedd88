/**
 * Suggested ServiceEntries for the external destinations seen through `PassthroughCluster`, so that a team can
 * switch `outboundTrafficPolicy.mode` to `REGISTRY_ONLY` without breaking them. One suggestion per host (DNS),
 * per IP literal (STATIC, with a warning), or per wildcard `*.parent` when at least `wildcardMinSiblings` sibling
 * hosts were seen (NONE, with a warning); the wildcard replaces its members' entries.
 *
 * Only what Istio accepts is suggested (see service-entry-flags.ts for what is listed as `flagged` instead):
 * - in-mesh, link-local, single-label and invalid host names are flagged, never emitted;
 * - opaque TCP needs `addresses` (IST0134): a host whose ports are all TCP lists the IPs seen as addresses; the
 *   TCP ports of a host that also has HTTP/TLS ports (and of wildcard members) become IP entries, so that the
 *   HTTP/TLS ports stay matched by name whatever IP the host resolves to; TCP with no IP logged is flagged.
 */

import type { DestinationTraffic } from '../shared/destination.js';
import { normalizeHost } from '../shared/host-match.js';
import { bareIp, isIpLiteral } from '../shared/ip-literal.js';
import { buildSuggestion, syntheticIpHost } from './build-suggestion.js';
import { chooseProtocol, isValidPort } from './port-protocol.js';
import {
  DEFAULT_CLUSTER_DOMAIN,
  destinationFlag,
  type FlaggedDestination,
  type FlagReason,
  tcpWithoutAddressDetail,
} from './service-entry-flags.js';
import { NameAllocator, nameFromHost } from './service-entry-name.js';
import {
  DEFAULT_API_VERSION,
  type ServiceEntryApiVersion,
  type Suggestion,
  type SuggestionKind,
} from './suggestion.js';
import { findWildcardGroups } from './wildcard-groups.js';

export interface SuggestOptions {
  /** Distinct sibling subdomains needed before `*.parent` is suggested (default 5, at least 2). */
  wildcardMinSiblings?: number;
  /** Default `networking.istio.io/v1` (Istio 1.22+); `v1beta1` for older control planes. */
  apiVersion?: ServiceEntryApiVersion;
  /** `metadata.namespace` of every suggestion (none: wherever they are applied). */
  namespace?: string;
  /** `spec.exportTo` of every suggestion (none: Istio's default, every namespace). */
  exportTo?: string[];
  /** Names already in use (e.g. registry entries in the target namespace) that suggestions must avoid. */
  reservedNames?: Iterable<string>;
  /** The mesh's cluster DNS domain (default `cluster.local`): names under it are in-mesh, never external. */
  clusterDomain?: string;
}

export interface ServiceEntryPlan {
  suggestions: Suggestion[];
  /** Destinations that get no suggestion, with the reason (in-mesh, link-local, invalid name, …). */
  flagged: FlaggedDestination[];
}

export const DEFAULT_WILDCARD_MIN_SIBLINGS = 5;

/** The rows' host normalised (lowercase, no trailing dot, bare IP); the row's `ip` when the host is empty. */
export function normalizeTraffic(traffic: readonly DestinationTraffic[]): DestinationTraffic[] {
  const out: DestinationTraffic[] = [];
  for (const r of traffic) {
    const host = normalizeHost(r.host || r.ip || '');
    if (host === '') continue;
    out.push(host === r.host ? r : { ...r, host });
  }
  return out;
}

interface Group {
  rows: DestinationTraffic[];
  unknown: DestinationTraffic[];
}

interface Planned {
  kind: SuggestionKind;
  specHost: string;
  rows: DestinationTraffic[];
  unknown: DestinationTraffic[];
}

export function suggestServiceEntries(
  traffic: readonly DestinationTraffic[],
  opts: SuggestOptions = {},
): Suggestion[] {
  return planServiceEntries(traffic, opts).suggestions;
}

/**
 * The destinations sorted out before any entry is built: those that must not become an external entry (flagged,
 * with the reason), and the rest by host, the TCP ports of named hosts that also have HTTP/TLS ports moved to
 * their IPs. Every named destination that is not flagged ends up in some suggestion (its own, a wildcard's or
 * its IP's), so this is all the readiness report needs.
 */
export interface ClassifiedDestinations {
  byHost: Map<string, Group>;
  flagged: FlaggedDestination[];
  /** Hosts whose ports are all TCP: an entry with addresses. */
  addressed: Set<string>;
  /** IP → the named hosts whose TCP traffic it carries, for the IP entry's warning. */
  tcpNames: Map<string, Set<string>>;
}

export function classifyDestinations(
  traffic: readonly DestinationTraffic[],
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): ClassifiedDestinations {
  const flagged: FlaggedDestination[] = [];

  const byHost = new Map<string, Group>();
  for (const r of normalizeTraffic(traffic))
    groupOf(byHost, r.host)[isValidPort(r.port) ? 'rows' : 'unknown'].push(r);
  // A host seen only with an unknown port has nothing to declare (see `trafficWithoutPort`).
  for (const [host, g] of byHost) if (g.rows.length === 0) byHost.delete(host);

  // Destinations that must not become an external entry.
  for (const [host, g] of byHost) {
    const flag = destinationFlag(host, ipsOf(g.rows), clusterDomain);
    if (!flag) continue;
    flagged.push(flaggedOf(host, flag.reason, flag.detail, [...g.rows, ...g.unknown]));
    byHost.delete(host);
  }

  // Opaque TCP needs addresses: split it off named hosts that also have HTTP/TLS ports.
  const addressed = new Set<string>();
  const tcpNames = new Map<string, Set<string>>();
  for (const [host, g] of [...byHost]) {
    if (isIpLiteral(host)) continue;
    const tcpPorts = tcpPortsOf(g.rows);
    if (tcpPorts.size === 0) continue;
    const tcpRows = g.rows.filter((r) => tcpPorts.has(r.port));
    const withIp = tcpRows.filter((r) => r.ip && isIpLiteral(r.ip));
    const withoutIp = tcpRows.filter((r) => !(r.ip && isIpLiteral(r.ip)));
    if (tcpRows.length === g.rows.length && withIp.length > 0) {
      addressed.add(host);
      continue;
    }
    if (withoutIp.length > 0) {
      const ports = uniqSorted(withoutIp.map((r) => r.port));
      flagged.push(flaggedOf(host, 'tcp-without-address', tcpWithoutAddressDetail(host, ports), withoutIp));
    }
    g.rows = g.rows.filter((r) => !tcpPorts.has(r.port));
    if (g.rows.length === 0) byHost.delete(host);
    for (const r of withIp) {
      const ip = bareIp(r.ip!);
      const { recoveredFrom: _r, recoveredRequests: _n, ...rest } = r;
      groupOf(byHost, ip).rows.push({ ...rest, host: ip, ip });
      const names = tcpNames.get(ip) ?? new Set<string>();
      names.add(`${host}:${r.port}`);
      tcpNames.set(ip, names);
    }
  }
  // IPs that named TCP traffic was moved to may be link-local.
  for (const ip of tcpNames.keys()) {
    const g = byHost.get(ip);
    const flag = g && destinationFlag(ip, [ip], clusterDomain);
    if (!g || !flag) continue;
    flagged.push(flaggedOf(ip, flag.reason, flag.detail, [...g.rows, ...g.unknown]));
    byHost.delete(ip);
  }
  return { byHost, flagged, addressed, tcpNames };
}

export function planServiceEntries(
  traffic: readonly DestinationTraffic[],
  opts: SuggestOptions = {},
): ServiceEntryPlan {
  const apiVersion = opts.apiVersion ?? DEFAULT_API_VERSION;
  const minSiblings = opts.wildcardMinSiblings ?? DEFAULT_WILDCARD_MIN_SIBLINGS;
  const { byHost, flagged, addressed, tcpNames } = classifyDestinations(traffic, opts.clusterDomain);

  const names = [...byHost.keys()].filter((h) => !isIpLiteral(h) && !addressed.has(h));
  const groups = findWildcardGroups(names, minSiblings);
  const planned: Planned[] = [];
  const absorbed = new Set<string>();
  for (const group of groups) {
    const rows: DestinationTraffic[] = [];
    const unknown: DestinationTraffic[] = [];
    for (const m of group.members) {
      const g = byHost.get(m)!;
      rows.push(...g.rows);
      unknown.push(...g.unknown);
      absorbed.add(m);
    }
    planned.push({ kind: 'wildcard', specHost: group.wildcard, rows, unknown });
  }
  for (const [host, g] of byHost) {
    if (absorbed.has(host)) continue;
    planned.push({ kind: isIpLiteral(host) ? 'ip' : 'host', specHost: host, ...g });
  }
  planned.sort((a, b) => compare(sortKey(a), sortKey(b)));

  const allocator = new NameAllocator(opts.reservedNames);
  const ctx = {
    apiVersion,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.exportTo && opts.exportTo.length > 0 ? { exportTo: [...opts.exportTo] } : {}),
  };
  const suggestions = planned.map((p) => {
    const base = nameFromHost(
      p.kind === 'ip' ? syntheticIpHost(p.specHost).replace(/\.external$/, '') : p.specHost,
    );
    const s = buildSuggestion(p.kind, p.specHost, p.rows, p.unknown, allocator.take(base), ctx);
    const moved = p.kind === 'ip' ? tcpNames.get(p.specHost) : undefined;
    if (moved) {
      s.warnings.push(
        `Opaque TCP of ${[...moved].sort().join(', ')} went to this IP: declared by address here (Istio ` +
          `matches TCP by address) so that the name's HTTP/TLS entry stays matched by name.`,
      );
    }
    return s;
  });
  warnSharedAddresses(suggestions);
  flagged.sort((a, b) => compare(`${a.reason}|${a.host}`, `${b.reason}|${b.host}`));
  return { suggestions, flagged };
}

function groupOf(map: Map<string, Group>, host: string): Group {
  let g = map.get(host);
  if (!g) map.set(host, (g = { rows: [], unknown: [] }));
  return g;
}

function ipsOf(rows: readonly DestinationTraffic[]): string[] {
  return [...new Set(rows.filter((r) => r.ip && isIpLiteral(r.ip)).map((r) => bareIp(r.ip!)))];
}

/** Ports of a named host that would be declared TCP (the same rule `buildSuggestion` applies per port). */
function tcpPortsOf(rows: readonly DestinationTraffic[]): Set<number> {
  const byPort = new Map<
    number,
    { requests: number; httpRequests: number; tlsWithSni: number; grpcRequests: number }
  >();
  for (const r of rows) {
    const c = byPort.get(r.port) ?? { requests: 0, httpRequests: 0, tlsWithSni: 0, grpcRequests: 0 };
    c.requests += r.requests;
    c.httpRequests += r.httpRequests;
    c.tlsWithSni += r.tlsWithSni;
    c.grpcRequests += r.grpcRequests;
    byPort.set(r.port, c);
  }
  const out = new Set<number>();
  for (const [port, c] of byPort) if (chooseProtocol(port, c).protocol === 'TCP') out.add(port);
  return out;
}

function flaggedOf(
  host: string,
  reason: FlagReason,
  detail: string,
  rows: readonly DestinationTraffic[],
): FlaggedDestination {
  const times = rows.flatMap((r) => [r.firstSeen, r.lastSeen]).filter((t) => t !== '');
  const byTime = [...times].sort((a, b) => (Date.parse(a) || 0) - (Date.parse(b) || 0));
  return {
    host,
    reason,
    detail,
    ports: uniqSorted(rows.map((r) => r.port).filter(isValidPort)),
    requests: rows.reduce((s, r) => s + r.requests, 0),
    bytes: rows.reduce((s, r) => s + r.bytes, 0),
    namespaces: [...new Set(rows.flatMap((r) => r.namespaces))].sort(),
    workloads: [...new Set(rows.flatMap((r) => r.workloads))].sort(),
    ips: ipsOf(rows).sort(),
    firstSeen: byTime[0] ?? '',
    lastSeen: byTime[byTime.length - 1] ?? '',
  };
}

function uniqSorted(ns: readonly number[]): number[] {
  return [...new Set(ns)].sort((a, b) => a - b);
}

function sortKey(p: Planned): string {
  return p.kind === 'ip' ? `~${p.specHost}` : p.specHost.replace(/^\*\./, '');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Entries that declare the same TCP port on the same address would capture each other's traffic: each says
 * which others share it.
 */
function warnSharedAddresses(suggestions: Suggestion[]): void {
  const byKey = new Map<string, Suggestion[]>();
  for (const s of suggestions) {
    const addresses = s.resource.spec.addresses ?? [];
    for (const p of s.resource.spec.ports) {
      if (p.protocol !== 'TCP') continue;
      for (const a of addresses) {
        const key = `${a.replace(/\/(32|128)$/, '')}:${p.number}`;
        const list = byKey.get(key) ?? [];
        if (!list.includes(s)) list.push(s);
        byKey.set(key, list);
      }
    }
  }
  for (const [key, list] of byKey) {
    if (list.length < 2) continue;
    for (const s of list) {
      const others = list.filter((o) => o !== s).map((o) => o.hosts[0]);
      s.warnings.push(
        `TCP ${key} is also declared by ${others.join(', ')}: Istio cannot tell these apart, only one of ` +
          `them will receive the traffic.`,
      );
    }
  }
}

/** Rows that no suggestion can declare: their port is unknown (0 or not 1–65535). */
export function trafficWithoutPort(traffic: readonly DestinationTraffic[]): DestinationTraffic[] {
  return normalizeTraffic(traffic).filter((r) => !isValidPort(r.port));
}
