/**
 * Which namespaces see a ServiceEntry, from its `exportTo`: absent or empty → every namespace (the mesh default,
 * unless `defaultServiceExportTo` says otherwise); `*` → every namespace; `.` → only the entry's own namespace;
 * `~` → none; other values → those namespaces. (A Sidecar resource's egress `hosts` can narrow this further per
 * workload; that is not modelled here.)
 */

export interface Exported {
  namespace: string;
  exportTo?: string[];
}

/** The pseudo namespace used when the source namespace of some traffic is unknown: only "everyone" covers it. */
export const ANY_NAMESPACE = '*';

export function isExportedToAll(entry: Exported): boolean {
  return !entry.exportTo || entry.exportTo.length === 0 || entry.exportTo.includes('*');
}

/** Whether workloads in `namespace` see `entry` (`*` asks whether every namespace does). */
export function isVisibleFrom(entry: Exported, namespace: string): boolean {
  if (isExportedToAll(entry)) return true;
  if (namespace === ANY_NAMESPACE) return false;
  return entry.exportTo!.some((e) => (e === '.' ? namespace === entry.namespace : e === namespace));
}

/** `exportTo ['.']` as text for reasons. */
export function describeExportTo(entry: Exported): string {
  return entry.exportTo && entry.exportTo.length > 0
    ? `exportTo [${entry.exportTo.map((e) => `'${e}'`).join(', ')}]`
    : 'no exportTo (all namespaces)';
}
