/** Runs the built CLI (dist/bin/egresslens.js) as a user would: a real process, real pipes, real exit code. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/bin/egresslens.js', import.meta.url));
export const FIXTURE = fileURLToPath(new URL('../fixtures/sample-istio.log', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `input`: piped to stdin (a pipe, as in `cat f | egresslens …`); undefined leaves stdin at /dev/null. */
export function runCli(
  args: string[],
  opts: { input?: string | Buffer; cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}

/** No stack trace: user errors are one line saying what to do. */
export function hasStack(text: string): boolean {
  return /^\s+at .+:\d+:\d+\)?$/m.test(text);
}
