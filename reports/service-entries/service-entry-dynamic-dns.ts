/**
 * `resolution: DYNAMIC_DNS`, the alternative to NONE for a wildcard entry in recent Istio releases (a dynamic
 * forward proxy resolves each requested host), and what Istio's validation accepts with it (istio.io/istio
 * pkg/config/validation, ValidateServiceEntry): wildcard hosts only, no `addresses`, no `endpoints`, location
 * MESH_EXTERNAL, and ports declared HTTP, HTTP2, GRPC or TLS — HTTPS and TCP are rejected. The advice in the
 * wildcard warning and the variant built here follow those rules (the tests run the variant through Istio).
 */
import { portName } from './port-protocol.js';
import type { ServiceEntryPort, ServiceEntryResource } from './suggestion.js';

export const DYNAMIC_DNS_PROTOCOLS: readonly string[] = ['HTTP', 'HTTP2', 'GRPC', 'TLS'];

export type DynamicDnsServiceEntry = Omit<ServiceEntryResource, 'spec'> & {
  spec: Omit<ServiceEntryResource['spec'], 'resolution' | 'addresses' | 'endpoints'> & {
    resolution: 'DYNAMIC_DNS';
  };
};

/** The ports as DYNAMIC_DNS accepts them (HTTPS becomes TLS), or undefined when one cannot be (TCP). */
export function dynamicDnsPorts(ports: readonly ServiceEntryPort[]): ServiceEntryPort[] | undefined {
  const out: ServiceEntryPort[] = [];
  for (const p of ports) {
    if (p.protocol === 'HTTPS')
      out.push({ number: p.number, name: portName('TLS', p.number), protocol: 'TLS' });
    else if (DYNAMIC_DNS_PROTOCOLS.includes(p.protocol)) out.push({ ...p });
    else return undefined;
  }
  return out;
}

/** One or two sentences for the wildcard warning: how to switch to DYNAMIC_DNS, or why it cannot be used. */
export function dynamicDnsAdvice(ports: readonly { number: number; protocol: string }[]): string {
  const blocking = ports.filter((p) => p.protocol !== 'HTTPS' && !DYNAMIC_DNS_PROTOCOLS.includes(p.protocol));
  const base =
    'Recent Istio releases also accept resolution DYNAMIC_DNS, which resolves each requested host itself, ' +
    'with ports declared HTTP, HTTP2, GRPC or TLS and no addresses';
  if (blocking.length > 0) {
    return `${base}; it is not possible here because of port ${blocking.map((p) => `${p.number}/${p.protocol}`).join(', ')}.`;
  }
  const https = ports.filter((p) => p.protocol === 'HTTPS').map((p) => p.number);
  return https.length > 0
    ? `${base}: to use it, also declare port ${https.join(', ')} as TLS instead of HTTPS (Istio rejects HTTPS ` +
        `with DYNAMIC_DNS).`
    : `${base}: these ports allow it.`;
}

/** The DYNAMIC_DNS version of a wildcard entry, or undefined when its ports do not allow it. */
export function asDynamicDns(resource: ServiceEntryResource): DynamicDnsServiceEntry | undefined {
  const ports = dynamicDnsPorts(resource.spec.ports);
  if (!ports || !resource.spec.hosts.every((h) => h.startsWith('*'))) return undefined;
  const { addresses: _a, endpoints: _e, resolution: _r, ...spec } = structuredClone(resource.spec);
  return {
    ...structuredClone(resource),
    spec: { ...spec, ports, resolution: 'DYNAMIC_DNS' },
  };
}
