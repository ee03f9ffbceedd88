/**
 * One batch's journal file: the rows and dead letters of a batch as they are appended, so a request can be
 * answered once its rows are on disk instead of once the store has taken the batch. The file is a sequence
 * of frames, each a kind byte, a 32-bit little-endian length and that many bytes:
 *   T  the batch's dedup token (the last one wins: a source may seal with its own)
 *   R  encoded rows (JSONCompactEachRow), in order
 *   D  dead letters (JSONEachRow), in order
 * A frame cut short by a crash is the tail of a write never synced, so no request was answered for it: reading
 * stops there.
 */
import { type FileHandle, open, readFile, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

export const FRAME_TOKEN = 0x54; // T
export const FRAME_ROWS = 0x52; // R
export const FRAME_DEAD = 0x44; // D

const HEADER_BYTES = 5;

export function frameHeader(kind: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = kind;
  header.writeUInt32LE(length, 1);
  return header;
}

/** A batch's journal, each write() synced to disk before it resolves; created by the first write. */
export class JournalFile {
  private handle: FileHandle | undefined;
  private removed = false;
  /** Bytes written and synced: a failed write is cut back to here, so no torn frame hides later ones. */
  private length = 0;
  /** Set when a failed write could not be cut back: the file takes no more frames. */
  private broken: Error | undefined;
  /** The directory's entry for the file is on disk too (synced once, after the file's first write). */
  private entrySynced = false;

  constructor(readonly path: string) {}

  /** Writes the frames in order and syncs the data to disk before resolving. */
  async write(frames: Buffer[]): Promise<void> {
    if (this.removed || frames.length === 0) return;
    if (this.broken) throw this.broken;
    this.handle ??= await open(this.path, 'a', 0o600);
    const handle = this.handle;
    let total = 0;
    for (const f of frames) total += f.length;
    try {
      // writev takes the frames' header and payload buffers as they are: no copy into one buffer.
      let pending = frames;
      while (pending.length) {
        const { bytesWritten } = await handle.writev(pending);
        pending = afterBytes(pending, bytesWritten);
      }
      await handle.datasync();
      // A new file's name lives in its directory: without syncing that, a power cut could lose the file
      // (and the rows answered for) even though its data was synced.
      if (!this.entrySynced) {
        await syncDirectory(dirname(this.path));
        this.entrySynced = true;
      }
      this.length += total;
    } catch (err) {
      await handle.truncate(this.length).catch((cut: Error) => {
        this.broken = cut;
      });
      throw err;
    }
  }

  /** The batch is stored: its journal is no longer needed. */
  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
    await unlink(this.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Closes without removing: the batch was not stored, and the next start stores it from here. */
  async close(): Promise<void> {
    await this.handle?.close().catch(() => {});
    this.handle = undefined;
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The buffers still to write after `n` bytes of `buffers` were written. */
function afterBytes(buffers: Buffer[], n: number): Buffer[] {
  let i = 0;
  while (i < buffers.length && n >= buffers[i]!.length) n -= buffers[i++]!.length;
  if (i === buffers.length) return [];
  return [buffers[i]!.subarray(n), ...buffers.slice(i + 1)];
}

export interface JournaledBatch {
  token: string;
  rows: Buffer;
  dead: Buffer | null;
}

/** A journal file's batch; frames after a torn one (a write a crash cut short) are not read. */
export async function readJournalFile(path: string): Promise<JournaledBatch | null> {
  const bytes = await readFile(path);
  let token: string | undefined;
  const rows: Buffer[] = [];
  const dead: Buffer[] = [];
  for (let at = 0; at + HEADER_BYTES <= bytes.length; ) {
    const kind = bytes[at]!;
    const length = bytes.readUInt32LE(at + 1);
    const end = at + HEADER_BYTES + length;
    if (end > bytes.length) break;
    const payload = bytes.subarray(at + HEADER_BYTES, end);
    if (kind === FRAME_TOKEN) token = payload.toString('utf8');
    else if (kind === FRAME_ROWS) rows.push(payload);
    else if (kind === FRAME_DEAD) dead.push(payload);
    else break; // not a frame: nothing after it can be trusted
    at = end;
  }
  if (token === undefined) return null;
  return { token, rows: Buffer.concat(rows), dead: dead.length ? Buffer.concat(dead) : null };
}
