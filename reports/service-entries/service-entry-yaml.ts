/**
 * Suggestions as a multi-document YAML stream (`---` separated), each ServiceEntry validated for the chosen
 * apiVersion and preceded by `#` comment lines with its evidence and warnings (yaml's Document API comments, so
 * client-supplied text cannot escape a comment). IP-only entries also get a comment on `addresses`.
 * `toJson` and `toTable` are re-exported from their own modules.
 */
import { Document, isMap, isScalar, type Pair } from 'yaml';
import { safeText, wrap } from '../shared/comment-text.js';
import { validateServiceEntry } from './service-entry-validate.js';
import { DEFAULT_API_VERSION, type ServiceEntryApiVersion, type Suggestion } from './suggestion.js';

export { type SuggestionJson, toJson } from './service-entry-json.js';
export { type TableOptions, toTable } from './service-entry-table.js';

const WIDTH = 110;

export interface YamlOptions {
  /** Written and validated apiVersion (default: each resource's own, normally `networking.istio.io/v1`). */
  apiVersion?: ServiceEntryApiVersion;
}

/** The YAML stream; throws `ServiceEntryValidationError` when a resource is invalid. `''` for no suggestions. */
export function toYaml(suggestions: readonly Suggestion[], opts: YamlOptions = {}): string {
  return suggestions.map((s) => `---\n${toDocument(s, opts).toString({ lineWidth: 0 })}`).join('');
}

/** One suggestion as a yaml Document with its header comment. */
export function toDocument(s: Suggestion, opts: YamlOptions = {}): Document {
  const resource = structuredClone(s.resource);
  resource.apiVersion = opts.apiVersion ?? resource.apiVersion ?? DEFAULT_API_VERSION;
  validateServiceEntry(resource, resource.apiVersion);
  // YAML 1.1 rules for quoting: kubectl reads YAML 1.1, where unquoted `yes`, `on` or a timestamp would not be a
  // string (annotation values must be strings); 1.1-safe output reads the same under YAML 1.2.
  const doc = new Document(resource, { version: '1.1' });
  if (doc.contents)
    doc.contents.commentBefore = headerLines(s)
      .map((l) => ` ${l}`)
      .join('\n');
  if (s.kind === 'ip') {
    const spec = doc.get('spec', true);
    const addresses = isMap(spec)
      ? spec.items.find((p: Pair) => isScalar(p.key) && p.key.value === 'addresses')
      : undefined;
    if (addresses && isScalar(addresses.key)) {
      addresses.key.commentBefore =
        ' IP-only: breaks when this IP changes; a hostname (resolution DNS) is better.';
    }
  }
  return doc;
}

/** The header comment: what, the evidence, then each warning. */
export function headerLines(s: Suggestion): string[] {
  const e = s.evidence;
  const lines: string[] = [
    `ServiceEntry ${s.name} suggested by egresslens from PassthroughCluster traffic; review before applying.`,
    `hosts: ${s.hosts.join(', ')}${s.kind === 'wildcard' ? ` (stands for ${e.observedHosts.join(', ')})` : ''}`,
    `requests: ${e.requests}, bytes: ${e.bytes}, seen ${e.firstSeen || '?'} .. ${e.lastSeen || '?'}`,
    ...e.ports.map((p) => `port ${p.number}/${p.protocol}: ${p.requests} requests, ${p.reason}`),
    `source namespaces: ${e.namespaces.join(', ') || '(unknown)'}`,
    `source workloads: ${list(e.workloads, 10) || '(unknown)'}`,
  ];
  if (e.ips.length > 0) lines.push(`destination IPs seen: ${list(e.ips, 10)}`);
  if (e.examplePaths.length > 0) lines.push(`example paths: ${e.examplePaths.join(' ')}`);
  const out = lines.flatMap((l) => wrap(l, WIDTH, '  '));
  for (const w of s.warnings) out.push(...wrap(`WARNING: ${w}`, WIDTH, '  '));
  return out.map(safeText);
}

function list(items: readonly string[], max: number): string {
  return items.length > max
    ? `${items.slice(0, max).join(', ')}, +${items.length - max} more`
    : items.join(', ');
}
