/**
 * Fluent Bit retries a request it saw fail or time out, with the same body. Remembering recent bodies by
 * hash lets a retry wait on (or simply acknowledge) the copy already accepted, instead of storing it twice.
 */
import { createCipheriv, randomBytes } from 'node:crypto';

export class RecentRequests {
  private readonly seen = new Map<string, Promise<void>>();
  /** The hash's secret key and nonce, new in every process and never shown: nobody can aim a collision. */
  private readonly secret = randomBytes(16);
  private readonly nonce = randomBytes(12);

  constructor(private readonly capacity = 10_000) {}

  /**
   * A keyed hash of the route and every byte of the body as sent (still gzip'd when it was): a retried body
   * has the key of its first sending, and two different bodies share one with probability below 2^-100.
   *
   * Every byte must go in, and a sender must not be able to craft a body whose key equals another's (its
   * rows would be taken for a retry and dropped). A keyed universal hash gives both: GHASH under a random
   * secret key, computed by AES-GCM over the bytes as associated data (nothing is encrypted). For any two
   * bodies chosen without the key, they collide with probability at most (their length in 16-byte blocks +
   * 1) / 2^128, and neither the key nor any hash leaves the process. SHA-256 gives the same guarantee without
   * a key but reads bytes several times slower, and this runs over every byte HTTP intake receives.
   */
  key(route: string, body: Buffer): string {
    const mac = createCipheriv('aes-128-gcm', this.secret, this.nonce);
    mac.setAAD(Buffer.from(`${route}\n`));
    mac.setAAD(body);
    mac.final();
    return mac.getAuthTag().toString('base64');
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
