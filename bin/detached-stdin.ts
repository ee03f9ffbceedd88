/**
 * chDB is clickhouse-local inside this process, and clickhouse-local treats a non-terminal stdin as insert
 * data: with stdin a pipe, every `INSERT … VALUES` (the schema migrations, chDB's own inserts) fails with
 * `Code: 48 … async inserts with both inlined and external data`, or worse, reads the user's lines as rows.
 * So a command that opens chDB while stdin carries data runs again as a child whose stdin is /dev/null, with
 * the real stdin handed over as another descriptor (STDIN_FD_ENV names it).
 */
import { spawn } from 'node:child_process';
import { createReadStream, fstatSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable } from 'node:stream';

const STDIN_FD_ENV = 'EGRESSLENS_STDIN_FD';

/** True when fd 0 is a pipe, socket or file (not a terminal or /dev/null) and this is not the child yet. */
export function stdinCarriesData(): boolean {
  if (process.env[STDIN_FD_ENV]) return false;
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

/** Runs this command line again with stdin on fd 3 and /dev/null on fd 0; resolves to its exit code. */
export function rerunWithDetachedStdin(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['ignore', 'inherit', 'inherit', 0],
    env: { ...process.env, [STDIN_FD_ENV]: '3' },
  });
  // SIGTERM and SIGHUP are sent to this process only: pass them on so the child shuts down gracefully.
  // Ctrl-C reaches the whole foreground process group, the child included, so SIGINT is only kept from
  // killing this parent before the child has finished.
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const onTerm = forward('SIGTERM');
  const onHup = forward('SIGHUP');
  const onInt = () => {};
  process.on('SIGTERM', onTerm).on('SIGHUP', onHup).on('SIGINT', onInt);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', onTerm).off('SIGHUP', onHup).off('SIGINT', onInt);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 1));
    });
  });
}

/** The command's stdin: the handed-over descriptor in the child, process.stdin otherwise. */
export function dataStdin(): Readable {
  const fd = process.env[STDIN_FD_ENV];
  return fd ? createReadStream('', { fd: Number(fd), highWaterMark: 1 << 20 }) : process.stdin;
}
