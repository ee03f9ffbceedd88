/**
 * Preloaded into a measured child (`node --import`): writes its peak RSS in KiB to $EGRESSLENS_RSS_FILE at exit.
 *
 * On Linux it reads VmHWM, the high-water mark of this process's own address space. getrusage's maxRSS is no
 * good here: Linux carries the forking parent's peak across fork and exec into it, so a child of a benchmark
 * holding a gigabyte of test data would report that gigabyte.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const file = process.env.EGRESSLENS_RSS_FILE;

function peakRssKib(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]);
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS;
}

if (file) {
  process.on('exit', () => writeFileSync(file, String(peakRssKib())));
}
