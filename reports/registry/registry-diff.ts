/**
 * Suggestions against the ServiceEntries already in the registry. A (host, port) seen from namespace N is covered
 * when some entry
 * - matches the host: exactly, by wildcard (`*.example.com` matches any subdomain depth, `*` everything), or, for
 *   an IP or a network (CIDR) suggestion (or non-HTTP traffic with a known destination IP), by its `addresses`:
 *   the destination's addresses must lie inside the `addresses` of entries declaring the port and visible from
 *   N (IPv4 and IPv6, IPv4-mapped IPv6 as IPv4; see address-range.ts). Entries covering only part of a network
 *   leave the rest (`uncoveredAddresses`) to a remainder entry for just those addresses;
 * - declares the port number (an entry with no ports covers no port);
 * - is visible from N (`exportTo`, see export-visibility.ts).
 * Fully covered suggestions are `covered`; partly covered ones are `partiallyCovered` with the reason, and their
 * uncovered part is suggested again (the `remainder`, also listed in `missing`); the rest are `missing`.
 * `unused` lists registry entries none of whose hosts (or addresses) matched any traffic in the window, counting
 * `seenHosts`: hosts of traffic that went through `outbound|port||host` clusters, i.e. was already allowed.
 */
import { buildSuggestion } from '../service-entries/build-suggestion.js';
import { isValidPort } from '../service-entries/port-protocol.js';
import { NameAllocator } from '../service-entries/service-entry-name.js';
import { normalizeTraffic } from '../service-entries/suggest-service-entries.js';
import type { Suggestion } from '../service-entries/suggestion.js';
import {
  type AddressRange,
  mergeRanges,
  parseAddressRange,
  rangeContains,
  rangesOverlap,
  rangeToCidrs,
  subtractRanges,
} from '../shared/address-range.js';
import type { DestinationTraffic } from '../shared/destination.js';
import { hostMatches, normalizeHost } from '../shared/host-match.js';
import { isIpLiteral } from '../shared/ip-literal.js';
import { addressRemainder } from './address-remainder.js';
import { entryRanges } from './entry-ranges.js';
import { ANY_NAMESPACE, describeExportTo, isVisibleFrom } from './export-visibility.js';
import type { RegistryEntry } from './registry.js';

export interface CoveredSuggestion {
  suggestion: Suggestion;
  /** The entry covering most of it. */
  entry: RegistryEntry;
  /** Every entry that covers a part. */
  entries: RegistryEntry[];
}

export interface PartialCoverage {
  suggestion: Suggestion;
  /** Which ports / namespaces are not covered and why, one clause per cause, `; `-separated. */
  reason: string;
  /** The entries covering the covered part. */
  entries: RegistryEntry[];
  /** Ports no source namespace can use. */
  uncoveredPorts: number[];
  /** Hosts (of a wildcard's members) that no entry covers on any port. */
  uncoveredHosts: string[];
  /** Ports declared by a matching entry that is not visible from these source namespaces. */
  hiddenFrom: { port: number; namespaces: string[] }[];
  /** For an IP or network suggestion: its addresses (CIDRs) that no entry covers on some port. */
  uncoveredAddresses: string[];
  /** A suggestion for the uncovered part only (also in `missing`). */
  remainder: Suggestion;
}

export interface RegistryDiff {
  missing: Suggestion[];
  partiallyCovered: PartialCoverage[];
  covered: CoveredSuggestion[];
  unused: RegistryEntry[];
}

/** `addresses`: entries cover part of the destination's network on this port (`covering`), not the `rest`. */
type Cause = 'no-host' | 'no-port' | 'hidden' | 'addresses';

interface Unit {
  row: DestinationTraffic;
  namespace: string;
  covering: RegistryEntry[];
  cause?: Cause;
  /** Entries that matched the host (for no-port) or host and port (for hidden). */
  near: RegistryEntry[];
  /** With `addresses`: the parts of the destination's range no visible entry declaring the port covers. */
  rest?: AddressRange[];
  /** Covered only by several entries' addresses together (each is needed), not by `covering[0]` alone. */
  together?: boolean;
}

const id = (e: RegistryEntry) => `${e.namespace}/${e.name}`;

