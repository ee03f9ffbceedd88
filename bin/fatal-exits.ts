/**
 * Makes sure a server that can no longer work dies, so its supervisor (Kubernetes, systemd, Docker) restarts it.
 *
 * 1. V8 answers an exhausted heap with abort(). chDB's engine installs ClickHouse's fatal-signal handler for
 *    SIGABRT, which waits up to 300 s (3 s + 300 × 1 s) for a log thread chDB never runs before it lets the
 *    process die: measured, a served instance that ran out of heap printed "JavaScript heap out of memory" and
 *    then slept with its main thread in nanosleep, answering nothing, for minutes. Any handler that returns
 *    makes abort() restore the default action and raise SIGABRT again (POSIX), so a listener installed after
 *    chDB is loaded turns an OOM back into an immediate exit (status 134). Only SIGABRT is taken back: a
 *    returning handler for SIGSEGV/SIGBUS would loop on the faulting instruction.
 * 2. A watchdog thread kills the process when the event loop has not turned for `stallMs`: whatever holds it
 *    (a runaway decode, GC thrash near the heap limit), a process that answers nothing is worse than a restart.
 */
import { writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** Call once chDB is loaded (after the store is opened): its SIGABRT handler must be the one replaced. */
export function exitOnAbort(): void {
  const onAbort = () => {
    // Only reached for a SIGABRT sent by kill(1); abort() itself exits right after this returns.
    writeSync(2, `${fatalLine('SIGABRT received: exiting', Date.now())}\n`);
    // Not process.exit(): exit() runs chDB's static destructors, which can wait on the engine's threads (seen
    // under load: the process slept after this line). With no listener left libuv restores the default
    // action, so the signal sent again ends the process at once, as abort() would (status 134).
    process.removeListener('SIGABRT', onAbort);
    process.kill(process.pid, 'SIGABRT');
  };
  process.on('SIGABRT', onAbort);
}

export interface Watchdog {
  stop(): Promise<void>;
}

/**
 * Starts the watchdog thread. The main thread stamps a shared counter every `stallMs / 4`; the thread checks
 * it and, when it has not moved for `stallMs`, writes one fatal log line to stderr and sends SIGKILL (a stuck
 * event loop would never run a SIGTERM handler).
 */
export function startWatchdog(stallMs: number): Watchdog {
  const beats = new Int32Array(new SharedArrayBuffer(4));
  const heartbeat = setInterval(() => Atomics.add(beats, 0, 1), Math.max(10, Math.floor(stallMs / 4)));
  heartbeat.unref();
  const worker = new Worker(new URL('./watchdog-thread.js', import.meta.url), {
    // The thread needs none of the process's flags (--input-type, --require, loaders would apply to it too).
    execArgv: [],
    workerData: {
      beats,
      stallMs,
      line: fatalLine(`the event loop has not turned for ${stallMs} ms: exiting`),
    },
    // The watchdog's own heap: it holds a counter and one string.
    resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    stdout: false,
    stderr: false,
  });
  worker.unref();
  return {
    async stop() {
      clearInterval(heartbeat);
      await worker.terminate();
    },
  };
}

/** A pino-shaped fatal line (level 60), so log pipelines read it like the server's other lines. */
function fatalLine(msg: string, time = 0): string {
  return JSON.stringify({ level: 60, time, pid: process.pid, service: 'egresslens', msg });
}
