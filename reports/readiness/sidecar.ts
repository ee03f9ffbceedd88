/**
 * The Sidecar that switches one namespace to REGISTRY_ONLY. Without a workloadSelector it is the namespace's
 * default Sidecar (a namespace may have one such); egress `*\/*` keeps the namespace's view of the registry as
 * it is, so only the outbound policy changes.
 */
import { Document } from 'yaml';
import type { ServiceEntryApiVersion } from '../suggestion.js';

export interface SidecarSubject {
  namespace: string;
  requests: number;
  share: number;
  wouldBlock: number;
  destinationsToBlock: { total: number };
}

export function sidecarYaml(n: SidecarSubject, apiVersion: ServiceEntryApiVersion): string {
  const doc = new Document(
    {
      apiVersion,
      kind: 'Sidecar',
      metadata: { name: 'default', namespace: n.namespace || 'default' },
      spec: { egress: [{ hosts: ['*/*'] }], outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } },
    },
    { version: '1.1' },
  );
  const pct = (100 * n.share).toFixed(1);
  const lines = [
    ` egresslens: REGISTRY_ONLY for namespace ${n.namespace || '(none)'}: ${pct}% of its ${n.requests} external requests in the window would be admitted`,
    n.wouldBlock > 0
      ? ` ${n.wouldBlock} request(s) to ${n.destinationsToBlock.total} destination(s) would be blocked: see the readiness report`
      : ' nothing in the window would be blocked once the suggested ServiceEntries are applied',
    ' Apply the suggested ServiceEntries first. A namespace has one Sidecar without a workloadSelector: merge if it has one.',
  ];
  if (doc.contents) doc.contents.commentBefore = lines.join('\n');
  return doc.toString({ lineWidth: 0 });
}
