/**
 * The configured registry, read again for each report (ServiceEntry files are small), so edits need no
 * restart and a report never diffs against a stale copy.
 */
import { loadRegistry, type RegistryEntry } from './registry.js';

export function registryLoader(paths: string[]): () => Promise<RegistryEntry[] | null> {
  if (paths.length === 0) return async () => null;
  return () => loadRegistry(paths);
}
