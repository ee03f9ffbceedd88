/**
 * The benchmarks' per-core figures rest on reading another process's CPU time: a child that burns CPU must
 * show it while it runs (/proc/<pid>/stat) and, once waited for, in this process's children's total.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { exitedChildrenCpuSeconds, processCpuSeconds } from '../../bench/process-cpu.js';

// Burns 300 ms of its own CPU (however busy the machine), says so, then waits for a line on stdin so it can be
// read while still alive.
const BURN = `
const u = () => process.cpuUsage().user;
while (u() < 300_000);
process.stdout.write('burnt\\n');
process.stdin.once('data', () => process.exit(0));`;

describe('process CPU time', () => {
  it('counts a busy child while it runs and after it exits', async () => {
    const before = exitedChildrenCpuSeconds();
    const child = spawn(process.execPath, ['-e', BURN], { stdio: ['pipe', 'pipe', 'inherit'] });
    await once(child.stdout!, 'data');
    const running = processCpuSeconds(child.pid!);
    child.stdin!.write('\n');
    await once(child, 'close');
    const exited = exitedChildrenCpuSeconds() - before;
    // Node's own startup adds some CPU; clock ticks are 10 ms.
    expect(running).toBeGreaterThanOrEqual(0.29);
    expect(running).toBeLessThan(3);
    expect(exited).toBeGreaterThanOrEqual(running - 0.02);
    expect(processCpuSeconds(child.pid!)).toBeNaN();
  });
});
