import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import { post, startIngestApp } from '../helpers/ingest-app.js';
const L = '[2026-11-01T00:00:01.000Z] "GET /headers HTTP/1.1" 200 - via_upstream - "-" 0 512 12 11 "-" "curl/8.8.0" "req-b" "httpbin.org" "44.207.1.1:80" PassthroughCluster 10.244.1.7:40118 44.207.1.1:80 10.244.1.7:40116 - allow_any';
it('probe', async () => {
  const store = ChdbStore.open(mkdtempSync(join(tmpdir(), 'probe-')));
  await store.migrate();
  const a = await startIngestApp(store);
  const show = async (label: string) => {
    console.log(label, a.pipeline.stats.lines, await store.query('SELECT count() n FROM access_log'), await store.query('SELECT reason, raw FROM dead_letters'));
    await store.command('TRUNCATE TABLE access_log'); await store.command('TRUNCATE TABLE dead_letters');
  };
  let r = await post(a.app, '/v1/ingest/lines', `2026-11-01T00:00:00.000000000Z stdout P ${L.slice(0, 60)}\n2026-11-01T00:00:00.000000001Z stdout F ${L.slice(60)}\n2026-11-01T00:00:00.000000001Z stdout P lonely\n`, { 'content-type': 'text/plain' });
  console.log(r.statusCode, r.body); await show('cri');
  r = await post(a.app, '/v1/ingest/lines', 'garbage\n', { 'content-type': 'text/plain' });
  console.log(r.statusCode, r.body);
  r = await post(a.app, '/v1/ingest/lines', 'garbage\r\n', { 'content-type': 'text/plain' });
  console.log(r.statusCode, r.body); await show('dup dead');
  r = await post(a.app, '/v1/ingest/fluent-bit', JSON.stringify([{date: 1, log: '\n', kubernetes: {pod_name: 'x'}}, {date: 2, log: ''}]), { 'content-type': 'application/json' });
  console.log(r.statusCode, r.body); await show('empty log');
  await a.close(); await store.close();
});
