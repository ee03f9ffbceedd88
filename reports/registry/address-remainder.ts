/**
 * The part of a network (CIDR) suggestion the registry does not cover: the same entry restricted to the ports
 * and addresses left over. A network entry is not rebuilt from traffic rows (its rows stand for the whole
 * network), so it is copied and narrowed: `addresses` become the uncovered CIDRs, `ports` the uncovered ports,
 * and the evidence keeps only those ports.
 *
 * The request counts stay those of the whole network: the engine counts IP-only traffic per network and port
 * set, not per address, so a narrowed entry says so in a warning; its example IPs keep only those left.
 *
 * When the uncovered addresses differ per port, the remainder declares every uncovered port on all of them:
 * a (port, address) pair the registry already covers may then be declared twice, which admits nothing more.
 */
import { ANNOTATION_PREFIX, evidenceAnnotations } from '../service-entries/evidence.js';
import type { Suggestion } from '../service-entries/suggestion.js';
import { parseAddressRange, rangeContains } from '../shared/address-range.js';

export function addressRemainder(
  s: Suggestion,
  ports: readonly number[],
  addresses: readonly string[],
  name: string,
  exportTo: readonly string[] | undefined,
): Suggestion {
  const copy = structuredClone(s);
  const keep = new Set(ports);
  copy.name = name;
  copy.resource.metadata.name = name;
  copy.resource.spec.addresses = [...addresses];
  copy.resource.spec.ports = copy.resource.spec.ports.filter((p) => keep.has(p.number));
  if (exportTo && exportTo.length > 0) copy.resource.spec.exportTo = [...exportTo];
  else delete copy.resource.spec.exportTo;
  const evidence = copy.evidence;
  evidence.ports = evidence.ports.filter((p) => keep.has(p.number));
  evidence.requests = evidence.ports.reduce((n, p) => n + p.requests, 0);
  evidence.bytes = evidence.ports.reduce((n, p) => n + p.bytes, 0);
  const original = s.resource.spec.addresses ?? [];
  if (addresses.join() !== original.join()) {
    // Only example IPs inside what is left stay examples; the counts cannot be split (see above).
    const left = addresses.map(parseAddressRange).filter((r) => r !== undefined);
    const inLeft = (ip: string) => {
      const r = parseAddressRange(ip);
      return r !== undefined && left.some((l) => rangeContains(l, r));
    };
    evidence.ips = evidence.ips.filter(inLeft);
    copy.resource.metadata.annotations[`${ANNOTATION_PREFIX}example-ips`] = evidence.ips.join(',');
    copy.warnings.push(
      `Narrowed from ${original.join(', ')} to ${addresses.join(', ')}: the request and byte counts are those ` +
        `of all of ${original.join(', ')} on these ports (IP-only traffic is counted per network), so the part ` +
        `left may carry fewer.`,
    );
  }
  copy.resource.metadata.annotations = {
    ...copy.resource.metadata.annotations,
    ...evidenceAnnotations(evidence, 'cidr'),
    [`${ANNOTATION_PREFIX}cidr`]: addresses.join(','),
  };
  return copy;
}