export function diffAgainstRegistry(
  suggestions: readonly Suggestion[],
  traffic: readonly DestinationTraffic[],
  registry: readonly RegistryEntry[],
  seenHosts: ReadonlySet<string> = new Set(),
): RegistryDiff {
  const rows = normalizeTraffic(traffic);
  const diff: RegistryDiff = { missing: [], partiallyCovered: [], covered: [], unused: [] };
  // A suggestion without a namespace may be applied anywhere: its name must not clash in any namespace.
  const entriesIn = (namespace: string | undefined) =>
    registry.filter((e) => namespace === undefined || e.namespace === namespace);
  const allocators = new Map<string, NameAllocator>();
  const allocatorFor = (namespace: string | undefined): NameAllocator => {
    const key = namespace ?? '';
    let a = allocators.get(key);
    if (!a) {
      a = new NameAllocator([...entriesIn(namespace).map((e) => e.name), ...suggestions.map((s) => s.name)]);
      allocators.set(key, a);
    }
    return a;
  };

  for (const s of suggestions) {
    const units = unitsOf(s, rows).map((u) => classify(u, registry));
    const gaps = units.filter((u) => u.cause !== undefined);
    const coveredUnits = units.filter((u) => u.cause === undefined);
    // Units whose network is partly covered count as covered in part.
    const someCover = units.filter((u) => u.covering.length > 0);
    if (gaps.length === 0 && coveredUnits.length > 0) {
      const entries = rank(coveredUnits.flatMap((u) => (u.together ? u.covering : [u.covering[0]!])));
      diff.covered.push({ suggestion: s, entry: entries[0]!, entries });
      continue;
    }
    const namespace = s.resource.metadata.namespace;
    if (someCover.length === 0) {
      const notes = nearMissNotes(gaps);
      const clash = entriesIn(namespace).find((e) => e.name === s.name);
      if (notes.length === 0 && !clash) {
        diff.missing.push(s);
        continue;
      }
      const copy = cloneSuggestion(s);
      copy.warnings.push(...notes);
      if (clash) {
        rename(copy, allocatorFor(namespace).take(`${s.name}-egresslens`));
        copy.warnings.push(
          `Renamed from ${s.name}: registry entry ${id(clash)} (${clash.source}) already has that name and ` +
            `applying this one would replace it.`,
        );
      }
      diff.missing.push(copy);
      continue;
    }

    const portsWithCover = new Set(someCover.map((u) => u.row.port));
    const gapPorts = uniqNumbers(gaps.map((u) => u.row.port));
    const uncoveredPorts = gapPorts.filter((p) => !portsWithCover.has(p));
    const hidden = gaps.filter((u) => u.cause === 'hidden');
    const hiddenFrom = uniqNumbers(hidden.map((u) => u.row.port)).map((port) => ({
      port,
      namespaces: uniq(hidden.filter((u) => u.row.port === port).map((u) => u.namespace)),
    }));
    const coveredHosts = new Set(someCover.map((u) => u.row.host));
    const uncoveredHosts = uniq(gaps.map((u) => u.row.host)).filter((h) => !coveredHosts.has(h));
    const reason = reasonFor(gaps);
    const gapNamespaces = uniq(gaps.map((u) => u.namespace));
    // Namespaces that cannot see an existing entry get the remainder exported to them (and only them).
    const exportTo = hidden.length > 0 && !gapNamespaces.includes(ANY_NAMESPACE) ? gapNamespaces : undefined;
    const uncoveredAddresses = gapAddresses(gaps);
    const remainderName = allocatorFor(namespace).take(`${s.name}-${gapPorts.join('-')}`);
    const remainderExportTo = exportTo ?? s.resource.spec.exportTo;
    const remainder =
      s.kind === 'cidr'
        ? addressRemainder(s, gapPorts, uncoveredAddresses, remainderName, remainderExportTo)
        : buildSuggestion(
            s.kind,
            s.kind === 'ip' ? (s.evidence.observedHosts[0] ?? s.hosts[0]!) : s.hosts[0]!,
            gapRows(gaps),
            [],
            remainderName,
            {
              apiVersion: s.resource.apiVersion,
              ...(namespace ? { namespace } : {}),
              ...(remainderExportTo ? { exportTo: remainderExportTo } : {}),
            },
          );
    remainder.warnings.unshift(
      `Only the part of ${s.hosts[0]} that the registry does not cover: ${reason}.` +
        (exportTo
          ? ` Exported to [${exportTo.join(', ')}] only; widening the existing entry's exportTo also works.`
          : ''),
    );
    diff.missing.push(remainder);
    diff.partiallyCovered.push({
      suggestion: s,
      reason,
      entries: rank(someCover.flatMap((u) => u.covering)),
      uncoveredPorts,
      uncoveredHosts,
      hiddenFrom,
      uncoveredAddresses: s.kind === 'ip' || s.kind === 'cidr' ? uncoveredAddresses : [],
      remainder,
    });
  }

  diff.unused = registry.filter((e) => !entryUsed(e, rows, seenHosts));
  return diff;
}

