/**
 * Which protocol a ServiceEntry port should declare, from what the sidecar saw on that port, and the port's name.
 *
 * - plain HTTP seen → `HTTP` (`http` on 80, `http-<port>` elsewhere): the sidecar routes by the Host header;
 * - only gRPC seen (HTTP/2, `/pkg.Service/Method` paths) → `GRPC`; gRPC mixed with other HTTP → `HTTP2`, which
 *   keeps HTTP/2 (and so gRPC trailers) upstream where `HTTP` would use HTTP/1.1;
 * - TLS with SNI → `HTTPS` on 443 (`https`), `TLS` elsewhere (`tls-<port>`): routed by SNI;
 * - neither → `TCP` (`tcp-<port>`), opaque, on every port: 443 without SNI is TCP too (a TLS filter chain
 *   matches by SNI, which such clients do not send), and a TCP port needs the entry's `addresses`.
 * - both plain HTTP and TLS with SNI on one port → the larger; a tie goes to TLS: an HTTP port would make the
 *   sidecar parse the TLS clients' bytes as HTTP, and with equal evidence the encrypted use is the one to keep.
 *
 * IP-only destinations never get an HTTP-family protocol: their requests carried an IP in the Host header, which
 * does not match the entry's (synthetic) host, so only TCP or TLS/HTTPS is declared.
 */
import { isIpLiteral } from '../shared/ip-literal.js';

export type PortProtocol = 'HTTP' | 'HTTP2' | 'GRPC' | 'HTTPS' | 'TLS' | 'TCP';

export interface ProtocolCounts {
  requests: number;
  httpRequests: number;
  tlsWithSni: number;
  grpcRequests: number;
}

export interface ProtocolChoice {
  protocol: PortProtocol;
  name: string;
  /** One line saying why, for the evidence. */
  reason: string;
  warnings: string[];
}

export function portName(protocol: PortProtocol, port: number): string {
  if (protocol === 'HTTP' && port === 80) return 'http';
  if (protocol === 'HTTPS' && port === 443) return 'https';
  return `${protocol.toLowerCase()}-${port}`;
}

export function isValidPort(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

export function chooseProtocol(
  port: number,
  counts: ProtocolCounts,
  opts: { ipOnly?: boolean } = {},
): ProtocolChoice {
  const http = Math.max(0, counts.httpRequests);
  const tls = Math.max(0, counts.tlsWithSni);
  const grpc = Math.max(0, counts.grpcRequests);
  const warnings: string[] = [];
  const httpish = http + (grpc > http ? grpc - http : 0); // gRPC rows are normally counted among HTTP ones too
  let family: 'http' | 'tls' | 'tcp' = httpish > 0 ? 'http' : tls > 0 ? 'tls' : 'tcp';
  if (httpish > 0 && tls > 0) {
    family = tls >= httpish ? 'tls' : 'http';
    warnings.push(
      `Port ${port} carried both plain HTTP (${httpish}) and TLS with SNI (${tls}); a ServiceEntry port has one ` +
        `protocol, ${family === 'tls' ? 'TLS' : 'HTTP'} was chosen (${tls === httpish ? 'a tie goes to TLS' : 'by majority'}): check which clients use the other.`,
    );
  }
  if (family === 'http' && opts.ipOnly) {
    warnings.push(
      `Port ${port}: plain HTTP was sent to the bare IP (Host header is an IP), which cannot match a ServiceEntry ` +
        `host name; declared TCP so the connection is matched by address instead.`,
    );
    return {
      protocol: 'TCP',
      name: portName('TCP', port),
      reason: `${httpish} HTTP requests to a bare IP`,
      warnings,
    };
  }
  if (family === 'http') {
    if (grpc > 0) {
      const other = http >= grpc ? http - grpc : http;
      if (other === 0) {
        return { protocol: 'GRPC', name: portName('GRPC', port), reason: `${grpc} gRPC requests`, warnings };
      }
      warnings.push(
        `Port ${port} carried gRPC (${grpc}) and other HTTP (${other}) requests: declared HTTP2 so gRPC keeps ` +
          `HTTP/2 upstream; HTTP/1.1-only clients are still accepted by the sidecar.`,
      );
      return {
        protocol: 'HTTP2',
        name: portName('HTTP2', port),
        reason: `${grpc} gRPC and ${other} other HTTP requests`,
        warnings,
      };
    }
    return {
      protocol: 'HTTP',
      name: portName('HTTP', port),
      reason: `${http} plain HTTP requests`,
      warnings,
    };
  }
  if (family === 'tls') {
    const protocol: PortProtocol = port === 443 ? 'HTTPS' : 'TLS';
    return { protocol, name: portName(protocol, port), reason: `${tls} TLS connections with SNI`, warnings };
  }
  return {
    protocol: 'TCP',
    name: portName('TCP', port),
    reason: `${counts.requests} connections with neither HTTP nor SNI (opaque)`,
    warnings,
  };
}

/**
 * What a blocked destination tells about its protocol, as counts for `chooseProtocol` — the one rule every
 * report applies: an HTTP request is HTTP; a TCP connection logged under a host name was named by its SNI, so
 * it is TLS; a TCP connection logged under a bare IP showed no SNI, so it is opaque TCP, whatever the port.
 */
export function blockedProtocolCounts(
  kind: 'http' | 'tcp',
  hostInLogs: string,
  count: number,
): ProtocolCounts {
  if (kind === 'http') return { requests: count, httpRequests: count, tlsWithSni: 0, grpcRequests: 0 };
  return {
    requests: count,
    httpRequests: 0,
    tlsWithSni: isIpLiteral(hostInLogs) ? 0 : count,
    grpcRequests: 0,
  };
}
