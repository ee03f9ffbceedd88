/**
 * Suggestions as a multi-document YAML stream (`---` separated), each ServiceEntry validated for the chosen
 * apiVersion and preceded by `#` comment lines with its evidence and warnings (made safe by comment-text.ts, so
 * client-supplied text cannot end a comment line). IP-only entries also get a comment on `addresses`. The text
 * is written by shared/yaml-text.ts, which quotes whatever YAML 1.1 (kubectl) or 1.2 would not read as a string.
 * `toJson` and `toTable` are re-exported from their own modules.
 */
import { wrap } from '../shared/comment-text.js';
import { type YamlValue, yamlComment, yamlText } from '../shared/yaml-text.js';
import { validateServiceEntry } from './service-entry-validate.js';
import { DEFAULT_API_VERSION, type ServiceEntryApiVersion, type Suggestion } from './suggestion.js';

export { type SuggestionJson, toJson } from './service-entry-json.js';
export { type TableOptions, toTable } from './service-entry-table.js';

const WIDTH = 110;

export interface YamlOptions {
  /** Written and validated apiVersion (default: each resource's own, normally `networking.istio.io/v1`). */
  apiVersion?: ServiceEntryApiVersion;
}

const IP_ONLY_COMMENT = new Map([
  ['spec.addresses', ['IP-only: breaks when this IP changes; a hostname (resolution DNS) is better.']],
]);

/** The YAML stream; throws `ServiceEntryValidationError` when a resource is invalid. `''` for no suggestions. */
export function toYaml(suggestions: readonly Suggestion[], opts: YamlOptions = {}): string {
  return suggestions.map((s) => `---\n${documentText(s, opts)}`).join('');
}

/** One suggestion as a YAML document (without the `---` line): its header comment, then the resource. */
export function documentText(s: Suggestion, opts: YamlOptions = {}): string {
  const resource = {
    ...s.resource,
    apiVersion: opts.apiVersion ?? s.resource.apiVersion ?? DEFAULT_API_VERSION,
  };
  validateServiceEntry(resource, resource.apiVersion);
  return (
    yamlComment(headerLines(s)) +
    yamlText(resource as unknown as { [key: string]: YamlValue }, {
      keyComments: s.kind === 'ip' ? IP_ONLY_COMMENT : undefined,
    })
  );
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
  // wrap() makes each line safe (comment-text.ts).
  const out = lines.flatMap((l) => wrap(l, WIDTH, '  '));
  for (const w of s.warnings) out.push(...wrap(`WARNING: ${w}`, WIDTH, '  '));
  return out;
}

function list(items: readonly string[], max: number): string {
  return items.length > max
    ? `${items.slice(0, max).join(', ')}, +${items.length - max} more`
    : items.join(', ');
}
