/**
 * Whether a host name may be written as a ServiceEntry host: Istio's own rules (`agent.ValidateWildcardDomain`
 * for `hosts`, `agent.ValidateFQDN` for resolution DNS, in istio.io/istio pkg/config/validation/agent), plus
 * DNS's 253-character limit on a name (Istio itself allows 255; a longer name cannot be resolved anyway):
 *
 * - not empty, not `*` alone;
 * - every label 1–63 characters of letters, digits and `-`, not starting or ending with `-` (so no `_`);
 * - only the first label may be a wildcard (`*`, `*foo`, `*-foo`);
 * - the last label (the top-level domain) not all digits.
 */

export const MAX_HOST_LENGTH = 253;
export const MAX_LABEL_LENGTH = 63;

const LABEL = /^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;

/** Why Istio would reject `host` in a ServiceEntry (one line), or undefined when it accepts it. */
export function hostProblem(host: string): string | undefined {
  if (host === '') return 'empty host name';
  if (host === '*') return "the host '*' alone is not allowed in a ServiceEntry";
  if (host.length > MAX_HOST_LENGTH)
    return `name of ${host.length} characters (a DNS name has at most ${MAX_HOST_LENGTH})`;
  const name = host.endsWith('.') ? host.slice(0, -1) : host;
  const labels = name.split('.');
  const tld = labels[labels.length - 1]!;
  if (/^[0-9]+$/.test(tld)) return `top-level domain "${tld}" cannot be all-numeric`;
  for (const [i, label] of labels.entries()) {
    const problem = labelProblem(label, i === 0);
    if (problem) return `label "${label}" ${problem}`;
  }
  return undefined;
}

function labelProblem(label: string, first: boolean): string | undefined {
  if (label === '') return 'is empty (two dots in a row, or a leading dot)';
  if (label.length > MAX_LABEL_LENGTH)
    return `has ${label.length} characters (a DNS label has at most ${MAX_LABEL_LENGTH})`;
  if (first ? WILDCARD_LABEL.test(label) : LABEL.test(label)) return undefined;
  if (label.includes('_')) return "contains '_' (DNS-1123 labels are letters, digits and '-')";
  if (label.includes('*'))
    return first ? "has '*' other than as a prefix" : "has '*' outside the first label";
  if (label.startsWith('-') || label.endsWith('-')) return "starts or ends with '-'";
  return "has characters other than letters, digits and '-'";
}

export function isValidServiceEntryHost(host: string): boolean {
  return hostProblem(host) === undefined;
}
