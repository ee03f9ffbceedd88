/**
 * chDB installs ClickHouse's SIGABRT handler, which sleeps for minutes before letting the process die (see
 * bin/fatal-exits.ts). V8 answers an exhausted heap with abort(), so without egresslens's own listener an
 * out-of-memory `egresslens ingest` would hang instead of failing. A SIGABRT sent once chDB holds the data
 * directory shows which handler is in place.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dataDirLocked } from '../../store/data-dir-lock.js';
import { CLI } from './run-cli.js';

const work = mkdtempSync(join(tmpdir(), 'el-cli-abort-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('egresslens ingest and SIGABRT', () => {
  it("ends at once with status 134 once chDB is open (it does not sleep in chDB's handler)", async () => {
    const data = join(work, 'data');
    // stdin stays open and empty: the run waits for lines with the store open.
    const child = spawn(process.execPath, [CLI, 'ingest', '--data', data, '-'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    // Piped stdin makes the CLI run itself again as a child (bin/detached-stdin.ts), which opens chDB. The
    // migrations (access_log's data directory) run after the command has taken SIGABRT back.
    const migrated = join(data, 'data', 'default', 'access_log');
    for (let i = 0; i < 300 && !existsSync(migrated); i++) await sleep(100);
    expect(dataDirLocked(data)).toBe(true);
    const pids = childrenOf(child.pid!);
    expect(pids.length).toBe(1);
    const t0 = performance.now();
    process.kill(pids[0]!, 'SIGABRT');
    const code = await Promise.race([exited, sleep(20_000).then(() => 'still running' as const)]);
    if (code === 'still running') for (const pid of [...pids, child.pid!]) process.kill(pid, 'SIGKILL');
    expect(code).toBe(134);
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(stderr).toMatch(/SIGABRT received: exiting/);
  }, 60_000);
});

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(/\s+/).map(Number) : [];
}
