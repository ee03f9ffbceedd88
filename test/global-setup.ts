/**
 * One temporary directory per test run, removed when the run ends: every test's chDB data directories, CLI
 * children's files and browser profiles go under it (TMPDIR, which os.tmpdir() and child processes read),
 * so runs do not pile up in /tmp, whether or not a test cleans up after itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const previous = process.env['TMPDIR'];
  const root = mkdtempSync(join(tmpdir(), 'egresslens-test-run-'));
  process.env['TMPDIR'] = root;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(root, { recursive: true, force: true });
  };
}
