/**
 * One suggestion from the traffic rows it stands for: the ports (one protocol each), the ServiceEntry resource
 * for its kind, the evidence and the warnings.
 *
 * - `host`: `hosts: [host]`, `resolution: DNS` (as in Istio's "Accessing External Services": with NONE the sidecar
 *   trusts the Host header, so a client could claim `httpbin.org` while connecting to another IP; with DNS it
 *   ignores the original destination and resolves the host itself). An entry whose ports are opaque TCP also
 *   lists the IPs seen as `addresses` (plain IPs: Istio allows CIDRs only with NONE/STATIC): Istio matches TCP by
 *   destination address, and without addresses by port alone (IST0134).
 * - `wildcard`: `hosts: ['*.parent']`, `resolution: NONE` (DNS cannot resolve a wildcard).
 * - `ip`: a synthetic host (`ip-93-184-215-14.external`), `addresses: [ip/32 or /128]`, `resolution: STATIC`,
 *   `endpoints: [{address: ip}]`.
 */
import type { DestinationTraffic } from '../shared/destination.js';
import { bareIp, hostCidr, isIpLiteral } from '../shared/ip-literal.js';
import { aggregateEvidence, evidenceAnnotations } from './evidence.js';
import { chooseProtocol } from './port-protocol.js';
import { dynamicDnsAdvice } from './service-entry-dynamic-dns.js';
import type {
  PortEvidence,
  ServiceEntryApiVersion,
  ServiceEntryResource,
  Suggestion,
  SuggestionKind,
} from './suggestion.js';
import { isSharedParent } from './wildcard-groups.js';

export interface BuildContext {
  apiVersion: ServiceEntryApiVersion;
  namespace?: string;
  exportTo?: string[];
}

/** `93.184.215.14` → `ip-93-184-215-14.external`; IPv6 colons become dashes too. */
export function syntheticIpHost(ip: string): string {
  let label = `ip-${bareIp(ip).replace(/[.:]/g, '-')}`;
  if (label.endsWith('-')) label += '0';
  return `${label}.external`;
}

/** The warning every IP-only suggestion carries (also written as a YAML comment). */
export function ipOnlyWarning(ip: string): string {
  return (
    `IP-only destination ${ip}: no hostname was seen (no SNI, no HTTP Host). This entry pins the address ` +
    `(addresses ${hostCidr(ip)}, resolution STATIC; the host ${syntheticIpHost(ip)} is synthetic) and breaks ` +
    `when the IP changes, as CDN and cloud load-balancer addresses do. Find the hostname the workload uses and ` +
    `prefer a DNS entry for it.`
  );
}

export function wildcardWarning(
  wildcard: string,
  members: readonly string[],
  ports: readonly { number: number; protocol: string }[] = [],
): string {
  return (
    `${wildcard} replaces ${members.length} hosts seen (${members.join(', ')}). A wildcard cannot use ` +
    `resolution DNS, so this entry uses NONE: the sidecar trusts the Host header / SNI the client sends and ` +
    `forwards to the original destination IP, which skips DNS-based protection (a client can name any ` +
    `${wildcard} host while connecting elsewhere). ${dynamicDnsAdvice(ports)} Prefer listing the hosts ` +
    `individually with resolution DNS when the set is stable.`
  );
}

/** Port evidence per declared port (1–65535), sorted by number, plus the protocol warnings. */
export function portsOf(
  rows: readonly DestinationTraffic[],
  ipOnly: boolean,
): { ports: PortEvidence[]; warnings: string[] } {
  const byPort = new Map<number, Omit<PortEvidence, 'protocol' | 'name' | 'reason'>>();
  for (const r of rows) {
    const p = byPort.get(r.port) ?? {
      number: r.port,
      requests: 0,
      bytes: 0,
      httpRequests: 0,
      tlsWithSni: 0,
      grpcRequests: 0,
    };
    p.requests += r.requests;
    p.bytes += r.bytes;
    p.httpRequests += r.httpRequests;
    p.tlsWithSni += r.tlsWithSni;
    p.grpcRequests += r.grpcRequests;
    byPort.set(r.port, p);
  }
  const warnings: string[] = [];
  const ports = [...byPort.values()]
    .sort((a, b) => a.number - b.number)
    .map((p) => {
      const choice = chooseProtocol(p.number, p, { ipOnly });
      warnings.push(...choice.warnings);
      return { ...p, protocol: choice.protocol, name: choice.name, reason: choice.reason };
    });
  return { ports, warnings };
}

/**
 * The suggestion for `specHost` (a host, `*.parent`, or an IP literal for `ip`), from `rows` (ports 1–65535) and
 * `unknownPortRows` (port 0, counted in the evidence only).
 */
