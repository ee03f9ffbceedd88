/** The API's `since`/`until` errors say what to send, in words, like the CLI's (no raw pattern). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import { type IngestApp, startIngestApp } from '../helpers/ingest-app.js';

const dir = mkdtempSync(join(tmpdir(), 'el-api-window-'));
let store: ChdbStore;
let ingest: IngestApp;

beforeAll(async () => {
  store = ChdbStore.open(dir);
  await store.migrate();
  ingest = await startIngestApp(store);
});
afterAll(async () => {
  await ingest.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('report windows over HTTP', () => {
  for (const path of [
    '/v1/hosts',
    '/v1/reports/blocked',
    '/v1/reports/timeouts',
    '/v1/reports/service-entries',
  ]) {
    it(`${path}?since=yesterday is a 400 naming the forms since takes`, async () => {
      const res = await ingest.app.inject({ url: `${path}?since=yesterday` });
      expect(res.statusCode).toBe(400);
      const { error } = res.json() as { error: string };
      expect(error).toBe(
        'since must be a duration like 30m, 24h, 7d, all or an ISO time like 2026-11-01T12:00Z, not "yesterday"',
      );
      expect(error).not.toMatch(/pattern|\^|\\d/);
    });
  }

  it('since=all and until=now are accepted', async () => {
    const res = await ingest.app.inject({ url: '/v1/hosts?since=all&until=now' });
    expect(res.statusCode).toBe(200);
    expect(res.json().window.since).toBe('1970-01-01T00:00:00.000Z');
  });

  it('a value longer than any time is still refused by the schema', async () => {
    const res = await ingest.app.inject({ url: `/v1/hosts?since=${'1'.repeat(41)}d` });
    expect(res.statusCode).toBe(400);
  });
});
