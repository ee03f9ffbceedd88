/** Terminal tables for the block, timeout and hosts reports. */
import type { BlockedReport } from './blocked-report.js';
import type { HostsReport } from './hosts-report.js';
import { nOfM } from './page.js';
import { textTable } from './text-table.js';
import type { TimeoutReport } from './timeout-report.js';

export function blockedTable(r: BlockedReport): string {
  const rows = r.destinations.map((d) => [
    d.recovered ? `${d.host} (${d.recovered.host}?, ${Math.round(d.recovered.confidence * 100)}%)` : d.host,
    d.port,
    d.kind,
    d.count,
    d.sources
      .slice(0, 3)
      .map((s) => `${s.namespace || '?'}/${s.workload || '?'}`)
      .join(', ') + (d.sources.length > 3 ? ` +${d.sources.length - 3}` : ''),
    d.firstSeen,
    d.lastSeen,
  ]);
  const head =
    `blocked by REGISTRY_ONLY: ${r.requests} requests/connections (${r.window.since} .. ${r.window.until})\n` +
    `${nOfM(r, r.destinations.length, 'destinations')}\n`;
  const tail = r.unresolvedIps.length
    ? `unresolved IPs on this page (no name seen for them in the window): ${r.unresolvedIps.join(', ')}\n`
    : '';
  return (
    head +
    textTable(['destination', 'port', 'kind', 'count', 'sources', 'first seen', 'last seen'], rows) +
    tail
  );
}

export function timeoutTable(r: TimeoutReport): string {
  const rows = r.entries.map((e) => [
    e.host,
    e.route || '-',
    e.timeouts,
    `${(e.share * 100).toFixed(1)}%`,
    `${e.timedOut.p50}/${e.timedOut.p95}/${e.timedOut.p99}`,
    e.successful ? `${e.successful.p50}/${e.successful.p95}/${e.successful.p99}` : '-',
    e.inferredTimeoutMs ?? '-',
    e.flags.join(','),
  ]);
  const head =
    `timeouts: ${r.timeouts} (${r.window.since} .. ${r.window.until}); durations in ms as p50/p95/p99\n` +
    `${nOfM(r, r.entries.length, 'host/route pairs')}\n`;
  const notes = r.entries.filter((e) => e.suggestion).map((e) => `- ${e.host} ${e.route}: ${e.suggestion}`);
  return (
    head +
    textTable(
      ['host', 'route', 'timeouts', 'share', 'timed out', 'successful', 'timeout ms', 'flags'],
      rows,
    ) +
    (notes.length ? `${notes.join('\n')}\n` : '')
  );
}

export function hostsTable(r: HostsReport): string {
  const hosts = r.hosts;
  const head = `external hosts (${r.window.since} .. ${r.window.until})\n${nOfM(r, hosts.length, 'host/port/status rows')}\n`;
  return (
    head +
    textTable(
      ['host', 'port', 'status', 'requests', 'namespaces', 'first seen', 'last seen'],
      hosts.map((h) => [
        h.host,
        h.port,
        h.status,
        h.requests,
        h.namespaces.join(',') || '-',
        h.firstSeen,
        h.lastSeen,
      ]),
    )
  );
}
