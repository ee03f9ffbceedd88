/**
 * The input of the ServiceEntry report: one aggregate per (destination, port) of traffic that left the mesh
 * through `PassthroughCluster` (outbound traffic policy `ALLOW_ANY`), as produced by the store's SQL.
 */
export interface DestinationTraffic {
  /**
   * Hostname (from SNI or the HTTP authority, lowercased, no port), or an IP literal when nothing else is known.
   */
  host: string;
  /** Destination port (0 if unknown). */
  port: number;
  /** A destination IP seen. */
  ip?: string;
  /** Requests (HTTP) or connections (TCP/TLS). */
  requests: number;
  bytes: number;
  /** Rows with an HTTP method: plain HTTP seen by the sidecar. */
  httpRequests: number;
  /** Rows with SNI: TLS. */
  tlsWithSni: number;
  /** HTTP/2 requests with gRPC-looking paths (`/pkg.Service/Method`); counted among `httpRequests` too. */
  grpcRequests: number;
  /** Distinct source namespaces (may be capped). */
  namespaces: string[];
  /** Distinct source workloads, `ns/workload`. */
  workloads: string[];
  /** ISO 8601. */
  firstSeen: string;
  /** ISO 8601. */
  lastSeen: string;
  examplePaths: string[];
  /**
   * Set when `host` was recovered from an IP (e.g. from a DNS answer or an earlier SNI to that IP): `host` is what
   * the logs showed (the IP), `confidence` is in [0, 1], `note` says how it was recovered.
   */
  recoveredFrom?: { host: string; confidence: number; note: string };
  /**
   * With `recoveredFrom`: how many of `requests` were attributed to `host` by recovery, when the row also sums
   * traffic that named `host` directly. Absent: all of them were recovered.
   */
  recoveredRequests?: number;
}
