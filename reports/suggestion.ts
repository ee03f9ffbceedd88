/**
 * What the ServiceEntry report produces: a suggested ServiceEntry (`resource`, a plain object ready for YAML or
 * JSON) with the evidence that led to it and the warnings a reviewer must read before applying it.
 */
import type { PortProtocol } from './port-protocol.js';

export type ServiceEntryApiVersion = 'networking.istio.io/v1' | 'networking.istio.io/v1beta1';
export const DEFAULT_API_VERSION: ServiceEntryApiVersion = 'networking.istio.io/v1';

export interface ServiceEntryPort {
  number: number;
  protocol: string;
  name: string;
}

export interface ServiceEntryResource {
  apiVersion: ServiceEntryApiVersion;
  kind: 'ServiceEntry';
  metadata: { name: string; namespace?: string; annotations: Record<string, string> };
  spec: {
    hosts: string[];
    addresses?: string[];
    ports: ServiceEntryPort[];
    location: 'MESH_EXTERNAL';
    resolution: 'DNS' | 'STATIC' | 'NONE';
    endpoints?: { address: string }[];
    exportTo?: string[];
  };
}

/** What one declared port is based on. */
export interface PortEvidence {
  number: number;
  protocol: PortProtocol;
  name: string;
  requests: number;
  bytes: number;
  httpRequests: number;
  tlsWithSni: number;
  grpcRequests: number;
  /** Why this protocol, e.g. `12 TLS connections with SNI`. */
  reason: string;
}

export interface Evidence {
  requests: number;
  bytes: number;
  /** Distinct source namespaces, sorted. */
  namespaces: string[];
  /** Distinct source workloads (`ns/workload`), sorted. */
  workloads: string[];
  firstSeen: string;
  lastSeen: string;
  /** A few example paths, query strings removed (they often carry tokens). */
  examplePaths: string[];
  ports: PortEvidence[];
  /** The hosts seen in traffic that this entry stands for (several for a wildcard; the IP for an IP-only entry). */
  observedHosts: string[];
  /** Destination IPs seen. */
  ips: string[];
  /** Hosts that were recovered from an IP, with how. */
  recovered: { host: string; from: string; confidence: number; note: string }[];
  /** Traffic of these hosts whose port was unknown (0): it cannot be declared. */
  unknownPort?: { requests: number; bytes: number };
}

/**
 * `host`: one hostname, DNS. `wildcard`: `*.parent` for many siblings, NONE. `ip`: an IP literal, STATIC.
 * `cidr`: unnamed IPs of one network with the same ports, NONE with the network as `addresses` (cidr-groups.ts).
 */
export type SuggestionKind = 'host' | 'wildcard' | 'ip' | 'cidr';

export interface Suggestion {
  /** = `resource.metadata.name` */
  name: string;
  kind: SuggestionKind;
  /** = `resource.spec.hosts` */
  hosts: string[];
  evidence: Evidence;
  warnings: string[];
  resource: ServiceEntryResource;
}
