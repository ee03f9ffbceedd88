/** Runs the egresslens CLI in a child process and measures its wall time and peak RSS. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DIST = new URL('..', import.meta.url).pathname;
export const CLI = join(DIST, 'bin', 'egresslens.js');
const PRELOAD = join(DIST, 'bench', 'report-rss.js');

export interface ChildRun {
  seconds: number;
  peakRssMb: number;
  /** CPU time of the child (user + system, all its threads), measured at its exit; NaN if it died first. */
  cpuSeconds: number;
  /** The part of cpuSeconds on the main thread, where the JS runs. */
  mainThreadCpuSeconds: number;
  /** CPU seconds by thread name at exit, largest first. */
  threads: Array<[string, number]>;
  code: number | null;
  stderr: string;
}

export async function runCli(
  args: string[],
  opts: { stdout?: 'ignore' | 'pipe'; env?: NodeJS.ProcessEnv; nodeArgs?: string[] } = {},
): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), 'egresslens-rss-'));
  const rssFile = join(dir, 'rss');
  const cpuFile = join(dir, 'cpu');
  const started = performance.now();
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', PRELOAD, CLI, ...args], {
    stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
    env: { ...process.env, ...opts.env, EGRESSLENS_RSS_FILE: rssFile, EGRESSLENS_CPU_FILE: cpuFile },
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  let peakRssMb = Number.NaN;
  let cpuSeconds = Number.NaN;
  let mainThreadCpuSeconds = Number.NaN;
  let threads: Array<[string, number]> = [];
  try {
    peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    const [totals, byThread] = readFileSync(cpuFile, 'utf8').split('\n');
    const [all, main] = (totals ?? '').split(' ');
    threads = Object.entries(JSON.parse(byThread ?? '{}') as Record<string, number>).sort(
      (a, b) => b[1] - a[1],
    );
    cpuSeconds = Number(all) / 1e6;
    mainThreadCpuSeconds = Number(main) / 1e6;
  } catch {
    // the child died before its exit hook ran
  }
  rmSync(dir, { recursive: true, force: true });
  return { seconds, peakRssMb, cpuSeconds, mainThreadCpuSeconds, threads, code, stderr };
}

/**
 * Node flags that make a child write a CPU profile (`<name>.cpuprofile`) into $BENCH_CPU_PROF at exit, when
 * that variable names a directory; none otherwise.
 */
export function cpuProfileArgs(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
}

/** Polls `base`/readyz until a child `serve` answers 200 (30 s at most). */
export async function waitReady(base: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    if (i > 300) throw new Error(`${base} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
