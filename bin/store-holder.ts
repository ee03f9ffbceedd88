/**
 * Who holds an embedded data directory. chDB (clickhouse-local) writes `<dir>/status` with `PID: n` while a
 * process has the directory open and removes it on close; asking here first spares the user chDB's raw
 * `Code: 76 … Cannot lock file` on stderr, and lets the CLI name the running server's real address.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { findServer, type ServerAdvert } from './server-advert.js';

export interface StoreHolder {
  pid: number;
  /** Set when the holder is an `egresslens serve` that advertised its address. */
  server?: ServerAdvert;
}

export function storeHolder(dataDir: string): StoreHolder | undefined {
  let pid: number;
  try {
    const m = /^PID: (\d+)/m.exec(readFileSync(join(resolve(dataDir), 'status'), 'utf8'));
    if (!m) return undefined;
    pid = Number(m[1]);
  } catch {
    return undefined; // no status file: the directory is free
  }
  if (pid === process.pid || !alive(pid)) return undefined; // a crash leaves the file behind

  const server = findServer(dataDir);
  return { pid, server: server?.pid === pid ? server : undefined };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as { code?: string }).code !== 'EPERM') return false;
  }
  // A stale file's PID may since belong to an unrelated process: on Linux, check it is a Node process.
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'latin1');
    return /node|egresslens/.test(cmdline);
  } catch {
    return true;
  }
}
