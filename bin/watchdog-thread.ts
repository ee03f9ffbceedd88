/**
 * The watchdog's thread (started by startWatchdog in fatal-exits.ts): when the main thread's heartbeat
 * counter has not moved for `stallMs`, writes one fatal log line to stderr and SIGKILLs the process.
 */
import { writeSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const { beats, stallMs, line } = workerData as { beats: Int32Array; stallMs: number; line: string };
let seen = Atomics.load(beats, 0);
let since = Date.now();
setInterval(
  () => {
    const now = Date.now();
    const beat = Atomics.load(beats, 0);
    if (beat !== seen) {
      seen = beat;
      since = now;
      return;
    }
    if (now - since < stallMs) return;
    try {
      writeSync(2, `${line.replace('"time":0', `"time":${now}`)}\n`);
    } finally {
      process.kill(process.pid, 'SIGKILL');
    }
  },
  Math.max(5, Math.floor(stallMs / 10)),
);
