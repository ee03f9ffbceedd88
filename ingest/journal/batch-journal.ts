/**
 * The intake journal's directory: one file per batch (journal-file.ts), named so they sort in the order the
 * batches were made, and a lock naming the process that owns them. Two processes on one journal would each
 * store and remove the other's batches, so a second one is refused at startup.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { JournalFile } from './journal-file.js';

const SUFFIX = '.journal';
const LOCK = 'owner.pid';

/** Why the journal directory cannot be used, in one line that says what to do. */
export class JournalError extends Error {
  override name = 'JournalError';
}

export class BatchJournal {
  private seq = 0;
  private readonly prefix = String(Date.now()).padStart(15, '0');

  private constructor(readonly dir: string) {}

  /** Creates the directory if needed and takes it; refused when a live process holds it. */
  static open(dir: string): BatchJournal {
    const lock = join(dir, LOCK);
    try {
      const created = mkdirSync(dir, { recursive: true, mode: 0o700 });
      // Each directory made here is an entry in its parent: synced, a power cut cannot lose them.
      if (created !== undefined) {
        for (let d = resolve(dir); ; d = dirname(d)) {
          syncDirectory(dirname(d));
          if (d === resolve(created) || d === dirname(d)) break;
        }
      }
      try {
        writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const owner = Number(readFileSync(lock, 'utf8').trim());
        if (owner !== process.pid && processAlive(owner))
          throw new JournalError(
            `the intake journal ${dir} is in use by process ${owner}: give each egresslens its own --journal directory`,
          );
        // Left by a process that is gone: its batches are ours to store now.
        writeFileSync(lock, String(process.pid), { mode: 0o600 });
      }
      readdirSync(dir);
    } catch (err) {
      if (err instanceof JournalError) throw err;
      const e = err as NodeJS.ErrnoException;
      throw new JournalError(
        `the intake journal ${dir} cannot be used (${e.code ?? e.message}): make it a writable directory, or choose another --journal`,
      );
    }
    return new BatchJournal(dir);
  }

  /** Journal files left by an earlier process (or an earlier open), oldest first. */
  leftovers(): string[] {
    return readdirSync(this.dir)
      .filter((name) => name.endsWith(SUFFIX))
      .sort()
      .map((name) => join(this.dir, name));
  }

  /** The journal file of the next batch (created on its first write). */
  next(): JournalFile {
    return new JournalFile(join(this.dir, `${this.prefix}-${String(this.seq++).padStart(10, '0')}${SUFFIX}`));
  }

  /** Lets another process take the directory. */
  release(): void {
    rmSync(join(this.dir, LOCK), { force: true });
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
