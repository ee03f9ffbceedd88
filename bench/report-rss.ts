/**
 * Preloaded into a measured child (`node --import`): writes its peak RSS in KiB to $EGRESSLENS_RSS_FILE at exit,
 * and to $EGRESSLENS_CPU_FILE, when set, its CPU time (user + system) in microseconds: every thread's, then the
 * main thread's alone (where the JS runs), NaN off Linux; then, on a second line, CPU seconds by thread name.
 *
 * On Linux it reads VmHWM, the high-water mark of this process's own address space. getrusage's maxRSS is no
 * good here: Linux carries the forking parent's peak across fork and exec into it, so a child of a benchmark
 * holding a gigabyte of test data would report that gigabyte.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const file = process.env.EGRESSLENS_RSS_FILE;
const cpuFile = process.env.EGRESSLENS_CPU_FILE;

function peakRssKib(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

function mainThreadCpuMicros(): number {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, in clock ticks of 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds by thread name (`main` for the main thread), as bench/process-cpu.ts cpuByThreadName. */
function threadCpu(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const tid of readdirSync('/proc/self/task')) {
      try {
        const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
        const name =
          Number(tid) === process.pid ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100;
      } catch {
        // the thread ended meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

if (file) {
  process.on('exit', () => writeFileSync(file, String(peakRssKib())));
}
if (cpuFile) {
  process.on('exit', () => {
    const cpu = process.cpuUsage();
    writeFileSync(
      cpuFile,
      `${cpu.user + cpu.system} ${mainThreadCpuMicros()}\n${JSON.stringify(threadCpu())}`,
    );
  });
}
