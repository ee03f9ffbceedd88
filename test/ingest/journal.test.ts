/**
 * The intake journal on the embedded store: a batch is durable once its rows are synced to its journal file,
 * the file goes once the batch is stored, and what a stopped process leaves is stored by the next one, once.
 */
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { BatchJournal, JournalError } from '../../ingest/journal/batch-journal.js';
import { readJournalFile } from '../../ingest/journal/journal-file.js';
import {
  DEFAULT_PIPELINE_OPTIONS,
  IngestPipeline,
  type LineContext,
  type PipelineOptions,
} from '../../ingest/pipeline.js';
import { ChdbStore } from '../../store/chdb-store.js';
import { FaultyStore } from '../helpers/faulty-store.js';
import { shopContext } from '../helpers/line-context.js';
import { count, generatedLines, joinLines } from '../helpers/lines.js';

const dir = mkdtempSync(join(tmpdir(), 'egresslens-journal-'));
let store: ChdbStore;
let journalDir: string;
let journalSeq = 0;

const ctx = (): LineContext => shopContext('http', '');

function appendAll(p: IngestPipeline, buf: Buffer, c: LineContext = ctx()): void {
  p.appendLines(buf, c);
}

const lines = (n: number, seed: number): Buffer => joinLines(generatedLines(n, seed).map((l) => l.line));

function pipeline(target: FaultyStore | ChdbStore, o: Partial<PipelineOptions> = {}): IngestPipeline {
  return new IngestPipeline(target, {
    ...DEFAULT_PIPELINE_OPTIONS,
    retryBaseMs: 10,
    retryMaxMs: 50,
    flushIntervalMs: 50,
    journal: BatchJournal.open(journalDir),
    ...o,
  });
}

const journalFiles = () => readdirSync(journalDir).filter((f) => f.endsWith('.journal'));

beforeAll(async () => {
  store = ChdbStore.open(dir);
  await store.migrate();
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  await store.command('TRUNCATE TABLE access_log');
  await store.command('TRUNCATE TABLE dead_letters');
  journalDir = join(dir, `journal-${journalSeq++}`);
});

describe('intake journal', () => {
  it('rows are durable once synced to the journal, before the store takes them; the file goes once stored', async () => {
    const faulty = new FaultyStore(store);
    faulty.startStall();
    const p = pipeline(faulty);
    appendAll(p, lines(100, 1));
    await p.currentBatchDurable(); // resolves although every insert is stalled
    expect(await count(store, 'access_log')).toBe(0);
    const [file] = journalFiles();
    const held = await readJournalFile(join(journalDir, file!));
    expect(held?.token).toMatch(/^run-[0-9a-f-]+:0$/);
    expect(held?.rows.toString('utf8').split('\n').filter(Boolean)).toHaveLength(100);
    faulty.endStall();
    await p.close();
    expect(await count(store, 'access_log')).toBe(100);
    expect(journalFiles()).toEqual([]);
  });

  it('what a stopped process journaled (sealed batches, the filling one, dead letters) is stored by the next, once', async () => {
    const faulty = new FaultyStore(store);
    faulty.down = true;
    const first = pipeline(faulty, { batchRows: 30 });
    appendAll(first, lines(100, 2));
    first.appendDeadLetter('injected', 'not an access log line', ctx());
    await first.currentBatchDurable();
    await first.close(50); // the store never came back: nothing stored, the journal stays
    expect(await count(store, 'access_log')).toBe(0);
    expect(journalFiles()).toHaveLength(4); // three sealed batches of 30 and the one filling
    const kept = join(dir, 'kept.journal');
    const oldest = journalFiles()[0]!;
    copyFileSync(join(journalDir, oldest), kept);

    const second = pipeline(store);
    expect(second.replayJournal()).toBe(4);
    expect(second.batchesOnDisk).toBeGreaterThanOrEqual(3); // read one at a time, as each is stored
    await second.flush();
    expect(second.batchesOnDisk).toBe(0);
    expect(await count(store, 'access_log')).toBe(100);
    expect(await count(store, 'dead_letters', "reason = 'injected'")).toBe(1);
    await second.close();
    expect(journalFiles()).toEqual([]);

    // A process that stored a batch and stopped before removing its file: the repeat is dropped by its token.
    copyFileSync(kept, join(journalDir, oldest));
    const third = pipeline(store);
    expect(third.replayJournal()).toBe(1);
    await third.close();
    expect(await count(store, 'access_log')).toBe(100);
  });

  it('a frame cut short by a crash is left out, the frames before it are stored', async () => {
    const faulty = new FaultyStore(store);
    faulty.down = true;
    const first = pipeline(faulty);
    appendAll(first, lines(40, 3));
    await first.currentBatchDurable();
    appendAll(first, lines(25, 4));
    await first.currentBatchDurable();
    await first.close(50);
    const [file] = journalFiles();
    const path = join(journalDir, file!);
    truncateSync(path, readFileSync(path).length - 7);
    const second = pipeline(store);
    expect(second.replayJournal()).toBe(1);
    await second.close();
    expect(await count(store, 'access_log')).toBe(40);
  });

  it('a journal that cannot be written fails the wait, not the rows: they are stored, and it recovers', async () => {
    const p = pipeline(store, { flushIntervalMs: 60_000 });
    appendAll(p, lines(10, 5));
    await p.currentBatchDurable();
    rmSync(journalDir, { recursive: true }); // every new file now fails (ENOENT)
    await p.flush();
    appendAll(p, lines(10, 6));
    await expect(p.currentBatchDurable()).rejects.toThrow(/ENOENT/);
    expect(p.journalFailing).toBe(true);
    BatchJournal.open(journalDir); // the directory is back (the lock is this process's own)
    appendAll(p, lines(10, 7));
    await p.currentBatchDurable();
    expect(p.journalFailing).toBe(false);
    await p.close();
    expect(await count(store, 'access_log')).toBe(30);
  });

  it('one process per journal: a live owner refuses a second, a dead one is taken over', () => {
    const held = BatchJournal.open(journalDir);
    writeFileSync(join(journalDir, 'owner.pid'), String(process.ppid));
    expect(() => BatchJournal.open(journalDir)).toThrow(JournalError);
    expect(() => BatchJournal.open(journalDir)).toThrow(
      `the intake journal ${journalDir} is in use by process ${process.ppid}: give each egresslens its own --journal directory`,
    );
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(join(journalDir, 'owner.pid'), String(gone));
    expect(() => BatchJournal.open(journalDir)).not.toThrow();
    expect(readFileSync(join(journalDir, 'owner.pid'), 'utf8')).toBe(String(process.pid));
    held.release();
    expect(readdirSync(journalDir)).not.toContain('owner.pid');
  });

  it('a path that cannot be a directory is refused with one line', () => {
    const file = join(dir, `${basename(journalDir)}-file`);
    writeFileSync(file, '');
    expect(() => BatchJournal.open(file)).toThrow(
      `the intake journal ${file} cannot be used (EEXIST): make it a writable directory, or choose another --journal`,
    );
  });
});
