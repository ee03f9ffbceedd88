/** `serve --journal`: batches a stopped process left in its journal are stored once the server is up. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BatchJournal } from '../../ingest/journal/batch-journal.js';
import { DEFAULT_PIPELINE_OPTIONS, IngestPipeline } from '../../ingest/pipeline.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { type Store, StoreUnavailableError } from '../../store/store.js';
import { shopContext } from '../helpers/line-context.js';
import { count, generatedLines } from '../helpers/lines.js';
import { CLI, FIXTURE, hasStack, runCli } from './run-cli.js';

const root = mkdtempSync(join(tmpdir(), 'egresslens-cli-journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const journalFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.journal'));

/**
 * Starts `serve` with `args`, waits until it listens and has stored (and so removed) every journal file in
 * `journal`, then stops it gracefully.
 */
async function serveUntilJournalEmpty(args: string[], data: string, journal: string): Promise<void> {
  const serve = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await advertOf(data, serve.pid!);
    const deadline = Date.now() + 30_000;
    while (journalFiles(journal).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(journalFiles(journal)).toEqual([]);
  } finally {
    serve.kill('SIGTERM');
    await new Promise((r) => serve.once('close', r));
  }
}

/** The address a `serve` with this pid advertises in its data directory, once it listens. */
async function advertOf(data: string, pid: number): Promise<{ url: string }> {
  const file = join(data, '.egresslens-serve.json');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const advert = JSON.parse(readFileSync(file, 'utf8')) as { url: string; pid: number };
      if (advert.pid === pid) return advert;
    } catch {
      // not written yet
    }
    if (Date.now() > deadline) throw new Error(`serve (pid ${pid}) did not start listening`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** POSTs the lines as text/plain; resolves with the status. */
function postLines(url: string, lines: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(`${lines.join('\n')}\n`);
  });
}

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
    earlier.appendLines(lines, shopContext('http', ''));
    await earlier.currentBatchDurable();
    await earlier.close(50);
    const parsed = earlier.stats.parsed;
    expect(parsed).toBeGreaterThan(0);
    expect(journalFiles(journal)).toHaveLength(1);

    await serveUntilJournalEmpty(
      [CLI, 'serve', '--data', data, '--journal', journal, '--port', '0', '--log-level', 'warn'],
      data,
      journal,
    );
    // Every row the earlier process journaled, stored once.
    const store = ChdbStore.open(data);
    try {
      expect(await count(store, 'access_log')).toBe(parsed);
    } finally {
      await store.close();
    }
  });

  it('SIGKILL during intake: every body answered 2xx is stored after the restart', async () => {
    const data = join(root, 'killed');
    const journal = join(data, 'journal');
    // No timer seals a batch: what is answered before the kill is in the journal and not yet stored.
    const config = join(root, 'no-timer.json');
    writeFileSync(config, JSON.stringify({ ingest: { flushIntervalMs: 600_000 } }));
    const args = [
      CLI,
      'serve',
      '--config',
      config,
      '--data',
      data,
      '--journal',
      journal,
      '--store-raw',
      '--port',
      '0',
      '--log-level',
      'warn',
    ];
    const first = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const { url } = await advertOf(data, first.pid!);
    // Bodies of distinct lines, eight at a time; the server is killed once 20 have been answered.
    const bodies = Array.from({ length: 60 }, (_, i) => generatedLines(500, 1000 + i).map((g) => g.line));
    const answered: string[][] = [];
    let next = 0;
    const sender = async () => {
      while (next < bodies.length) {
        const lines = bodies[next++]!;
        const status = await postLines(`${url}/v1/ingest/lines`, lines).catch(() => 0);
        if (status === 200) answered.push(lines);
        if (answered.length >= 20 && first.exitCode === null) first.kill('SIGKILL');
      }
    };
    await Promise.all(Array.from({ length: 8 }, sender));
    await new Promise((r) =>
      first.exitCode === null && first.signalCode === null ? first.once('close', r) : r(null),
    );
    expect(answered.length).toBeGreaterThanOrEqual(20);
    expect(journalFiles(journal).length).toBeGreaterThan(0);

    await serveUntilJournalEmpty(args, data, journal);
    const store = ChdbStore.open(data);
    try {
      const stored = new Set(
        (await store.query<{ raw: string }>('SELECT DISTINCT raw FROM access_log')).map((r) => r.raw),
      );
      const missing = answered.flat().filter((line) => !stored.has(line));
      expect(missing).toEqual([]);
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
