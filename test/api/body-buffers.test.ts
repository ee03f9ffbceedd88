/**
 * HTTP intake reuses its large buffers (body, inflated body, unescaped lines) from one request to the next
 * (ingest/http/buffer-pool.ts). Many different bodies sent at once, in every format, over real sockets,
 * are each stored exactly as sent: no request ever reads another's bytes.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BufferLease, BufferPool, MIN_POOLED_BYTES } from '../../ingest/http/buffer-pool.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { type IngestApp, startIngestApp } from '../helpers/ingest-app.js';
import { generatedLines } from '../helpers/lines.js';

describe('BufferPool', () => {
  it('hands back the buffers given back, by power-of-two size, up to its idle bound', () => {
    const pool = new BufferPool(4 << 20);
    const a = pool.take(700_000);
    expect(a.length).toBe(1 << 20);
    pool.give(a);
    expect(pool.idle).toBe(1 << 20);
    expect(pool.take(600_000)).toBe(a); // same class
    expect(pool.idle).toBe(0);
    expect(pool.take(100)).toHaveLength(100); // small: a plain buffer, never pooled
    const many = Array.from({ length: 6 }, () => pool.take(1 << 20));
    for (const b of many) pool.give(b);
    expect(pool.idle).toBe(4 << 20); // the rest left to the garbage collector
    pool.give(Buffer.alloc(MIN_POOLED_BYTES + 1)); // not one of its sizes: ignored
    pool.give(Buffer.alloc(2 << 20).subarray(1 << 20)); // a view: ignored
    expect(pool.idle).toBe(4 << 20);
  });

  it('a lease gives back what it took once, as views of the requested size', () => {
    const pool = new BufferPool(64 << 20);
    const lease = new BufferLease(pool);
    const body = lease.take(300_000);
    const lines = lease.take(300_000);
    expect(body).toHaveLength(300_000);
    expect(body.buffer).not.toBe(lines.buffer);
    lease.release();
    lease.release();
    expect(pool.idle).toBe(2 * (512 << 10));
  });
});

describe('many different bodies at once, over real sockets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-body-buffers-'));
  let store: ChdbStore;
  let a: IngestApp;
  let base: string;

  beforeAll(async () => {
    store = ChdbStore.open(dir);
    await store.migrate();
    a = await startIngestApp(store, { flags: { storeRaw: true } });
    await a.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(a.app.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await a.close();
    await store.close();
  });

  it('stores every line of every body exactly once, whatever the format and order', async () => {
    const bodies: Array<{ body: Buffer; headers: Record<string, string> }> = [];
    const sent: string[] = [];
    for (let i = 0; i < 24; i++) {
      // Different sizes, so buffers of one size class are reused by bodies of another length.
      const lines = generatedLines(300 + 97 * i, 500 + i).map((g) => g.line);
      sent.push(...lines);
      const kind = i % 4;
      if (kind === 3) {
        const events = lines.map((log) => encode([1793491200, { log: `${log}\n`, stream: 'stdout' }]));
        bodies.push({ body: Buffer.concat(events), headers: { 'content-type': 'application/msgpack' } });
        continue;
      }
      const text = Buffer.from(
        lines.map((log) => `${JSON.stringify({ date: 1793491200.5, log })}\n`).join(''),
      );
      if (kind === 2) {
        bodies.push({
          body: Buffer.from(`${lines.join('\n')}\n`),
          headers: { 'content-type': 'text/plain' },
        });
      } else if (kind === 1) {
        bodies.push({
          body: gzipSync(text),
          headers: { 'content-type': 'application/x-ndjson', 'content-encoding': 'gzip' },
        });
      } else {
        bodies.push({ body: text, headers: { 'content-type': 'application/x-ndjson' } });
      }
    }
    expect(Math.max(...bodies.map((b) => b.body.length))).toBeGreaterThan(4 * MIN_POOLED_BYTES);
    let next = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        while (next < bodies.length) {
          const i = next++;
          const { body, headers } = bodies[i]!;
          const path =
            headers['content-type'] === 'text/plain' ? '/v1/ingest/lines' : '/v1/ingest/fluent-bit';
          const res = await fetch(`${base}${path}`, { method: 'POST', headers, body });
          expect(res.status, await res.text()).toBe(200);
        }
      }),
    );
    const rows = await store.query<{ raw: string }>('SELECT raw FROM access_log');
    const dead = await store.query<{ n: number }>('SELECT count() AS n FROM dead_letters');
    expect(Number(dead[0]?.n)).toBe(0);
    expect(rows.map((r) => r.raw).sort()).toEqual([...sent].sort());
  });
});
