/**
 * Kubernetes object names for suggested ServiceEntries: DNS-1123 labels (lowercase alphanumerics and `-`, starting
 * and ending with an alphanumeric, at most 63 characters) derived from the host (`www.google.com` →
 * `www-google-com`, `*.example.com` → `wildcard-example-com`), made unique with a numeric suffix.
 */
import { createHash } from 'node:crypto';

export const MAX_NAME_LENGTH = 63;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isDns1123Label(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH && LABEL.test(name);
}

/** A DNS-1123 label for `text`; long ones keep a prefix and end with a hash of the whole text. */
export function nameFromHost(text: string, fallback = 'service-entry'): string {
  const base = text
    .toLowerCase()
    .replace(/^\*\./, 'wildcard.')
    .replace(/^\*$/, 'wildcard')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (base === '') return fallback;
  if (base.length <= MAX_NAME_LENGTH) return base;
  return withSuffix(base, shortHash(text));
}

/** `base` cut so that `base-suffix` fits in 63 characters, without a `-` before the suffix doubling up. */
export function withSuffix(base: string, suffix: string): string {
  const room = MAX_NAME_LENGTH - suffix.length - 1;
  const head = base.slice(0, Math.max(1, room)).replace(/-+$/, '');
  return `${head}-${suffix}`;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** Hands out unique names: `name`, then `name-2`, `name-3`… (always within 63 characters). */
export class NameAllocator {
  private readonly taken = new Set<string>();

  constructor(taken: Iterable<string> = []) {
    for (const n of taken) this.taken.add(n);
  }

  has(name: string): boolean {
    return this.taken.has(name);
  }

  take(base: string): string {
    const start = isDns1123Label(base) ? base : nameFromHost(base);
    let name = start;
    for (let i = 2; this.taken.has(name); i++) name = withSuffix(start, String(i));
    this.taken.add(name);
    return name;
  }
}
