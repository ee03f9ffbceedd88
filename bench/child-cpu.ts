/**
 * CPU time of a running child, from /proc/<pid>/stat (utime + stime, every thread of it: chDB's too), so a
 * benchmark can report CPU seconds per line next to wall-clock rates, which other load on the machine skews.
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

/**
 * utime + stime of process `pid` in seconds, or with `mainThread` of its main thread alone (where the JS runs;
 * chDB's inserts and merges and zlib's inflating run on other threads); NaN when it is gone or not on Linux.
 */
export function processCpuSeconds(pid: number | undefined, mainThread = false): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces: count fields from after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks();
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
      const cpu = (Number(fields[11]) + Number(fields[12])) / clockTicks();
      out.set(name, (out.get(name) ?? 0) + cpu);
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
