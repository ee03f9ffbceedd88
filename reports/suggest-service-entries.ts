/**
 * Suggested ServiceEntries for the external destinations seen through `PassthroughCluster`, so that a team can
 * switch `outboundTrafficPolicy.mode` to `REGISTRY_ONLY` without breaking them. One suggestion per host (DNS),
 * per IP literal (STATIC, with a warning), or per wildcard `*.parent` when at least `wildcardMinSiblings` sibling
 * hosts were seen (NONE, with a warning); the wildcard replaces its members' entries.
 */
import { buildSuggestion, syntheticIpHost } from './build-suggestion.js';
import type { DestinationTraffic } from './destination.js';
import { normalizeHost } from './host-match.js';
import { isIpLiteral } from './ip-literal.js';
import { isValidPort } from './port-protocol.js';
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
  /** Names already in use (e.g. registry entries in the target namespace) that suggestions must avoid. */
  reservedNames?: Iterable<string>;
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
  const apiVersion = opts.apiVersion ?? DEFAULT_API_VERSION;
  const minSiblings = opts.wildcardMinSiblings ?? DEFAULT_WILDCARD_MIN_SIBLINGS;

  const byHost = new Map<string, { rows: DestinationTraffic[]; unknown: DestinationTraffic[] }>();
  for (const r of normalizeTraffic(traffic)) {
    let g = byHost.get(r.host);
    if (!g) byHost.set(r.host, (g = { rows: [], unknown: [] }));
    (isValidPort(r.port) ? g.rows : g.unknown).push(r);
  }
  // A host seen only with an unknown port has nothing to declare (see `trafficWithoutPort`).
  for (const [host, g] of byHost) if (g.rows.length === 0) byHost.delete(host);

  const names = [...byHost.keys()].filter((h) => !isIpLiteral(h));
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
  const ctx = { apiVersion, ...(opts.namespace ? { namespace: opts.namespace } : {}) };
  const suggestions = planned.map((p) => {
    const base = nameFromHost(
      p.kind === 'ip' ? syntheticIpHost(p.specHost).replace(/\.external$/, '') : p.specHost,
    );
    return buildSuggestion(p.kind, p.specHost, p.rows, p.unknown, allocator.take(base), ctx);
  });
  warnSharedTcpPorts(suggestions);
  return suggestions;
}

function sortKey(p: Planned): string {
  return p.kind === 'ip' ? `~${p.specHost}` : p.specHost.replace(/^\*\./, '');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Hostname entries (DNS or NONE, no addresses) that declare the same TCP port are told apart by port alone: each
 * says which others share its port.
 */
function warnSharedTcpPorts(suggestions: Suggestion[]): void {
  const byPort = new Map<number, Suggestion[]>();
  for (const s of suggestions) {
    if (s.kind === 'ip') continue;
    for (const p of s.evidence.ports) {
      if (p.protocol !== 'TCP') continue;
      const list = byPort.get(p.number) ?? [];
      list.push(s);
      byPort.set(p.number, list);
    }
  }
  for (const [port, list] of byPort) {
    if (list.length < 2) continue;
    for (const s of list) {
      const others = list.filter((o) => o !== s).map((o) => o.hosts[0]);
      s.warnings.push(
        `TCP port ${port} is also declared without addresses by ${others.join(', ')}: Istio cannot tell these ` +
          `apart by port, only one of them will receive the traffic. Add addresses or enable DNS auto-allocation.`,
      );
    }
  }
}

/** Rows that no suggestion can declare: their port is unknown (0 or not 1–65535). */
export function trafficWithoutPort(traffic: readonly DestinationTraffic[]): DestinationTraffic[] {
  return normalizeTraffic(traffic).filter((r) => !isValidPort(r.port));
}
