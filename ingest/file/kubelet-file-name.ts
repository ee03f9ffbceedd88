/**
 * Where the kubelet keeps container logs, and what the path says about the pod: files copied off a node
 * (or read there) keep pod, namespace and container in their names, which the lines themselves lack.
 *   /var/log/containers/<pod>_<namespace>_<container>-<64 hex container id>.log
 *   /var/log/pods/<namespace>_<pod>_<pod uid>/<container>/<restart>.log (rotated: `0.log.20261101-120000[.gz]`)
 */
import { basename, dirname } from 'node:path';
import { workloadFromPodName } from '../kubernetes-meta.js';

export interface PodOfFile {
  pod: string;
  namespace: string;
  container: string;
  workload: string;
}

/** DNS-1123 names as Kubernetes allows them for pods, namespaces and containers. */
const NAME = '[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?';
const CONTAINERS_FILE = new RegExp(`^(${NAME})_(${NAME})_(${NAME})-[0-9a-f]{64}\\.log(?:\\.[^/]*)?$`);
const PODS_DIR = new RegExp(`^(${NAME})_(${NAME})_[0-9a-f-]{36}$`);
const PODS_FILE = /^\d+\.log(?:\.[^/]*)?$/;

export function podOfFile(path: string): PodOfFile | undefined {
  const file = basename(path);
  const flat = CONTAINERS_FILE.exec(file);
  if (flat) return withWorkload(flat[1]!, flat[2]!, flat[3]!);
  if (!PODS_FILE.test(file)) return undefined;
  const containerDir = dirname(path);
  const podDir = PODS_DIR.exec(basename(dirname(containerDir)));
  if (!podDir) return undefined;
  return withWorkload(podDir[2]!, podDir[1]!, basename(containerDir));
}

function withWorkload(pod: string, namespace: string, container: string): PodOfFile {
  return { pod, namespace, container, workload: workloadFromPodName(pod) };
}
