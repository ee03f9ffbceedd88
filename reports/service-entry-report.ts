/**
 * The ServiceEntry report: pass-through traffic → suggestions → (when a registry is configured) only what
 * the registry does not already cover, plus the registry entries that saw no traffic in the window.
 */
import type { Store } from '../store/store.js';
import { allowedHosts, passthroughTraffic } from './passthrough-traffic.js';
import type { RegistryEntry } from './registry.js';
import { diffAgainstRegistry } from './registry-diff.js';
import type { FlaggedDestination } from './service-entry-flags.js';
import { planServiceEntries } from './suggest-service-entries.js';
import type { ServiceEntryApiVersion, Suggestion } from './suggestion.js';
import type { ReportWindow } from './window.js';

export interface ServiceEntryReport {
  window: { since: string; until: string };
  /** What to add: every suggestion, or with a registry only what it does not cover yet. */
  suggestions: Suggestion[];
  registry: null | {
    entries: number;
    covered: Array<{ suggestion: string; entry: string }>;
    partiallyCovered: Array<{ suggestion: string; reason: string }>;
    /** Registry entries with no traffic in the window. */
    unused: Array<{ name: string; namespace: string; hosts: string[]; source: string }>;
  };
  /** Bare destination IPs no host name could be recovered for. */
  unresolvedIps: string[];
  /** Destinations that get no suggestion, with the reason: in-mesh, link-local, invalid or single-label names, TCP
   * without any IP to declare. */
  flagged: FlaggedDestination[];
}

export interface ServiceEntryReportOptions {
  namespace?: string;
  limit?: number;
  registry: RegistryEntry[] | null;
  apiVersion: ServiceEntryApiVersion;
  wildcardMinSiblings?: number;
  /** `metadata.namespace` of the suggestions. */
  entryNamespace?: string;
  /** `spec.exportTo` of the suggestions. */
  exportTo?: string[];
  /** The mesh's cluster DNS domain (default cluster.local). */
  clusterDomain?: string;
}

export async function serviceEntryReport(
  store: Store,
  window: ReportWindow,
  opts: ServiceEntryReportOptions,
): Promise<ServiceEntryReport> {
  const { traffic, unresolvedIps } = await passthroughTraffic(store, window, opts);
  const { suggestions, flagged } = planServiceEntries(traffic, {
    apiVersion: opts.apiVersion,
    wildcardMinSiblings: opts.wildcardMinSiblings,
    namespace: opts.entryNamespace,
    exportTo: opts.exportTo,
    clusterDomain: opts.clusterDomain,
  });
  const base = {
    window: { since: new Date(window.sinceMs).toISOString(), until: new Date(window.untilMs).toISOString() },
    unresolvedIps,
    flagged,
  };
  if (!opts.registry) return { ...base, suggestions, registry: null };
  const seen = await allowedHosts(store, window);
  const diff = diffAgainstRegistry(suggestions, traffic, opts.registry, seen);
  return {
    ...base,
    suggestions: [...diff.missing],
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