/** (row, namespace) pairs of the suggestion's traffic; from its evidence when `traffic` has none of its hosts. */
function unitsOf(s: Suggestion, rows: readonly DestinationTraffic[]): Unit[] {
  const hosts = new Set(s.evidence.observedHosts.map(normalizeHost));
  const declared = new Set(s.resource.spec.ports.map((p) => p.number));
  let mine = rows.filter((r) => hosts.has(r.host) && isValidPort(r.port) && declared.has(r.port));
  if (mine.length === 0) mine = rowsFromEvidence(s);
  return mine.flatMap((row) =>
    (row.namespaces.length > 0 ? row.namespaces : [ANY_NAMESPACE]).map((namespace) => ({
      row,
      namespace,
      covering: [],
      near: [],
    })),
  );
}

function rowsFromEvidence(s: Suggestion): DestinationTraffic[] {
  const e = s.evidence;
  const host = e.observedHosts[0] ?? s.hosts[0]!;
  return e.ports.map((p) => ({
    host,
    port: p.number,
    requests: p.requests,
    bytes: p.bytes,
    httpRequests: p.httpRequests,
    tlsWithSni: p.tlsWithSni,
    grpcRequests: p.grpcRequests,
    namespaces: e.namespaces,
    workloads: e.workloads,
    firstSeen: e.firstSeen,
    lastSeen: e.lastSeen,
    examplePaths: e.examplePaths,
  }));
}

/**
 * The addresses a row stands for when it is matched by `addresses`: the IP or network it names, or the
 * destination IP of opaque traffic to a named host (HTTP is matched by the Host header only).
 */
function rowRange(row: DestinationTraffic): AddressRange | undefined {
  if (isIpLiteral(row.host) || row.host.includes('/')) return parseAddressRange(row.host);
  return row.httpRequests === 0 && row.ip ? parseAddressRange(row.ip) : undefined;
}

/** Whether the entry names the host (then it covers all of it). */
function matchesByName(entry: RegistryEntry, row: DestinationTraffic): boolean {
  return entry.hosts.some((h) => hostMatches(h, row.host));
}

function matchesTraffic(entry: RegistryEntry, row: DestinationTraffic): boolean {
  if (matchesByName(entry, row)) return true;
  const range = rowRange(row);
  return range !== undefined && entryRanges(entry).some((r) => rangesOverlap(r, range));
}

function classify(u: Unit, registry: readonly RegistryEntry[]): Unit {
  const hostEntries = registry.filter((e) => matchesTraffic(e, u.row));
  if (hostEntries.length === 0) return { ...u, cause: 'no-host' };
  const portEntries = hostEntries.filter((e) => e.ports.some((p) => p.number === u.row.port));
  if (portEntries.length === 0) return { ...u, cause: 'no-port', near: hostEntries };
  const covering = portEntries.filter((e) => isVisibleFrom(e, u.namespace));
  if (covering.length === 0) return { ...u, cause: 'hidden', near: portEntries };
  const range = rowRange(u.row);
  if (range === undefined || covering.some((e) => matchesByName(e, u.row))) return { ...u, covering };
  // Matched by addresses only: covered by one entry holding all of it, or by the visible entries together.
  const whole = covering.find((e) => entryRanges(e).some((r) => rangeContains(r, range)));
  if (whole) return { ...u, covering: [whole, ...covering.filter((e) => e !== whole)] };
  const rest = subtractRanges(range, covering.flatMap(entryRanges));
  if (rest.length === 0) return { ...u, covering, together: true };
  return { ...u, covering, cause: 'addresses', rest, near: covering };
}

/** The CIDRs of the gaps (the rest of partly covered networks, the whole range of the others), merged. */
function gapAddresses(gaps: readonly Unit[]): string[] {
  const ranges: AddressRange[] = [];
  for (const u of gaps) {
    if (u.rest) ranges.push(...u.rest);
    else {
      const r = rowRange(u.row);
      if (r) ranges.push(r);
    }
  }
  return mergeRanges(ranges).flatMap(rangeToCidrs);
}

