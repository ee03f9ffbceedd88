/**
 * The address ranges a registry ServiceEntry declares in `addresses` (IPs and CIDRs; the registry refuses an
 * entry with one that does not parse), parsed once per entry: the registry diff and readiness ask for them for
 * every destination they judge.
 */
import { type AddressRange, parseAddressRange } from '../shared/address-range.js';
import type { RegistryEntry } from './registry.js';

const parsed = new WeakMap<RegistryEntry, AddressRange[]>();

export function entryRanges(entry: RegistryEntry): AddressRange[] {
  let ranges = parsed.get(entry);
  if (!ranges) {
    ranges = (entry.addresses ?? []).map(parseAddressRange).filter((r) => r !== undefined);
    parsed.set(entry, ranges);
  }
  return ranges;
}
