/**
 * Suggestions as an aligned text table for the terminal: host, ports/protocols, requests, source namespaces,
 * first/last seen, status (from a registry diff when given).
 */

import type { RegistryDiff } from '../registry/registry-diff.js';
import { safeText } from '../shared/comment-text.js';
import type { Suggestion } from './suggestion.js';

export interface TableOptions {
  /** Status per suggestion from `diffAgainstRegistry`; without it every row is `suggested`. */
  diff?: RegistryDiff;
  /** Namespaces listed per row before `+N` (default 3). */
  maxNamespaces?: number;
}

const HEADERS = ['HOST', 'PORTS', 'REQUESTS', 'NAMESPACES', 'FIRST SEEN', 'LAST SEEN', 'STATUS'] as const;

export function toTable(suggestions: readonly Suggestion[], opts: TableOptions = {}): string {
  const maxNs = opts.maxNamespaces ?? 3;
  const rows: string[][] = [[...HEADERS]];
  for (const s of suggestions) {
    const e = s.evidence;
    const host =
      s.kind === 'wildcard'
        ? `${s.hosts[0]} (${e.observedHosts.length} hosts)`
        : s.kind === 'ip'
          ? `${e.observedHosts[0] ?? s.hosts[0]} (IP only)`
          : s.kind === 'cidr'
            ? `${(s.resource.spec.addresses ?? []).join(',')} (network)`
            : (s.hosts[0] ?? '');
    const ns =
      e.namespaces.length > maxNs
        ? `${e.namespaces.slice(0, maxNs).join(',')},+${e.namespaces.length - maxNs}`
        : e.namespaces.join(',');
    const warnings =
      s.warnings.length > 0 ? `, ${s.warnings.length} warning${s.warnings.length > 1 ? 's' : ''}` : '';
    rows.push(
      [
        host,
        e.ports.map((p) => `${p.number}/${p.protocol}`).join(','),
        String(e.requests),
        ns || '-',
        shortTime(e.firstSeen),
        shortTime(e.lastSeen),
        statusOf(s, opts.diff) + warnings,
      ].map(safeText),
    );
  }
  const widths = HEADERS.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows
    .map((r) =>
      r
        .map((cell, i) => (i === 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

function statusOf(s: Suggestion, diff: RegistryDiff | undefined): string {
  if (!diff) return 'suggested';
  const covered = diff.covered.find((c) => c.suggestion === s);
  if (covered) return `covered by ${covered.entry.namespace}/${covered.entry.name}`;
  const partial = diff.partiallyCovered.find((p) => p.suggestion === s);
  if (partial) return `partial (${partial.remainder.name} adds the rest)`;
  const partOf = diff.partiallyCovered.find((p) => p.remainder === s);
  if (partOf) return `missing part of ${partOf.suggestion.name}`;
  if (diff.missing.includes(s)) return 'missing';
  return '-';
}

/** `2026-01-24T12:17:11.640Z` → `2026-01-24 12:17Z`; text that does not parse is shown as is. */
function shortTime(iso: string): string {
  const t = Date.parse(iso);
  if (iso === '' || Number.isNaN(t)) return iso || '-';
  return `${new Date(t).toISOString().slice(0, 16).replace('T', ' ')}Z`;
}
