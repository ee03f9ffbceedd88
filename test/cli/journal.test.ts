/** `serve --journal`: batches a stopped process left in its journal are stored once the server is up. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchJournal } from '../../ingest/journal/batch-journal.js';
import { DEFAULT_PIPELINE_OPTIONS, IngestPipeline } from '../../ingest/pipeline.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { type Store, StoreUnavailableError } from '../../store/store.js';
import { count } from '../helpers/lines.js';
import { CLI, FIXTURE, hasStack, runCli } from './run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'egresslens-cli-journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A store that is down for good: what the pipeline journals stays in the journal. */
const downStore = {
  insert: async () => {
    throw new StoreUnavailableError('down for the test');
  },
} as unknown as Store;

describe('serve --journal', () => {
  it('stores what an earlier process left in the journal, once, and removes it', async () => {
    const data = join(root, 'data');
    const journal = join(root, 'journal');
    const lines = readFileSync(FIXTURE);
    const earlier = new IngestPipeline(downStore, {
      ...DEFAULT_PIPELINE_OPTIONS,
      retryBaseMs: 10,
      retryMaxMs: 20,
      journal: BatchJournal.open(journal),
    });
    const ctx = {
      source: {
        source: 'http' as const,
        namespace: 'shop',
        pod: 'p',
        container: 'istio-proxy',
        workload: 'w',
        node: '',
      },
      origin: 'test',
    };
    for (let at = 0; at < lines.length; ) {
      const nl = lines.indexOf(10, at);
      const end = nl < 0 ? lines.length : nl;
      earlier.appendLine(lines, at, end, ctx);
      at = end + 1;
    }
    await earlier.currentBatchDurable();
    await earlier.close(50);
    const parsed = earlier.stats.parsed;
    expect(parsed).toBeGreaterThan(0);
    expect(readdirSync(journal).filter((f) => f.endsWith('.journal'))).toHaveLength(1);

    const serve = spawn(
      process.execPath,
      [CLI, 'serve', '--data', data, '--journal', journal, '--port', '0', '--log-level', 'warn'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    try {
      const advert = join(data, '.egresslens-serve.json');
      const deadline = Date.now() + 30_000;
      while (!existsSync(advert) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(existsSync(advert)).toBe(true);
      // Stored once the server is up, the journal files go.
      const left = () => readdirSync(journal).filter((f) => f.endsWith('.journal'));
      while (left().length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(left()).toEqual([]);
    } finally {
      serve.kill('SIGTERM');
      await new Promise((r) => serve.once('close', r));
    }
    // Every row the earlier process journaled, stored once.
    const store = ChdbStore.open(data);
    try {
      expect(await count(store, 'access_log')).toBe(parsed);
    } finally {
      await store.close();
    }
  });

  it('a journal path that is a file: one line, exit 1', async () => {
    const file = join(root, 'not-a-dir');
    writeFileSync(file, '');
    const r = await runCli(['serve', '--data', join(root, 'data2'), '--journal', file, '--port', '0']);
    expect(r.code).toBe(1);
    expect(hasStack(r.stderr)).toBe(false);
    expect(r.stderr.trim().split('\n')).toEqual([
      `egresslens: the intake journal ${file} cannot be used (EEXIST): make it a writable directory, or choose another --journal`,
    ]);
  });
});
