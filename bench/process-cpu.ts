/**
 * CPU time of other processes, for per-core figures that wall time on a shared machine cannot give.
 *
 * Linux only: /proc/<pid>/stat's utime and stime are summed over all of a process's threads (chDB's insert and
 * merge threads included), in clock ticks; cutime and cstime of this process are the same for the children it
 * has already waited for, so a child's whole life is counted even when it exits before it can be read.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces): [0] is field 3, the state. */
function statFields(pid: number | 'self'): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds a running process has used so far, all threads; NaN if it is gone. */
export function processCpuSeconds(pid: number): number {
  try {
    const f = statFields(pid);
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU seconds of this process's children that have exited and been waited for. */
export function exitedChildrenCpuSeconds(): number {
  const f = statFields('self');
  return (Number(f[13]) + Number(f[14])) / clockTicks();
}
