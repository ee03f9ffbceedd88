/** The readiness report as a terminal table and as YAML (one Sidecar per namespace), headers saying N of M. */
import { nOfM } from '../page.js';
import { textTable } from '../text-table.js';
import type { ReadinessReport } from './readiness-report.js';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

function header(r: ReadinessReport): string[] {
  const lines = [
    `egresslens: lockdown readiness (REGISTRY_ONLY) per source namespace, ${r.window.since} .. ${r.window.until}`,
    nOfM(r, r.namespaces.length, 'namespace(s)'),
  ];
  if (r.destinationsTruncated)
    lines.push('more destinations than could be examined: see each namespace\'s "not examined" count');
  return lines;
}

export function readinessTable(r: ReadinessReport): string {
  const rows = r.namespaces.map((n) => [
    n.namespace || '(none)',
    n.requests,
    pct(n.share),
    n.admittedByRegistry,
    n.admittedWithSuggestions,
    n.wouldBlock,
    n.destinationsToBlock.items
      .slice(0, 3)
      .map((d) => `${d.host}:${d.port}`)
      .join(', ') + (n.destinationsToBlock.total > 3 ? ` +${n.destinationsToBlock.total - 3}` : ''),
  ]);
  const table = textTable(
    [
      'namespace',
      'requests',
      'admitted',
      'by registry',
      'by suggestions',
      'would block',
      'blocked destinations',
    ],
    rows,
  );
  const reasons = r.namespaces.flatMap((n) =>
    n.destinationsToBlock.items.map(
      (d) => `  ${n.namespace || '(none)'}: ${d.host}:${d.port} (${d.requests}): ${d.reason}`,
    ),
  );
  return `${header(r).join('\n')}\n\n${table}${reasons.length ? `\nwould be blocked, and why:\n${reasons.join('\n')}\n` : ''}`;
}

export function readinessYaml(r: ReadinessReport): string {
  const head = header(r)
    .map((l) => `# ${l}`)
    .join('\n');
  return `${head}\n${r.namespaces.map((n) => `---\n${n.sidecarYaml}`).join('')}`;
}
