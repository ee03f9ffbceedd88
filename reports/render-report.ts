/**
 * Runs a report and renders it (YAML, JSON or a terminal table). The API, the CLI and the scheduler all
 * come through here, so the three print the same thing.
 */
import type { Store } from '../store/store.js';
import { blockedReport } from './blocked-report.js';
import { hostsReport } from './hosts-report.js';
import type { RegistryEntry } from './registry.js';
import { blockedTable, hostsTable, timeoutTable } from './report-tables.js';
import { flaggedCommentLines, flaggedTable } from './service-entry-flagged-text.js';
import { serviceEntryForBlocked } from './service-entry-for-blocked.js';
import { serviceEntryReport } from './service-entry-report.js';
import { toJson, toTable, toYaml } from './service-entry-yaml.js';
import type { ServiceEntryApiVersion } from './suggestion.js';
import { timeoutReport } from './timeout-report.js';
import { parseWindow } from './window.js';

export const REPORT_KINDS = ['service-entries', 'blocked', 'timeouts', 'hosts'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
export type ReportFormat = 'yaml' | 'json' | 'table';

export interface ReportRequest {
  kind: ReportKind;
  since?: string;
  until?: string;
  namespace?: string;
  limit?: number;
  format: ReportFormat;
  apiVersion?: 'v1' | 'v1beta1';
  /** The registry to diff against; null turns the diff off. */
  registry: RegistryEntry[] | null;
  /** service-entries and blocked: `metadata.namespace` of the suggested ServiceEntries. */
  entryNamespace?: string;
  /** service-entries and blocked: `spec.exportTo` of the suggested ServiceEntries. */
  exportTo?: string[];
  /** The mesh's cluster DNS domain (default cluster.local): names under it are in-mesh, never suggested. */
  clusterDomain?: string;
}

export interface RenderedReport {
  contentType: string;
  text: string;
  data: unknown;
}

const API_VERSIONS: Record<'v1' | 'v1beta1', ServiceEntryApiVersion> = {
  v1: 'networking.istio.io/v1',
  v1beta1: 'networking.istio.io/v1beta1',
};

export async function renderReport(
  store: Store,
  req: ReportRequest,
  now = Date.now(),
): Promise<RenderedReport> {
  const window = parseWindow(req.since, req.until, now);
  const opts = { namespace: req.namespace, limit: req.limit };
  const apiVersion = API_VERSIONS[req.apiVersion ?? 'v1'];
  const entryOpts = {
    entryNamespace: req.entryNamespace,
    exportTo: req.exportTo,
    clusterDomain: req.clusterDomain,
  };
  switch (req.kind) {
    case 'service-entries': {
      const report = await serviceEntryReport(store, window, {
        ...opts,
        ...entryOpts,
        registry: req.registry,
        apiVersion,
      });
      if (req.format === 'yaml')
        return yamlOut(report, `${serviceEntryHeader(report)}${toYaml(report.suggestions, { apiVersion })}`);
      if (req.format === 'table')
        return text(
          report,
          `${serviceEntryHeader(report)}${toTable(report.suggestions)}${flaggedTable(report.flagged)}`,
        );
      // Each suggestion's own YAML too, exactly as the YAML output prints it (the console copies it).
      const data = {
        ...report,
        suggestions: toJson(report.suggestions).map((s, i) => ({
          ...s,
          yaml: toYaml([report.suggestions[i]!], { apiVersion }).replace(/^---\n/, ''),
        })),
      };
      return json(data);
    }
    case 'blocked': {
      const report = await blockedReport(store, window, opts);
      if (req.format === 'table') return text(report, blockedTable(report));
      const destinations = report.destinations.map((d) => {
        const se = serviceEntryForBlocked(d, {
          apiVersion,
          namespace: req.entryNamespace,
          exportTo: req.exportTo,
          clusterDomain: req.clusterDomain,
        });
        return { ...d, serviceEntry: se.resource, ...(se.flagged ? { flagged: se.flagged } : {}) };
      });
      return json({ ...report, destinations });
    }
    case 'timeouts': {
      const report = await timeoutReport(store, window, opts);
      return req.format === 'table' ? text(report, timeoutTable(report)) : json(report);
    }
    case 'hosts': {
      const hosts = await hostsReport(store, window, opts);
      const data = {
        window: {
          since: new Date(window.sinceMs).toISOString(),
          until: new Date(window.untilMs).toISOString(),
        },
        hosts,
      };
      return req.format === 'table' ? text(data, hostsTable(hosts)) : json(data);
    }
  }
}

function serviceEntryHeader(report: Awaited<ReturnType<typeof serviceEntryReport>>): string {
  const lines = [
    `# egresslens: ServiceEntries to add before REGISTRY_ONLY, from PassthroughCluster traffic ${report.window.since} .. ${report.window.until}`,
    `# ${report.suggestions.length} suggestion(s)`,
  ];
  if (report.registry) {
    lines.push(
      `# registry: ${report.registry.entries} entries; ${report.registry.covered.length} destination(s) already covered`,
    );
    for (const p of report.registry.partiallyCovered)
      lines.push(`#   partially covered: ${p.suggestion}: ${p.reason}`);
    for (const u of report.registry.unused) {
      lines.push(
        `#   no traffic in the window: ${u.namespace}/${u.name} (${u.hosts.join(', ')}) from ${u.source}`,
      );
    }
  }
  lines.push(...flaggedCommentLines(report.flagged));
  if (report.unresolvedIps.length) {
    lines.push(
      `# bare IPs with no known host name (see the ip-* entries): ${report.unresolvedIps.slice(0, 20).join(', ')}${report.unresolvedIps.length > 20 ? ', …' : ''}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function json(data: unknown): RenderedReport {
  return { contentType: 'application/json; charset=utf-8', text: `${JSON.stringify(data, null, 2)}\n`, data };
}

function yamlOut(data: unknown, body: string): RenderedReport {
  return { contentType: 'application/yaml; charset=utf-8', text: body, data };
}

function text(data: unknown, body: string): RenderedReport {
  return { contentType: 'text/plain; charset=utf-8', text: body, data };
}
