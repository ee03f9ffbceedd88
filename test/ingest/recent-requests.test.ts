/** The retry key: the same body has the same key, any change of a byte or of the route changes it. */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecentRequests } from '../../ingest/http/recent-requests.js';

describe('RecentRequests.key', () => {
  const recent = new RecentRequests();

  it('a retried body has the key of its first sending; 128 bits of key', () => {
    const body = randomBytes(100_000);
    const key = recent.key('fluent-bit', body);
    expect(recent.key('fluent-bit', Buffer.from(body))).toBe(key);
    expect(Buffer.from(key, 'base64')).toHaveLength(16);
  });

  it('a change of any one byte, of the length or of the route gives another key', () => {
    const body = randomBytes(4099);
    const keys = new Set([recent.key('fluent-bit', body), recent.key('lines', body)]);
    for (const at of [0, 1, 15, 16, 17, 2048, 4095, 4096, 4098]) {
      const changed = Buffer.from(body);
      changed[at]! ^= 1;
      keys.add(recent.key('fluent-bit', changed));
    }
    keys.add(recent.key('fluent-bit', body.subarray(0, 4098)));
    keys.add(recent.key('fluent-bit', Buffer.concat([body, Buffer.alloc(1)])));
    keys.add(recent.key('fluent-bit', Buffer.alloc(0)));
    expect(keys.size).toBe(14);
  });

  it('the hash is keyed: another process (another instance) gives other keys for the same bytes', () => {
    const body = Buffer.from('{"log":"a line"}\n');
    expect(new RecentRequests().key('lines', body)).not.toBe(recent.key('lines', body));
  });
});
