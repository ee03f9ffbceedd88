/**
 * IP-only destinations grouped by network: the IPs without any name that share a network (default /24 for
 * IPv4, /64 for IPv6) and the same port set become one ServiceEntry instead of one per IP, so that tens of
 * thousands of cloud addresses turn into a reviewable number of entries. The grouping is done by the engine
 * (passthrough-traffic.ts); this builds the entries:
 *
 * - `hosts`: a synthetic, valid DNS name for the network (`net-52-0-1-0-24.external`; with the ports appended
 *   when the same network has IPs with other port sets, which get their own entry);
 * - `addresses: [network]`, `resolution: NONE` (the sidecar forwards to the original destination IP, which the
 *   address match has already confined to the network), `location: MESH_EXTERNAL`;
 * - ports TCP (or TLS/HTTPS) as for single IPs: HTTP to a bare IP cannot match a host name;
 * - the IP count and a few example IPs in the annotations, the header comment and a warning.
 */
import { createHash } from 'node:crypto';
import { portsOf } from './build-suggestion.js';
import { ANNOTATION_PREFIX, aggregateEvidence, evidenceAnnotations } from './evidence.js';
import type { IpGroup } from './passthrough-traffic.js';
import { NameAllocator, nameFromHost } from './service-entry-name.js';
import type { ServiceEntryApiVersion, ServiceEntryResource, Suggestion } from './suggestion.js';

export interface CidrContext {
  apiVersion: ServiceEntryApiVersion;
  namespace?: string;
  exportTo?: string[];
}

const MAX_LABEL = 63;

/** A DNS label no longer than 63 characters: a long one keeps its start and gets a short hash of the whole. */
function label(text: string): string {
  if (text.length <= MAX_LABEL) return text;
  const hash = createHash('sha1').update(text).digest('hex').slice(0, 8);
  return `${text.slice(0, MAX_LABEL - 9).replace(/-+$/, '')}-${hash}`;
}

/** `52.0.1.0/24` → `net-52-0-1-0-24.external`; `2001:db8::/64` → `net-2001-db8--64.external`. */
export function syntheticCidrHost(cidr: string, ports?: readonly number[]): string {
  const base = `net-${cidr.toLowerCase().replace(/[.:/]/g, '-')}${ports ? `-p${ports.join('-')}` : ''}`;
  return `${label(base)}.external`;
}

export function cidrWarning(g: IpGroup): string {
  const size = g.family === 4 ? 2 ** (32 - prefixOf(g.cidr)) : undefined;
  return (
    `${g.ipCount} IP-only destinations in ${g.cidr} (e.g. ${g.exampleIps.join(', ')}), none seen with a host ` +
    `name (no SNI, no HTTP Host), all on port(s) ${g.ports.join(', ')}: this entry admits the whole network` +
    `${size ? ` (${size} addresses)` : ''} on these ports, not only the IPs seen. A network fits cloud or ` +
    `database addresses that rotate within a range; when you know the host names the workloads use, ` +
    `prefer DNS entries for them. Change the grouping with --cidr-prefix / cidrPrefix.`
  );
}

function prefixOf(cidr: string): number {
  return Number(cidr.slice(cidr.indexOf('/') + 1));
}

/** One suggestion per group, named by `allocator` (shared with the other suggestions so names stay unique). */
export function buildCidrSuggestions(
  groups: readonly IpGroup[],
  ctx: CidrContext,
  allocator: NameAllocator = new NameAllocator(),
): Suggestion[] {
  const perNetwork = new Map<string, number>();
  for (const g of groups) perNetwork.set(g.cidr, (perNetwork.get(g.cidr) ?? 0) + 1);
  return groups.map((g) => {
    const host = syntheticCidrHost(g.cidr, (perNetwork.get(g.cidr) ?? 0) > 1 ? g.ports : undefined);
    const { ports, warnings } = portsOf(g.traffic, true);
    const evidence = aggregateEvidence(g.traffic, ports);
    evidence.ips = [...g.exampleIps];
    warnings.unshift(cidrWarning(g));
    const name = allocator.take(nameFromHost(host.replace(/\.external$/, '')));
    const resource: ServiceEntryResource = {
      apiVersion: ctx.apiVersion,
      kind: 'ServiceEntry',
      metadata: {
        name,
        ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
        annotations: {
          ...evidenceAnnotations(evidence, 'cidr'),
          [`${ANNOTATION_PREFIX}cidr`]: g.cidr,
          [`${ANNOTATION_PREFIX}ip-count`]: String(g.ipCount),
          [`${ANNOTATION_PREFIX}example-ips`]: g.exampleIps.join(','),
        },
      },
      spec: {
        hosts: [host],
        addresses: [g.cidr],
        ports: ports.map((p) => ({ number: p.number, name: p.name, protocol: p.protocol })),
        resolution: 'NONE',
        location: 'MESH_EXTERNAL',
        ...(ctx.exportTo && ctx.exportTo.length > 0 ? { exportTo: [...ctx.exportTo] } : {}),
      },
    };
    return { name, kind: 'cidr', hosts: [host], evidence, warnings, resource };
  });
}
