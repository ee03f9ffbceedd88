/**
 * Where the kubelet keeps a container's log (/var/log/pods/<namespace>_<pod>_<uid>/<container>/0.log): a
 * benchmark's file there makes `egresslens ingest` read the pod, namespace, container and workload from the path,
 * as it does on a node, and store the metadata Fluent Bit's kubernetes filter gives the HTTP and Kafka intakes,
 * so that every path stores the same rows.
 */
import { join } from 'node:path';

export interface PodOfLines {
  namespace: string;
  pod: string;
  container: string;
}

/** The kubelet's path of a pod's container log under `root`. */
export function kubeletLogPath(
  root: string,
  p: PodOfLines,
  uid = '6f1c1a36-1111-4b7e-9c1e-2a3b4c5d6e7f',
): string {
  return join(root, 'var', 'log', 'pods', `${p.namespace}_${p.pod}_${uid}`, p.container, '0.log');
}