function describePorts(e: RegistryEntry): string {
  return e.ports.length === 0
    ? `${id(e)} declares no ports, so it covers no port`
    : `${id(e)} declares ${e.ports.map((p) => p.number).join(', ')}`;
}

function describeAddresses(e: RegistryEntry): string {
  return `${id(e)} (addresses ${(e.addresses ?? []).join(', ')})`;
}

/** One clause per (cause, port, entries), naming the namespaces or hosts concerned. */
function reasonFor(gaps: readonly Unit[]): string {
  const clauses = new Map<
    string,
    { text: (ns: string[], hosts: string[]) => string; ns: Set<string>; hosts: Set<string> }
  >();
  for (const u of gaps) {
    const port = u.row.port;
    const nearIds = u.near.map(id).join(',');
    const rest = (u.rest ?? []).flatMap(rangeToCidrs);
    const key = `${u.cause}|${port}|${nearIds}|${rest.join(',')}`;
    let c = clauses.get(key);
    if (!c) {
      const near = u.near;
      const text =
        u.cause === 'no-host'
          ? (_ns: string[], hosts: string[]) => `no entry matches ${hosts.join(', ')} (port ${port})`
          : u.cause === 'no-port'
            ? () => `port ${port} is not declared (${near.map(describePorts).join('; ')})`
            : u.cause === 'addresses'
              ? (_ns: string[], hosts: string[]) =>
                  `port ${port}: ${near.map(describeAddresses).join(', ')} cover${near.length > 1 ? '' : 's'} ` +
                  `only part of ${hosts.join(', ')}; not ${rest.join(', ')}`
              : (ns: string[]) =>
                  `port ${port}: ${near.map((e) => `${id(e)} (${describeExportTo(e)})`).join(', ')} not visible ` +
                  `from namespace${ns.length > 1 ? 's' : ''} ${ns.map((n) => (n === ANY_NAMESPACE ? '(unknown)' : n)).join(', ')}`;
      c = { text, ns: new Set(), hosts: new Set() };
      clauses.set(key, c);
    }
    c.ns.add(u.namespace);
    c.hosts.add(u.row.host);
  }
  return [...clauses.values()].map((c) => c.text([...c.ns].sort(), [...c.hosts].sort())).join('; ');
}

/** Notes for a suggestion nothing covers but some entry nearly did. */
function nearMissNotes(gaps: readonly Unit[]): string[] {
  const near = gaps.filter((u) => u.cause !== 'no-host');
  return near.length === 0
    ? []
    : [`Registry entries match this host but do not cover it: ${reasonFor(near)}.`];
}

/** The gap units' rows, each restricted to the namespaces that are not covered. */
function gapRows(gaps: readonly Unit[]): DestinationTraffic[] {
  const byRow = new Map<DestinationTraffic, Set<string>>();
  for (const u of gaps) {
    let set = byRow.get(u.row);
    if (!set) byRow.set(u.row, (set = new Set()));
    set.add(u.namespace);
  }
  return [...byRow].map(([row, ns]) => {
    const namespaces = [...ns].filter((n) => n !== ANY_NAMESPACE);
    if (namespaces.length === row.namespaces.length) return row;
    const prefixes = namespaces.map((n) => `${n}/`);
    return {
      ...row,
      namespaces,
      workloads: row.workloads.filter((w) => prefixes.some((p) => w.startsWith(p))),
    };
  });
}

function entryUsed(
  e: RegistryEntry,
  rows: readonly DestinationTraffic[],
  seenHosts: ReadonlySet<string>,
): boolean {
  for (const seen of seenHosts) if (e.hosts.some((h) => hostMatches(h, seen))) return true;
  return rows.some((r) => matchesTraffic(e, r));
}

/** Distinct entries, most frequent first. */
function rank(entries: readonly RegistryEntry[]): RegistryEntry[] {
  const counts = new Map<RegistryEntry, number>();
  for (const e of entries) counts.set(e, (counts.get(e) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1]).map(([e]) => e);
}

function uniq(items: readonly string[]): string[] {
  return [...new Set(items)].sort();
}

function uniqNumbers(items: readonly number[]): number[] {
  return [...new Set(items)].sort((a, b) => a - b);
}

function cloneSuggestion(s: Suggestion): Suggestion {
  return structuredClone(s);
}

function rename(s: Suggestion, name: string): void {
  s.name = name;
  s.resource.metadata.name = name;
}
