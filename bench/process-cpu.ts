/**
 * CPU time of other processes, for per-core figures that wall time on a shared machine cannot give.
 *
 * Linux only: /proc/<pid>/stat's utime and stime are summed over all of a process's threads (chDB's insert and
 * merge threads included), in clock ticks; cutime and cstime of this process are the same for the children it
 * has already waited for, so a child's whole life is counted even when it exits before it can be read.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
function statFields(pid: number | string): string[] {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/**
 * User + system CPU seconds a running process has used so far, all threads, or with `mainThread` its main
 * thread alone (where the JS runs; chDB's inserts and merges and zlib's inflating run on other threads); NaN
 * if it is gone.
 */
export function processCpuSeconds(pid: number | undefined, mainThread = false): number {
  if (pid === undefined) return Number.NaN;
  try {
    const f = statFields(mainThread ? `${pid}/task/${pid}` : pid);
    return (Number(f[11]) + Number(f[12])) / clockTicks();
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds of process `pid` by thread name (chDB names its pools, V8 its GC workers `V8 DefaultWorke`,
 * libuv `libuv-worker`), largest first: which part of a server the CPU went to. Threads that already
 * ended are not counted.
 */
export function cpuByThreadName(pid: number | undefined): Array<[string, number]> {
  const out = new Map<string, number>();
  if (pid === undefined) return [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = Number(tid) === pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / clockTicks());
    } catch {
      // the thread ended meanwhile
    }
  }
  return [...out].sort((a, b) => b[1] - a[1]);
}

/** This process's CPU seconds (user + system) since `since` (a process.cpuUsage() value). */
export function ownCpuSeconds(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1e6;
}

/** User + system CPU seconds of this process's children that have exited and been waited for. */
export function exitedChildrenCpuSeconds(): number {
  const f = statFields('self');
  return (Number(f[13]) + Number(f[14])) / clockTicks();
}

/** Peak resident memory of a running process so far (VmHWM), in MB; NaN if it is gone. */
export function peakRssMb(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? Number.NaN : Number(kb) / 1024;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU seconds per line net of startup: (CPU of a run over `lines` − CPU of the same run over one line) per
 * line beyond the first. A long-running instance pays its startup once, so this is the figure to size with.
 */
export function netCpuPerLine(cpuSeconds: number, oneLineCpuSeconds: number, lines: number): number {
  return (cpuSeconds - oneLineCpuSeconds) / (lines - 1);
}
