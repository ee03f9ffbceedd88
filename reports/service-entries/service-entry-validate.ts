/**
 * Validation of a ServiceEntry before it is written: the schema of `@kubernetes-models/istio` for the chosen
 * apiVersion (types, enums, required fields), then the rules Istio enforces beyond that schema (CRD CEL rules and
 * the validating webhook) that a suggestion could break: port numbers 1–65535, unique port numbers and names,
 * DNS-1123 port and object names, host names Istio accepts (service-entry-host.ts), wildcard hosts not with
 * resolution DNS, CIDR addresses only with NONE/STATIC, endpoints required by STATIC and forbidden with NONE.
 */
import { ServiceEntry as ServiceEntryV1beta1 } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import { hostProblem } from './service-entry-host.js';
import { isDns1123Label } from './service-entry-name.js';
import type { ServiceEntryApiVersion } from './suggestion.js';

export class ServiceEntryValidationError extends Error {
  constructor(
    readonly entryName: string,
    readonly problems: string[],
  ) {
    super(`ServiceEntry ${entryName || '(unnamed)'} is invalid: ${problems.join('; ')}`);
    this.name = 'ServiceEntryValidationError';
  }
}

interface Loose {
  metadata?: { name?: unknown };
  spec?: {
    hosts?: unknown;
    ports?: unknown;
    resolution?: unknown;
    addresses?: unknown;
    endpoints?: unknown;
  };
}

/** Throws `ServiceEntryValidationError` when `obj` is not a valid ServiceEntry of `apiVersion`. */
export function validateServiceEntry(obj: object, apiVersion: ServiceEntryApiVersion): void {
  const o = obj as Loose;
  const name = typeof o.metadata?.name === 'string' ? o.metadata.name : '';
  if (apiVersion !== 'networking.istio.io/v1' && apiVersion !== 'networking.istio.io/v1beta1')
    throw new ServiceEntryValidationError(name, [
      `apiVersion ${String(apiVersion)} is not a ServiceEntry version`,
    ]);
  // Istio's networking/v1 ServiceEntry is the v1beta1 API promoted unchanged (same proto, same CRD schema), so
  // one schema checks both: @kubernetes-models/istio 2.x has it and runs on Node 20, where 3.x (which adds a
  // v1 class) declares Node >= 22.
  const data = { ...obj, apiVersion: 'networking.istio.io/v1beta1', kind: 'ServiceEntry' };
  try {
    new ServiceEntryV1beta1(
      data as unknown as ConstructorParameters<typeof ServiceEntryV1beta1>[0],
    ).validate();
  } catch (err) {
    throw new ServiceEntryValidationError(name, [(err as Error).message]);
  }
  const problems = istioRules(o);
  if (problems.length > 0) throw new ServiceEntryValidationError(name, problems);
}

function istioRules(o: Loose): string[] {
  const problems: string[] = [];
  const name = o.metadata?.name;
  if (typeof name !== 'string' || !isDns1123Label(name))
    problems.push(`metadata.name ${JSON.stringify(name)} is not a DNS-1123 label`);
  const spec = o.spec ?? {};
  const hosts = Array.isArray(spec.hosts) ? (spec.hosts as string[]) : [];
  for (const h of hosts) {
    if (h === '*') problems.push(`host '*' is not allowed`);
    else if (h.includes('*') && !/^\*\.[^*]+$/.test(h))
      problems.push(`host ${h}: a wildcard must be a leading '*.'`);
    else if (typeof h === 'string' && hostProblem(h)) problems.push(`host ${h}: ${hostProblem(h)}`);
  }
  const ports = Array.isArray(spec.ports) ? (spec.ports as { number?: unknown; name?: unknown }[]) : [];
  if (ports.length === 0) problems.push('no ports');
  const numbers = new Set<unknown>();
  const names = new Set<unknown>();
  for (const p of ports) {
    const n = p.number;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535)
      problems.push(`port ${String(n)} is not 1-65535`);
    if (numbers.has(n)) problems.push(`port number ${String(n)} is declared twice`);
    numbers.add(n);
    if (typeof p.name !== 'string' || !isDns1123Label(p.name))
      problems.push(`port name ${JSON.stringify(p.name)} is not a DNS-1123 label`);
    if (names.has(p.name)) problems.push(`port name ${String(p.name)} is declared twice`);
    names.add(p.name);
  }
  const resolution = spec.resolution ?? 'NONE';
  const endpoints = Array.isArray(spec.endpoints) ? spec.endpoints : [];
  if ((resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') && endpoints.length === 0) {
    for (const h of hosts)
      if (h.startsWith('*')) problems.push(`wildcard host ${h} cannot use resolution ${resolution}`);
  }
  const addresses = Array.isArray(spec.addresses) ? (spec.addresses as string[]) : [];
  if (addresses.some((a) => a.includes('/')) && resolution !== 'NONE' && resolution !== 'STATIC') {
    problems.push('CIDR addresses are allowed only for NONE/STATIC resolution');
  }
  if (resolution === 'STATIC' && endpoints.length === 0) problems.push('resolution STATIC needs endpoints');
  if (resolution === 'NONE' && endpoints.length > 0) problems.push('resolution NONE cannot set endpoints');
  return problems;
}
