/**
 * The evidence behind a suggestion, summed from its traffic rows, and the same evidence as
 * `metadata.annotations` (`egresslens.io/*`, all values strings) so that it travels with the applied resource.
 */
import type { DestinationTraffic } from '../shared/destination.js';
import type { Evidence, PortEvidence, SuggestionKind } from './suggestion.js';

export const ANNOTATION_PREFIX = 'egresslens.io/';
const MAX_EXAMPLE_PATHS = 5;
const MAX_PATH_LENGTH = 200;
/** Lists longer than this are cut in annotations (`…, +N more`); the evidence keeps them whole. */
const MAX_ANNOTATION_ITEMS = 50;

/** Sums `rows` (already restricted to the declared ports, except `unknownPortRows`). */
export function aggregateEvidence(
  rows: readonly DestinationTraffic[],
  ports: PortEvidence[],
  unknownPortRows: readonly DestinationTraffic[] = [],
): Evidence {
  const namespaces = new Set<string>();
  const workloads = new Set<string>();
  const paths = new Set<string>();
  const observed = new Set<string>();
  const ips = new Set<string>();
  const recovered = new Map<string, Evidence['recovered'][number]>();
  let requests = 0;
  let bytes = 0;
  let first: string | undefined;
  let last: string | undefined;
  for (const r of rows) {
    requests += r.requests;
    bytes += r.bytes;
    for (const n of r.namespaces) namespaces.add(n);
    for (const w of r.workloads) workloads.add(w);
    for (const p of r.examplePaths) {
      const clean = cleanPath(p);
      if (clean !== '' && paths.size < MAX_EXAMPLE_PATHS) paths.add(clean);
    }
    observed.add(r.host);
    if (r.ip) ips.add(r.ip);
    if (first === undefined || earlier(r.firstSeen, first)) first = r.firstSeen;
    if (last === undefined || earlier(last, r.lastSeen)) last = r.lastSeen;
    if (r.recoveredFrom) {
      const key = `${r.host}\u0000${r.recoveredFrom.host}`;
      const prev = recovered.get(key);
      if (!prev || r.recoveredFrom.confidence < prev.confidence) {
        recovered.set(key, { host: r.host, from: r.recoveredFrom.host, ...pick(r.recoveredFrom) });
      }
    }
  }
  const evidence: Evidence = {
    requests,
    bytes,
    namespaces: [...namespaces].sort(),
    workloads: [...workloads].sort(),
    firstSeen: first ?? '',
    lastSeen: last ?? '',
    examplePaths: [...paths],
    ports,
    observedHosts: [...observed].sort(),
    ips: [...ips].sort(),
    recovered: [...recovered.values()],
  };
  if (unknownPortRows.length > 0) {
    evidence.unknownPort = {
      requests: unknownPortRows.reduce((s, r) => s + r.requests, 0),
      bytes: unknownPortRows.reduce((s, r) => s + r.bytes, 0),
    };
  }
  return evidence;
}

function pick(r: { confidence: number; note: string }): { confidence: number; note: string } {
  return { confidence: r.confidence, note: r.note };
}

/** Whether ISO time `a` is before `b` (text order when either does not parse). */
function earlier(a: string, b: string): boolean {
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(ta) || Number.isNaN(tb)) return a < b;
  return ta < tb;
}

/** Query string and fragment removed (they often carry tokens), control characters dropped, length capped. */
export function cleanPath(path: string): string {
  const cut = path.search(/[?#]/);
  const p = (cut >= 0 ? path.slice(0, cut) : path).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '');
  return p.length > MAX_PATH_LENGTH ? `${p.slice(0, MAX_PATH_LENGTH)}…` : p;
}

function list(items: readonly string[]): string {
  if (items.length <= MAX_ANNOTATION_ITEMS) return items.join(',');
  return `${items.slice(0, MAX_ANNOTATION_ITEMS).join(',')},+${items.length - MAX_ANNOTATION_ITEMS} more`;
}

/** `egresslens.io/*` annotations (string values only, as Kubernetes requires). */
export function evidenceAnnotations(evidence: Evidence, kind: SuggestionKind): Record<string, string> {
  const a: Record<string, string> = {
    [`${ANNOTATION_PREFIX}generated-by`]: 'egresslens',
    [`${ANNOTATION_PREFIX}kind`]: kind,
    [`${ANNOTATION_PREFIX}requests`]: String(evidence.requests),
    [`${ANNOTATION_PREFIX}bytes`]: String(evidence.bytes),
    [`${ANNOTATION_PREFIX}first-seen`]: evidence.firstSeen,
    [`${ANNOTATION_PREFIX}last-seen`]: evidence.lastSeen,
    [`${ANNOTATION_PREFIX}source-namespaces`]: list(evidence.namespaces),
    [`${ANNOTATION_PREFIX}source-workloads`]: list(evidence.workloads),
    [`${ANNOTATION_PREFIX}ports`]: evidence.ports.map((p) => `${p.number}/${p.protocol}`).join(','),
    [`${ANNOTATION_PREFIX}observed-hosts`]: list(evidence.observedHosts),
  };
  if (evidence.recovered.length > 0) {
    a[`${ANNOTATION_PREFIX}recovered-from`] = evidence.recovered
      .map((r) => `${r.host}<-${r.from} (confidence ${r.confidence})`)
      .join(',');
  }
  return a;
}
