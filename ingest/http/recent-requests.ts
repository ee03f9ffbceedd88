/**
 * Fluent Bit retries a request it saw fail or time out, with the same body. Remembering recent bodies by
 * hash lets a retry wait on (or simply acknowledge) the copy already accepted, instead of storing it twice.
 */
import { createHash } from 'node:crypto';

export class RecentRequests {
  private readonly seen = new Map<string, Promise<void>>();

  constructor(private readonly capacity = 10_000) {}

  /**
   * SHA-256 of the route and every byte of the body as sent (still gzip'd when it was): a retried body has
   * the key of its first sending, and two different bodies never share one. Every byte must go in for that,
   * so the digest is what can be cheaper: of those in Node's OpenSSL, SHA-256 is the fastest on CPUs with
   * the x86 SHA extensions (ahead of MD5, BLAKE2 and SHA-512/256); only SHA-1 keeps up, and its collisions
   * can be crafted.
   */
  static key(route: string, body: Buffer): string {
    return createHash('sha256').update(route).update(body).digest('base64');
  }

  get(key: string): Promise<void> | undefined {
    return this.seen.get(key);
  }

  /** Remembers the promise of a stored request; one that fails is forgotten so its retry is stored. */
  remember(key: string, stored: Promise<void>): void {
    this.seen.set(key, stored);
    stored.catch(() => this.seen.delete(key));
    if (this.seen.size > this.capacity) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}
