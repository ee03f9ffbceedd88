/** Timing a served egresslens's API from a benchmark: median of runs after a warm-up, /readyz polled meanwhile. */

export interface Timed {
  /** Median, fastest and slowest of the timed runs, ms. */
  median: number;
  min: number;
  max: number;
  /** The last answer's body. */
  body: string;
  /** Slowest /readyz answer while the runs went on, ms, and how many were asked. */
  readyzMax: number;
  readyzCount: number;
}

/** GETs `url` once to warm up, then `runs` times timed. Throws on a non-2xx answer. */
export async function timeGet(base: string, url: string, runs: number): Promise<Timed> {
  const probe = pollReadyz(base);
  const times: number[] = [];
  let body = '';
  let readyz = { max: 0, n: 0 };
  try {
    for (let i = 0; i <= runs; i++) {
      const started = performance.now();
      const res = await fetch(url);
      body = await res.text();
      if (!res.ok) throw new Error(`${url}: ${res.status} ${body.slice(0, 500)}`);
      if (i > 0) times.push(performance.now() - started);
    }
  } finally {
    readyz = await probe.stop();
  }
  times.sort((a, b) => a - b);
  return {
    median: times[Math.floor(times.length / 2)]!,
    min: times[0]!,
    max: times[times.length - 1]!,
    body,
    readyzMax: readyz.max,
    readyzCount: readyz.n,
  };
}

/** Polls /readyz every 50 ms until stopped; the slowest answer. */
export function pollReadyz(base: string): { stop: () => Promise<{ max: number; n: number }> } {
  let running = true;
  let max = 0;
  let n = 0;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      const res = await fetch(`${base}/readyz`);
      await res.text();
      max = Math.max(max, performance.now() - t);
      n++;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { max, n };
    },
  };
}

/** `total`/`truncated` of a JSON list answer, or the "N of M" header line of a YAML one. */
export function listSize(body: string): string {
  if (body.startsWith('{')) {
    const j = JSON.parse(body) as { total?: number; truncated?: boolean };
    return `total ${j.total}${j.truncated ? ', truncated' : ''}`;
  }
  return /^# (\d+ of \d+ .*)$/m.exec(body)?.[1] ?? '';
}
