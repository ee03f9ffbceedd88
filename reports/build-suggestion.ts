/**
 * One suggestion from the traffic rows it stands for: the ports (one protocol each), the ServiceEntry resource
 * for its kind, the evidence and the warnings.
 *
 * - `host`: `hosts: [host]`, `resolution: DNS` (as in Istio's "Accessing External Services": with NONE the sidecar
 *   trusts the Host header, so a client could claim `httpbin.org` while connecting to another IP; with DNS it
 *   ignores the original destination and resolves the host itself).
 * - `wildcard`: `hosts: ['*.parent']`, `resolution: NONE` (DNS cannot resolve a wildcard).
 * - `ip`: a synthetic host (`ip-93-184-215-14.external`), `addresses: [ip/32 or /128]`, `resolution: STATIC`,
 *   `endpoints: [{address: ip}]`.
 */
import type { DestinationTraffic } from './destination.js';
import { aggregateEvidence, evidenceAnnotations } from './evidence.js';
import { bareIp, hostCidr } from './ip-literal.js';
import { chooseProtocol } from './port-protocol.js';
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

export function wildcardWarning(wildcard: string, members: readonly string[]): string {
  return (
    `${wildcard} replaces ${members.length} hosts seen (${members.join(', ')}). A wildcard cannot use ` +
    `resolution DNS, so this entry uses NONE: the sidecar trusts the Host header / SNI the client sends and ` +
    `forwards to the original destination IP, which skips DNS-based protection (a client can name any ` +
    `${wildcard} host while connecting elsewhere). DYNAMIC_DNS (newer Istio releases) resolves the requested host ` +
    `per request instead, at the cost of a DNS lookup and a dynamic forward proxy. Prefer listing the hosts ` +
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
    warnings.unshift(wildcardWarning(specHost, evidence.observedHosts));
    const parent = specHost.slice(2);
    if (isSharedParent(parent)) {
      warnings.push(
        `${parent} is shared by many tenants (a cloud or hosting platform): ${specHost} admits every ` +
          `customer's subdomain, not only yours. List your own hosts instead.`,
      );
    }
  }
  for (const p of ports) {
    if (p.protocol !== 'TCP' || kind === 'ip') continue;
    if (kind === 'wildcard') {
      warnings.push(
        `Port ${p.number} is opaque TCP on a wildcard entry with resolution NONE and no addresses: the sidecar ` +
          `can only match it by port, so it admits any destination on port ${p.number}, not only ${specHost}.`,
      );
    } else {
      warnings.push(
        `Port ${p.number} is opaque TCP (neither HTTP nor SNI seen): without addresses Istio identifies this ` +
          `traffic by destination port alone, so port ${p.number} must not be shared with any other service ` +
          `(with resolution DNS, unknown traffic on it would be sent to ${specHost}). Add the service's ` +
          `addresses or enable DNS proxying with automatic address allocation.`,
      );
    }
    if (p.number === 443) {
      warnings.push(
        `Port 443 showed no SNI in the logs: if this is TLS, declare it HTTPS so the sidecar matches by SNI ` +
          `instead of by port.`,
      );
    }
  }
  for (const r of evidence.recovered) {
    warnings.push(
      `${r.confidence < 0.5 ? 'Low confidence: ' : ''}host ${r.host} was not in the logs; it was recovered from ` +
        `${r.from} (confidence ${r.confidence}: ${r.note}). Check that it is the host the workload really uses: ` +
        `the entry allows ${r.host}, not the IP.`,
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
