/**
 * The ServiceEntry report: pass-through traffic → suggestions → (when a registry is configured) only what
 * the registry does not already cover, plus the registry entries that saw no traffic in the window.
 *
 * The engine aggregates the rows (passthrough-traffic.ts): per named destination and port, and the IPs without
 * a name per network and port set, so JS receives rows bounded by the distinct names and networks. JS then
 * applies the suggestion rules (wildcards, protocols, names) and returns one page of the suggestions, with
 * `total` and `truncated` saying how many there are in all.
 */
import type { Store } from '../../store/store.js';
import type { RegistryEntry } from '../registry/registry.js';
import { diffAgainstRegistry } from '../registry/registry-diff.js';
import { type ListInfo, listInfo, type PageRequest, pageOf, slicePage } from '../shared/page.js';
import type { ReportWindow } from '../shared/window.js';
import { buildCidrSuggestions } from './cidr-groups.js';
import { allowedHosts, passthroughTraffic } from './passthrough-traffic.js';
import { type FlaggedDestination, isLinkLocal } from './service-entry-flags.js';
import { NameAllocator } from './service-entry-name.js';
import { planServiceEntries } from './suggest-service-entries.js';
import type { ServiceEntryApiVersion, Suggestion } from './suggestion.js';

/** Unnamed single IPs listed in the report; `unresolvedIpCount` counts all (grouped ones included). */
export const MAX_UNRESOLVED_LISTED = 100;

export interface ServiceEntryReport extends ListInfo {
  window: { since: string; until: string };
  /** What to add: every suggestion, or with a registry only what it does not cover yet (this page). */
  suggestions: Suggestion[];
  registry: null | {
    entries: number;
    covered: Array<{ suggestion: string; entry: string }>;
    partiallyCovered: Array<{ suggestion: string; reason: string }>;
    /** Registry entries with no traffic in the window. */
    unused: Array<{ name: string; namespace: string; hosts: string[]; source: string }>;
  };
  /** Bare destination IPs no host name could be recovered for and that have no network group (at most 100). */
  unresolvedIps: string[];
  /** Destinations that get no suggestion, with the reason: in-mesh, link-local, invalid or single-label names, TCP
   * without any IP to declare. */
  flagged: FlaggedDestination[];
  /** Every bare destination IP without a name, in network groups or alone. */
  unresolvedIpCount: number;
  /** Network (CIDR) entries among all suggestions, and the IPs they stand for. */
  cidrGroups: { entries: number; ips: number; prefix: { v4: number; v6: number } };
}

export interface ServiceEntryReportOptions extends PageRequest {
  namespace?: string;
  registry: RegistryEntry[] | null;
  apiVersion: ServiceEntryApiVersion;
  wildcardMinSiblings?: number;
  /** `metadata.namespace` of the suggestions. */
  entryNamespace?: string;
  /** `spec.exportTo` of the suggestions. */
  exportTo?: string[];
  /** The mesh's cluster DNS domain (default cluster.local). */
  clusterDomain?: string;
  /** Network prefix lengths for grouping IP-only destinations (default /24 and /64). */
  cidrPrefix?: { v4?: number; v6?: number };
}

export const DEFAULT_CIDR_PREFIX = { v4: 24, v6: 64 } as const;

export async function serviceEntryReport(
  store: Store,
  window: ReportWindow,
  opts: ServiceEntryReportOptions,
): Promise<ServiceEntryReport> {
  const page = pageOf(opts);
  const prefix = {
    v4: opts.cidrPrefix?.v4 ?? DEFAULT_CIDR_PREFIX.v4,
    v6: opts.cidrPrefix?.v6 ?? DEFAULT_CIDR_PREFIX.v6,
  };
  const pt = await passthroughTraffic(store, window, {
    namespace: opts.namespace,
    cidrPrefix: prefix,
    clusterDomain: opts.clusterDomain,
  });
  // A network of link-local addresses (the metadata service's 169.254.0.0/16) is never an external entry: its
  // rows go to the plan below, which flags them with the reason.
  const linkLocal = pt.ipGroups.filter((g) => g.exampleIps.some(isLinkLocal));
  const ipGroups = pt.ipGroups.filter((g) => !linkLocal.includes(g));
  const cidr = buildCidrSuggestions(
    ipGroups,
    { apiVersion: opts.apiVersion, namespace: opts.entryNamespace, exportTo: opts.exportTo },
    new NameAllocator(),
  );
  const { suggestions: named, flagged } = planServiceEntries(
    [
      ...pt.traffic,
      ...linkLocal.flatMap((g) =>
        g.traffic.map((t) => ({ ...t, host: g.exampleIps[0]!, ip: g.exampleIps[0] })),
      ),
    ],
    {
      apiVersion: opts.apiVersion,
      wildcardMinSiblings: opts.wildcardMinSiblings,
      namespace: opts.entryNamespace,
      exportTo: opts.exportTo,
      clusterDomain: opts.clusterDomain,
      reservedNames: cidr.map((s) => s.name),
    },
  );
  const suggestions = [...named, ...cidr];
  const base = {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    unresolvedIps: pt.unresolvedIps.slice(0, MAX_UNRESOLVED_LISTED),
    unresolvedIpCount: pt.unresolvedIpCount,
    cidrGroups: { entries: cidr.length, ips: ipGroups.reduce((s, g) => s + g.ipCount, 0), prefix },
    flagged,
  };
  const paged = (all: Suggestion[]) => {
    const items = slicePage(all, page);
    return { ...listInfo(page, items.length, all.length), suggestions: items };
  };
  if (!opts.registry) return { ...base, ...paged(suggestions), registry: null };
  const seen = await allowedHosts(store, window, opts.clusterDomain);
  const traffic = [...pt.traffic, ...ipGroups.flatMap((g) => g.traffic)];
  const diff = diffAgainstRegistry(suggestions, traffic, opts.registry, seen);
  return {
    ...base,
    ...paged([...diff.missing]),
    registry: {
      entries: opts.registry.length,
      covered: diff.covered.map((c) => ({
        suggestion: c.suggestion.name,
        entry: `${c.entry.namespace}/${c.entry.name}`,
      })),
      partiallyCovered: diff.partiallyCovered.map((p) => ({
        suggestion: p.suggestion.name,
        reason: p.reason,
      })),
      unused: diff.unused.map((e) => ({
        name: e.name,
        namespace: e.namespace,
        hosts: e.hosts,
        source: e.source,
      })),
    },
  };
}
