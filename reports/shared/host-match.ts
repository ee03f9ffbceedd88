/**
 * Istio host names: normalising them and matching a ServiceEntry host (possibly a wildcard) against a host seen
 * in traffic. In Istio `*.example.com` matches a subdomain at any depth (`a.example.com`, `a.b.example.com`) but
 * not `example.com` itself, and `*` matches every host.
 */
import { bareIp, isIpLiteral } from './ip-literal.js';

/** Lowercased, trimmed, without a trailing dot; IP literals lose brackets and zones. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (isIpLiteral(h)) return bareIp(h);
  while (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

export function isWildcardHost(host: string): boolean {
  return host.startsWith('*');
}

/**
 * Whether the ServiceEntry host `pattern` matches `host`. `host` may itself be a wildcard (a host taken from an
 * `outbound|port||*.example.com` cluster): `*.example.com` matches `*.a.example.com` and itself.
 */
export function hostMatches(pattern: string, host: string): boolean {
  const p = normalizeHost(pattern);
  const h = normalizeHost(host);
  if (p === h) return true;
  if (!isWildcardHost(p)) return false;
  const suffix = p.slice(1); // '' for '*', '.example.com' for '*.example.com'
  if (isWildcardHost(h)) return h.slice(1).endsWith(suffix);
  return h.endsWith(suffix) && h.length > suffix.length;
}
