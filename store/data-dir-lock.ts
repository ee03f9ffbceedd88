/**
 * Whether another process holds chDB's lock on a data directory, found without opening it: chDB (like a
 * ClickHouse server) holds an flock on `<dir>/status`, which Linux lists in /proc/locks. Asking first spares the
 * user chDB's own multi-line "Cannot lock file" message on stderr. Elsewhere (no /proc) the answer is
 * `unknown` and opening the store remains the test.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function dataDirLocked(dir: string): boolean | 'unknown' {
  let locks: string;
  try {
    locks = readFileSync('/proc/locks', 'utf8');
  } catch {
    return 'unknown';
  }
  let st: { dev: number; ino: number };
  try {
    st = statSync(join(dir, 'status'));
  } catch {
    return false; // no status file: never opened, or closed cleanly
  }
  // /proc/locks names a file as MAJOR:MINOR:INODE, the device numbers in hex (Linux's new_encode_dev split).
  const major = (st.dev >> 8) & 0xfff;
  const minor = (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00);
  const id = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${st.ino}`;
  return locks.split('\n').some((line) => line.split(/\s+/).includes(id));
}
