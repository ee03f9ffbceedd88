/** Suggestions as plain JSON-ready objects: the ServiceEntry plus its evidence and warnings. */
import type {
  Evidence,
  ServiceEntryApiVersion,
  ServiceEntryResource,
  Suggestion,
  SuggestionKind,
} from './suggestion.js';

export interface SuggestionJson {
  name: string;
  kind: SuggestionKind;
  hosts: string[];
  warnings: string[];
  evidence: Evidence;
  resource: ServiceEntryResource;
}

/** Deep copies (safe to serialise or mutate); `apiVersion` overrides the resources' own. */
export function toJson(
  suggestions: readonly Suggestion[],
  opts: { apiVersion?: ServiceEntryApiVersion } = {},
): SuggestionJson[] {
  return suggestions.map((s) => {
    const resource = structuredClone(s.resource);
    if (opts.apiVersion) resource.apiVersion = opts.apiVersion;
    return {
      name: s.name,
      kind: s.kind,
      hosts: [...s.hosts],
      warnings: [...s.warnings],
      evidence: structuredClone(s.evidence),
      resource,
    };
  });
}
