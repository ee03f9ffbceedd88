/**
 * The ServiceEntry that would let a blocked destination through, from the same generator as the suggestions and
 * with the same protocol rule (`blockedProtocolCounts`): a blocked IP on 443 is TCP here as in service-entries.
 * Null when the destination must not get one (in-mesh, link-local, invalid or single-label name, TCP with no IP).
 */
import type { BlockedDestination } from '../blocked/blocked-report.js';
import type { DestinationTraffic } from '../shared/destination.js';
import { blockedProtocolCounts } from './port-protocol.js';
import { planServiceEntries, type SuggestOptions } from './suggest-service-entries.js';
import type { ServiceEntryResource } from './suggestion.js';

/** Recovered names below this confidence are not used (as in the pass-through report). */
const MIN_RECOVERY_CONFIDENCE = 0.5;

export function serviceEntryForBlocked(
  d: BlockedDestination,
  opts: SuggestOptions = {},
): { resource: ServiceEntryResource | null; flagged?: string } {
  const recovered =
    d.recovered && d.recovered.confidence >= MIN_RECOVERY_CONFIDENCE ? d.recovered : undefined;
  const host = recovered ? recovered.host : d.host;
  const counts = blockedProtocolCounts(d.kind, d.host, d.count);
  const traffic: DestinationTraffic = {
    host,
    port: d.port,
    ip: d.ip || undefined,
    requests: d.count,
    bytes: 0,
    httpRequests: counts.httpRequests,
    tlsWithSni: counts.tlsWithSni,
    grpcRequests: counts.grpcRequests,
    namespaces: [...new Set(d.sources.map((s) => s.namespace).filter(Boolean))],
    workloads: [...new Set(d.sources.filter((s) => s.workload).map((s) => `${s.namespace}/${s.workload}`))],
    firstSeen: d.firstSeen,
    lastSeen: d.lastSeen,
    examplePaths: d.examplePaths,
    recoveredFrom: recovered
      ? { host: d.host, confidence: recovered.confidence, note: 'recovered from traffic to the same IP' }
      : undefined,
  };
  const plan = planServiceEntries([traffic], opts);
  const resource = plan.suggestions[0]?.resource ?? null;
  const flag = plan.flagged[0];
  return flag && !resource ? { resource, flagged: `${flag.reason}: ${flag.detail}` } : { resource };
}
