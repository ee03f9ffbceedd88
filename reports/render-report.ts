/**
 * Runs a report and renders it (YAML, JSON or a terminal table). The API, the CLI and the scheduler all
 * come through here, so the three print the same thing.
 */
import type { Store } from '../store/store.js';
import { blockedReport } from './blocked/blocked-report.js';
import { hostsReport } from './hosts/hosts-report.js';
import { readinessReport } from './readiness/readiness-report.js';
import { readinessTable, readinessYaml } from './readiness/readiness-text.js';
import type { RegistryEntry } from './registry/registry.js';
import { flaggedCommentLines, flaggedTable } from './service-entries/service-entry-flagged-text.js';
import { serviceEntryForBlocked } from './service-entries/service-entry-for-blocked.js';
import { serviceEntryReport } from './service-entries/service-entry-report.js';
import { toJson, toTable, toYaml } from './service-entries/service-entry-yaml.js';
import type { ServiceEntryApiVersion, Suggestion } from './service-entries/suggestion.js';
import { nOfM } from './shared/page.js';
import { blockedTable, hostsTable, timeoutTable } from './shared/report-tables.js';
import { parseWindow } from './shared/window.js';
import { timeoutReport } from './timeouts/timeout-report.js';

export const REPORT_KINDS = ['service-entries', 'blocked', 'timeouts', 'hosts', 'readiness'] as const;
export type ReportKind = (typeof REPORT_KINDS)[number];
export type ReportFormat = 'yaml' | 'json' | 'table';

export interface ReportRequest {
  kind: ReportKind;
  since?: string;
  until?: string;
  namespace?: string;
  /** Page size (default 1000, at most 100000) and start of the page: see page.ts. */
  limit?: number;
  offset?: number;
  /** hosts: part of the host name, a state, a port. */
  search?: string;
  status?: 'passthrough' | 'blocked' | 'allowed';
  port?: number;
  /** Network prefix lengths for grouping IP-only destinations into CIDR entries (service-entries). */
  cidrPrefixV4?: number;
  cidrPrefixV6?: number;
  format: ReportFormat;
  apiVersion?: 'v1' | 'v1beta1';
  /** The registry to diff against; null turns the diff off. */
  registry: RegistryEntry[] | null;
  /** service-entries and blocked: `metadata.namespace` of the suggested ServiceEntries. */
  entryNamespace?: string;
  /** service-entries and blocked: `spec.exportTo` of the suggested ServiceEntries. */
  exportTo?: string[];
  /** The mesh's cluster DNS domain (default cluster.local): names under it are in-mesh, never suggested;
   * service-entries, blocked, readiness and hosts. */
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
  const opts = { namespace: req.namespace, limit: req.limit, offset: req.offset };
  const apiVersion = API_VERSIONS[req.apiVersion ?? 'v1'];
  const entryOpts = {
    entryNamespace: req.entryNamespace,
    exportTo: req.exportTo,
    clusterDomain: req.clusterDomain,
  };
  switch (req.kind) {
    case 'service-entries': {
      const cidrPrefix = { v4: req.cidrPrefixV4, v6: req.cidrPrefixV6 };
      const report = await serviceEntryReport(store, window, {
        ...opts,
        ...entryOpts,
        registry: req.registry,
        apiVersion,
        cidrPrefix,
      });
      if (req.format === 'yaml')
        return yamlOut(
          report,
          `${serviceEntryHeader(report)}${await yamlInSlices(report.suggestions, apiVersion)}`,
        );
      if (req.format === 'table')
        return text(
          report,
          `${serviceEntryHeader(report)}${toTable(report.suggestions)}${flaggedTable(report.flagged)}`,
        );
      // Each suggestion's own YAML too, exactly as the YAML output prints it (the console copies it).
      const yamls = await yamlPerSuggestion(report.suggestions, apiVersion);
      const data = {
        ...report,
        suggestions: toJson(report.suggestions).map((s, i) => ({ ...s, yaml: yamls[i]! })),
      };
      return json(data);
    }
    case 'blocked': {
      const report = await blockedReport(store, window, { ...opts, clusterDomain: req.clusterDomain });
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
      const report = await hostsReport(store, window, {
        ...opts,
        search: req.search,
        status: req.status,
        port: req.port,
        clusterDomain: req.clusterDomain,
      });
      return req.format === 'table' ? text(report, hostsTable(report)) : json(report);
    }
    case 'readiness': {
      const report = await readinessReport(store, window, {
        ...opts,
        registry: req.registry,
        apiVersion,
        clusterDomain: req.clusterDomain,
      });
      if (req.format === 'yaml') return yamlOut(report, readinessYaml(report));
      return req.format === 'table' ? text(report, readinessTable(report)) : json(report);
    }
  }
}

function serviceEntryHeader(report: Awaited<ReturnType<typeof serviceEntryReport>>): string {
  const lines = [
    `# egresslens: ServiceEntries to add before REGISTRY_ONLY, from PassthroughCluster traffic ${report.window.since} .. ${report.window.until}`,
    `# ${nOfM(report, report.suggestions.length, 'suggestion(s)')}`,
  ];
  if (report.cidrGroups.entries > 0) {
    lines.push(
      `# ${report.cidrGroups.ips} IP-only destinations grouped into ${report.cidrGroups.entries} network (CIDR) entries ` +
        `(/${report.cidrGroups.prefix.v4} IPv4, /${report.cidrGroups.prefix.v6} IPv6)`,
    );
  }
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
  if (report.unresolvedIpCount > 0) {
    const shown = report.unresolvedIps.slice(0, 20);
    lines.push(
      `# ${report.unresolvedIpCount} bare IPs with no known host name (see the ip-* and net-* entries)` +
        (shown.length ? `; alone in their network: ${shown.join(', ')}` : '') +
        (report.unresolvedIps.length > shown.length
          ? `, +${report.unresolvedIps.length - shown.length} more`
          : ''),
    );
  }
  return `${lines.join('\n')}\n`;
}

function json(data: unknown): RenderedReport {
  return { contentType: 'application/json; charset=utf-8', text: `${JSON.stringify(data, null, 2)}\n`, data };
}

/** Documents rendered per slice, yielding between slices so health probes and other requests are served. */
const YAML_SLICE = 50;

async function yamlInSlices(
  suggestions: readonly Suggestion[],
  apiVersion: ServiceEntryApiVersion,
): Promise<string> {
  let out = '';
  for (let i = 0; i < suggestions.length; i += YAML_SLICE) {
    if (i > 0) await new Promise((resolve) => setImmediate(resolve));
    out += toYaml(suggestions.slice(i, i + YAML_SLICE), { apiVersion });
  }
  return out;
}

/** Each suggestion's YAML document (without `---`), rendered in slices like `yamlInSlices`. */
async function yamlPerSuggestion(
  suggestions: readonly Suggestion[],
  apiVersion: ServiceEntryApiVersion,
): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < suggestions.length; i++) {
    if (i > 0 && i % YAML_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
    out.push(toYaml([suggestions[i]!], { apiVersion }).replace(/^---\n/, ''));
  }
  return out;
}

function yamlOut(data: unknown, body: string): RenderedReport {
  return { contentType: 'application/yaml; charset=utf-8', text: body, data };
}

function text(data: unknown, body: string): RenderedReport {
  return { contentType: 'text/plain; charset=utf-8', text: body, data };
}
