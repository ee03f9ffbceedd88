/**
 * One batch of the ingest pipeline: rows encoded as they are appended, dead letters beside them, sealed into
 * the bodies one insert stores. With a journal, the batch also knows how much of it its journal file holds;
 * a batch an earlier process left there is read from its file only when its turn to be stored comes.
 *
 * Sealed batches stay in memory while they wait, journaled or not: reading each back from its file when
 * its turn came cost more CPU per line in bench:ingest (c1) than the memory it saved was worth.
 */
import { RowEncoder } from '../store/row-encoder.js';
import {
  FRAME_DEAD,
  FRAME_ROWS,
  FRAME_TOKEN,
  frameHeader,
  type JournalFile,
  readJournalFile,
} from './journal/journal-file.js';

export class Batch {
  readonly encoder: RowEncoder;
  readonly dead: string[] = [];
  /** Characters in `dead`: dead letters count toward batchBytes like rows do. */
  deadChars = 0;
  sealed = false;
  rowsBody: Buffer | null = null;
  deadBody: Buffer | null = null;
  /** Rows and dead letters in the batch once sealed (the encoder is emptied then). */
  sealedSize = 0;
  sealedRows = 0;
  token: string | undefined;
  /** The batch's journal file, and how much of the batch it holds. */
  journal: JournalFile | undefined;
  journaledBytes = 0;
  journaledDead = 0;
  journaledToken: string | undefined;
  /** Its rows are only in its journal file (left by an earlier process): load() before storing it. */
  onDisk = false;
  resolve!: () => void;
  reject!: (err: Error) => void;
  readonly done = new Promise<void>((res, rej) => {
    this.resolve = res;
    this.reject = rej;
  });

  constructor(initialBytes: number) {
    this.encoder = new RowEncoder(initialBytes);
    this.done.catch(() => {});
  }

  /** A batch an earlier process journaled and did not store: everything about it is read from the file. */
  static leftOver(journal: JournalFile): Batch {
    const batch = new Batch(0);
    batch.sealed = true;
    batch.onDisk = true;
    batch.journal = journal;
    return batch;
  }

  get size(): number {
    return this.sealed ? this.sealedSize : this.encoder.rows + this.dead.length;
  }

  /** Ends the batch: its rows and dead letters become the bodies that are stored. */
  seal(token: string): void {
    this.token = token;
    this.sealedSize = this.size;
    this.sealedRows = this.encoder.rows;
    this.sealed = true;
    this.rowsBody = this.encoder.take(0);
    this.deadBody = this.dead.length ? Buffer.from(this.dead.join('')) : null;
  }

  /** Writes what the journal does not hold yet and syncs it to disk; nothing to do when it holds all. */
  async writeJournal(): Promise<void> {
    if (!this.journal) return;
    const { frames, bytes, dead } = this.journalFrames();
    if (!frames.length) return;
    const token = this.token;
    await this.journal.write(frames);
    this.journaledBytes = bytes;
    this.journaledDead = dead;
    this.journaledToken = token;
  }

  /** The frames of what the journal does not hold yet (the token first, if it is new or changed). */
  private journalFrames(): { frames: Buffer[]; bytes: number; dead: number } {
    const frames: Buffer[] = [];
    if (this.onDisk) return { frames, bytes: this.journaledBytes, dead: this.journaledDead };
    if (this.token !== this.journaledToken) {
      const token = Buffer.from(this.token ?? '');
      frames.push(frameHeader(FRAME_TOKEN, token.length), token);
    }
    const rows = this.rowsBody
      ? this.rowsBody.subarray(this.journaledBytes)
      : this.encoder.encodedFrom(this.journaledBytes);
    if (rows.length) frames.push(frameHeader(FRAME_ROWS, rows.length), rows);
    if (this.dead.length > this.journaledDead) {
      const dead = Buffer.from(this.dead.slice(this.journaledDead).join(''));
      frames.push(frameHeader(FRAME_DEAD, dead.length), dead);
    }
    return { frames, bytes: this.journaledBytes + rows.length, dead: this.dead.length };
  }

  /**
   * Reads the bodies and the token from the journal. A file with no token is one a crash cut before its first
   * frame was synced, so nothing was answered for it: an empty batch.
   */
  async load(): Promise<void> {
    if (!this.onDisk || !this.journal) return;
    const found = await readJournalFile(this.journal.path);
    this.token = found?.token ?? this.token ?? '';
    this.journaledToken = this.token;
    this.rowsBody = found?.rows ?? Buffer.alloc(0);
    this.deadBody = found?.dead ?? null;
    this.journaledBytes = this.rowsBody.length;
    this.sealedRows = lineCount(this.rowsBody);
    this.sealedSize = this.sealedRows + (this.deadBody ? lineCount(this.deadBody) : 0);
    this.onDisk = false;
  }
}

/** Rows in a JSONCompactEachRow or JSONEachRow body: one a line (strings escape newlines). */
function lineCount(body: Buffer): number {
  let n = 0;
  for (let at = body.indexOf(10); at >= 0; at = body.indexOf(10, at + 1)) n++;
  return n;
}
