/** A registry entry (a parsed ServiceEntry) with TCP ports, for the registry diff tests. */
import type { RegistryEntry } from '../../reports/registry/registry.js';

export function registryEntry(
  name: string,
  hosts: string[],
  ports: number[],
  over: Partial<RegistryEntry> = {},
): RegistryEntry {
  return {
    name,
    namespace: 'default',
    hosts,
    ports: ports.map((number) => ({ number, protocol: 'TCP', name: `tcp-${number}` })),
    source: 'test.yaml',
    ...over,
  };
}
