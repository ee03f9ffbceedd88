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
   * and the digest must resist crafted collisions, which rules out SHA-1 and MD5.
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
