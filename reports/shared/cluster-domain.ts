/**
 * The mesh's cluster DNS domain (Kubernetes `--cluster-domain`, `cluster.local` unless the cluster was set up
 * otherwise): names under it, and `*.svc` short names, are in-mesh services, never external destinations.
 * One definition for the JS checks (service-entry flags, readiness) and the SQL ones (hostname recovery,
 * which clusters count as allowed external traffic), so every report draws the line at the same place.
 * In the reports' SQL the domain is always the bound parameter `{cluster_domain:String}`; only the
 * egress_requests view, which takes no parameters, holds it as a literal (store/schema.ts).
 */

import { allowedExternalSql, inMeshNameSql } from '../../store/traffic-classes.js';

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** A DNS name of lowercase labels (`cluster.local`, `corp.internal`); what the config, flag and API accept. */
export const CLUSTER_DOMAIN_PATTERN =
  /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export const CLUSTER_DOMAIN_HINT = 'a DNS domain of lowercase labels such as cluster.local';

export function isClusterDomain(text: string): boolean {
  return CLUSTER_DOMAIN_PATTERN.test(text);
}

/**
 * Whether `host` (normalised) is a cluster-local name: `*.svc`, the cluster domain itself, or a name under it
 * (`reviews.shop.svc.cluster.local`, `10-0-0-1.shop.pod.cluster.local`). Only the configured domain counts:
 * in a mesh whose domain is `corp.internal`, `*.svc.cluster.local` is an ordinary (if odd) external name.
 */
export function isInMeshHost(host: string, clusterDomain = DEFAULT_CLUSTER_DOMAIN): boolean {
  if (host.endsWith('.svc')) return true;
  const d = clusterDomain.replace(/^\.+|\.+$/g, '').toLowerCase();
  return d !== '' && (host === d || host.endsWith(`.${d}`));
}

/** The bound parameter the SQL below uses. */
export function clusterDomainParam(clusterDomain: string | undefined): { cluster_domain: string } {
  return {
    cluster_domain: (clusterDomain ?? DEFAULT_CLUSTER_DOMAIN).replace(/^\.+|\.+$/g, '').toLowerCase(),
  };
}

const DOMAIN_PARAM = '{cluster_domain:String}';

/** SQL: is the name in `col` (lowercase) cluster-local? Uses `{cluster_domain:String}`. */
export const IN_MESH_NAME_SQL = (col: string) => inMeshNameSql(col, DOMAIN_PARAM);

/** SQL: traffic allowed to an external host by a ServiceEntry: an outbound cluster whose host is not in-mesh. */
export const ALLOWED_EXTERNAL_BY_DOMAIN_SQL = allowedExternalSql(DOMAIN_PARAM);