export function buildSuggestion(
  kind: SuggestionKind,
  specHost: string,
  rows: readonly DestinationTraffic[],
  unknownPortRows: readonly DestinationTraffic[],
  name: string,
  ctx: BuildContext,
): Suggestion {
  const { ports, warnings } = portsOf(rows, kind === 'ip');
  const evidence = aggregateEvidence(rows, ports, unknownPortRows);
  const hosts = [kind === 'ip' ? syntheticIpHost(specHost) : specHost];

  if (kind === 'ip') warnings.unshift(ipOnlyWarning(specHost));
  if (kind === 'wildcard') {
    warnings.unshift(wildcardWarning(specHost, evidence.observedHosts, ports));
    const parent = specHost.slice(2);
    if (isSharedParent(parent)) {
      warnings.push(
        `${parent} is shared by many tenants (a cloud or hosting platform): ${specHost} admits every ` +
          `customer's subdomain, not only yours. List your own hosts instead.`,
      );
    }
  }
  const tcpPorts = ports.filter((p) => p.protocol === 'TCP').map((p) => p.number);
  const addresses =
    kind === 'host' && tcpPorts.length > 0 ? [...new Set(evidence.ips.filter(isIpLiteral).map(bareIp))] : [];
  if (kind === 'host' && tcpPorts.length > 0) {
    warnings.push(
      addresses.length > 0
        ? `Port${tcpPorts.length > 1 ? 's' : ''} ${tcpPorts.join(', ')}: opaque TCP (neither HTTP nor SNI ` +
            `seen), which Istio matches by destination address: this entry lists the ${addresses.length} ` +
            `IP(s) seen as addresses (resolution DNS still resolves ${specHost} for the upstream). ` +
            `Connections to other IPs of ${specHost} will not match: keep the list current, or enable DNS ` +
            `proxying with address auto-allocation and drop the addresses.`
        : `Port${tcpPorts.length > 1 ? 's' : ''} ${tcpPorts.join(', ')}: opaque TCP and no destination IP ` +
            `seen, so this entry has no addresses and Istio would match it by port alone (IST0134): add ` +
            `the service's addresses before applying.`,
    );
  }
  if (tcpPorts.includes(443) && kind !== 'ip') {
    warnings.push(
      `Port 443 showed no SNI in the logs (pass-through and BlackHole lines often have none even when the ` +
        `client sends one), so it is declared TCP and matched by the addresses seen. If the clients do send ` +
        `SNI, declaring it HTTPS without addresses matches by name, whatever IP the host resolves to.`,
    );
  }
  const seenByName = hostsSeenByName(rows);
  for (const r of evidence.recovered) {
    const low = r.confidence < 0.5 ? 'Low confidence: ' : '';
    warnings.push(
      seenByName.has(r.host)
        ? `${low}traffic to ${r.from} (no SNI, no Host header) was attributed to ${r.host}, which the logs ` +
            `also show by name as a destination of this traffic (confidence ${r.confidence}: ${r.note}).`
        : `${low}host ${r.host} was not in the logs of this traffic (it went to ${r.from} with no SNI and no ` +
            `Host header); the name was recovered from other log lines for ${r.from} (confidence ` +
            `${r.confidence}: ${r.note}). Check that it is the host the workload really uses: the entry ` +
            `allows ${r.host}, not the IP.`,
    );
  }
  if (evidence.unknownPort) {
    warnings.push(
      `${evidence.unknownPort.requests} requests to ${evidence.observedHosts.join(', ')} had an unknown port ` +
        `and are not represented by any port of this entry.`,
    );
  }

  const spec: ServiceEntryResource['spec'] = {
    hosts,
    ...(kind === 'ip' ? { addresses: [hostCidr(specHost)] } : {}),
    ...(addresses.length > 0 ? { addresses } : {}),
    ports: ports.map((p) => ({ number: p.number, name: p.name, protocol: p.protocol })),
    resolution: kind === 'host' ? 'DNS' : kind === 'wildcard' ? 'NONE' : 'STATIC',
    location: 'MESH_EXTERNAL',
    ...(kind === 'ip' ? { endpoints: [{ address: bareIp(specHost) }] } : {}),
    ...(ctx.exportTo && ctx.exportTo.length > 0 ? { exportTo: [...ctx.exportTo] } : {}),
  };
  const resource: ServiceEntryResource = {
    apiVersion: ctx.apiVersion,
    kind: 'ServiceEntry',
    metadata: {
      name,
      ...(ctx.namespace ? { namespace: ctx.namespace } : {}),
      annotations: evidenceAnnotations(evidence, kind),
    },
    spec,
  };
  return { name, kind, hosts, evidence, warnings, resource };
}

/**
 * Hosts that some row names directly: a row without `recoveredFrom`, or one whose `recoveredRequests` (when the
 * store says how many of its requests were attributed by recovery) are fewer than its requests.
 */
export function hostsSeenByName(rows: readonly DestinationTraffic[]): Set<string> {
  const out = new Set<string>();
  for (const r of rows) {
    if (!r.recoveredFrom) out.add(r.host);
    else if (r.recoveredRequests !== undefined && r.recoveredRequests < r.requests) out.add(r.host);
  }
  return out;
}
