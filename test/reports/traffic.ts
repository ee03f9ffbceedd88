/** Builders for DestinationTraffic rows with known answers. */
import type { DestinationTraffic } from '../../reports/shared/destination.js';

export function row(host: string, port: number, over: Partial<DestinationTraffic> = {}): DestinationTraffic {
  return {
    host,
    port,
    requests: 10,
    bytes: 1000,
    httpRequests: 0,
    tlsWithSni: 0,
    grpcRequests: 0,
    namespaces: ['shop'],
    workloads: ['shop/cart'],
    firstSeen: '2026-01-10T10:00:00.000Z',
    lastSeen: '2026-01-12T10:00:00.000Z',
    examplePaths: [],
    ...over,
  };
}

/** Plain HTTP seen by the sidecar. */
export function http(host: string, port = 80, over: Partial<DestinationTraffic> = {}): DestinationTraffic {
  return row(host, port, { httpRequests: over.requests ?? 10, examplePaths: ['/headers'], ...over });
}

/** TLS with SNI. */
export function tls(host: string, port = 443, over: Partial<DestinationTraffic> = {}): DestinationTraffic {
  return row(host, port, { tlsWithSni: over.requests ?? 10, ...over });
}

/** Opaque TCP (no HTTP method, no SNI). */
export function tcp(host: string, port: number, over: Partial<DestinationTraffic> = {}): DestinationTraffic {
  return row(host, port, over);
}

/** gRPC over plain HTTP/2 (counted among HTTP requests too). */
export function grpc(host: string, port: number, over: Partial<DestinationTraffic> = {}): DestinationTraffic {
  const n = over.requests ?? 10;
  return row(host, port, {
    httpRequests: n,
    grpcRequests: n,
    examplePaths: ['/pkg.Service/Method'],
    ...over,
  });
}
