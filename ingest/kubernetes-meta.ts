/**
 * Where a record came from, from the `kubernetes` map Fluent Bit's kubernetes filter adds (`namespace_name`,
 * `pod_name`, `container_name`, `host`, `labels`, optionally `ownerReferences`).
 */
import type { SourceMeta } from './decoded-entry.js';

export const EMPTY_META: Readonly<SourceMeta> = Object.freeze({
  namespace: '',
  pod: '',
  container: '',
  workload: '',
  node: '',
});

/** Labels naming the workload, most specific first. */
const WORKLOAD_LABELS = ['app.kubernetes.io/name', 'app', 'service.istio.io/canonical-name', 'k8s-app'];

/** Characters of Kubernetes' generated name suffixes (`rand.SafeEncodeString`: no vowels, no 0/1/3). */
const GENERATED = '[bcdfghjklmnpqrstvwxz2456789]';
/** `<deployment>-<pod-template-hash>-<5 chars>`; also `<cronjob>-<scheduled minute>-<5 chars>`. */
const DEPLOYMENT_POD = /^(.+)-([a-z0-9]{5,10})-[a-z0-9]{5}$/;
/** `<statefulset>-<ordinal>`. */
const STATEFULSET_POD = /^(.+)-\d+$/;
/** `<daemonset|job|replicaset>-<5 generated chars>`. */
const GENERATED_SUFFIX_POD = new RegExp(`^(.+)-${GENERATED}{5}$`);
const GENERATED_ONLY = new RegExp(`^${GENERATED}+$`);

export function metaFromKubernetes(k: unknown): SourceMeta {
  if (!isObject(k)) return { ...EMPTY_META };
  const pod = text(k['pod_name']);
  return {
    namespace: text(k['namespace_name']),
    pod,
    container: text(k['container_name']),
    workload:
      workloadFromLabels(k['labels']) || workloadFromOwners(k['ownerReferences']) || workloadFromPodName(pod),
    node: text(k['host']),
  };
}

function workloadFromLabels(labels: unknown): string {
  if (!isObject(labels)) return '';
  for (const name of WORKLOAD_LABELS) {
    const value = text(labels[name]);
    if (value) return value;
  }
  return '';
}

/** The controller named in `ownerReferences` (Fluent Bit `owner_references On`); a ReplicaSet loses its hash. */
function workloadFromOwners(owners: unknown): string {
  if (!Array.isArray(owners)) return '';
  for (const owner of owners) {
    if (!isObject(owner)) continue;
    const name = text(owner['name']);
    if (!name) continue;
    const kind = text(owner['kind']);
    if (kind === 'ReplicaSet') return name.replace(/-[a-z0-9]{5,10}$/, '');
    if (kind === 'Job') return name.replace(/-\d{8,}$/, '');
    return name;
  }
  return '';
}

/**
 * The workload a pod name was generated for: `sleep-7f9c8d-abcde` → `sleep` (Deployment), `db-0` → `db`
 * (StatefulSet), `fluent-bit-x7k2p` → `fluent-bit` (DaemonSet, Job). Other names are returned unchanged.
 */
export function workloadFromPodName(pod: string): string {
  const deployment = DEPLOYMENT_POD.exec(pod);
  if (deployment) {
    const hash = deployment[2]!;
    if (/\d/.test(hash) || GENERATED_ONLY.test(hash)) return deployment[1]!;
  }
  const statefulSet = STATEFULSET_POD.exec(pod);
  if (statefulSet) return statefulSet[1]!;
  const generated = GENERATED_SUFFIX_POD.exec(pod);
  if (generated) return generated[1]!;
  return pod;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
