/**
 * Destinations seen through PassthroughCluster that must not become an ordinary MESH_EXTERNAL ServiceEntry,
 * and why. They are listed in the report (`flagged`) with the reason and what to do instead, never emitted:
 *
 * - `in-mesh`: a cluster-local name (`*.svc`, `*.<cluster domain>`, see cluster-domain.ts): the sidecar did not know an in-mesh
 *   service, so the fix is a sidecar or a registry entry, not an external entry;
 * - `link-local`: 169.254.0.0/16 or fe80::/10 (169.254.169.254 is the cloud metadata service): reachable only
 *   on the node's link, and opening it to workloads exposes node credentials;
 * - `single-label`: a name without a dot (`backend`), a short name resolved through the pod's DNS search path;
 * - `invalid-host`: a name Istio rejects as a ServiceEntry host (see service-entry-host.ts);
 * - `tcp-without-address`: opaque TCP to a named host with no destination IP logged: Istio needs `addresses` to
 *   match TCP (IST0134), and there are none to give.
 */
import { DEFAULT_CLUSTER_DOMAIN, isInMeshHost } from '../shared/cluster-domain.js';
import { bareIp, ipFamily, isIpLiteral } from '../shared/ip-literal.js';
import { hostProblem } from './service-entry-host.js';

/** It lives with the in-mesh rule now; kept here for the modules that import it from the flags. */
export { DEFAULT_CLUSTER_DOMAIN };

export type FlagReason = 'in-mesh' | 'link-local' | 'single-label' | 'invalid-host' | 'tcp-without-address';

export interface FlaggedDestination {
  /** The host as seen (or recovered), or the IP. */
  host: string;
  reason: FlagReason;
  /** One line: what is wrong and what to do instead. */
  detail: string;
  ports: number[];
  requests: number;
  bytes: number;
  namespaces: string[];
  workloads: string[];
  /** Destination IPs seen. */
  ips: string[];
  firstSeen: string;
  lastSeen: string;
}

export const METADATA_IP = '169.254.169.254';

/**
 * 169.254.0.0/16 or fe80::/10, tested on the text (the same test as IS_LINK_LOCAL_SQL in traffic-sql.ts): an
 * fe80::/10 address starts with a full four-digit hextet fe80–febf.
 */
export function isLinkLocal(ip: string): boolean {
  const bare = bareIp(ip);
  const family = ipFamily(bare);
  if (family === 4) return bare.startsWith('169.254.');
  return family === 6 && /^fe[89ab][0-9a-f]:/.test(bare);
}

/**
 * The flag for a destination (`host`, already normalised, with the IPs seen for it), or undefined when it may
 * become an ordinary suggestion.
 */
export function destinationFlag(
  host: string,
  ips: readonly string[],
  clusterDomain = DEFAULT_CLUSTER_DOMAIN,
): { reason: FlagReason; detail: string } | undefined {
  if (isIpLiteral(host)) {
    return isLinkLocal(host) ? { reason: 'link-local', detail: linkLocalDetail(host) } : undefined;
  }
  if (isInMeshHost(host, clusterDomain)) {
    return {
      reason: 'in-mesh',
      detail:
        `${host} is an in-mesh name (cluster domain ${clusterDomain}) reached through PassthroughCluster: the ` +
        `sidecar did not know this service. Either the calling workloads or the service have no sidecar, or ` +
        `the service is not in the registry visible to the caller (no Service, or hidden by exportTo or a ` +
        `Sidecar resource's egress hosts). Fix the injection or the registry; a MESH_EXTERNAL ServiceEntry is ` +
        `not the fix.`,
    };
  }
  const problem = hostProblem(host);
  if (problem) {
    return {
      reason: 'invalid-host',
      detail:
        `${host} cannot be a ServiceEntry host: ${problem}; Istio rejects it (domain name invalid). The ` +
        `client sent this name as SNI or Host header: find the real host name it connects to.`,
    };
  }
  if (!host.includes('.')) {
    return {
      reason: 'single-label',
      detail:
        `${host} has no dot: a short name resolved through the pod's DNS search path (likely an in-cluster ` +
        `Service such as ${host}.<namespace>.svc.${clusterDomain}, or a typo). A ServiceEntry for '${host}' ` +
        `would not match what the client really reaches: find the fully qualified name.`,
    };
  }
  const linkLocal = ips.filter(isLinkLocal);
  if (ips.length > 0 && linkLocal.length === ips.length) {
    return { reason: 'link-local', detail: `${host} resolves to ${linkLocalDetail(linkLocal.join(', '))}` };
  }
  return undefined;
}

function linkLocalDetail(ip: string): string {
  const what = ip.split(', ').includes(METADATA_IP)
    ? 'the cloud instance metadata service (it hands out node credentials)'
    : 'an address valid only on the node’s own link';
  return (
    `${ip}, link-local (169.254.0.0/16 or fe80::/10): ${what}. Not an ordinary external destination: ` +
    `allowing it from workloads is a security decision; block it, or allow it deliberately for the few ` +
    `workloads that need it.`
  );
}

export function tcpWithoutAddressDetail(host: string, ports: readonly number[]): string {
  const list = ports.join(', ');
  return (
    `${host} port${ports.length > 1 ? 's' : ''} ${list}: opaque TCP (neither HTTP nor SNI) and no destination ` +
    `IP in the logs. Istio matches TCP by address and needs the entry's addresses (IST0134); without them ` +
    `the port alone would capture every destination on it. Find the service's IPs and declare them, or ` +
    `enable DNS proxying with address auto-allocation.`
  );
}
