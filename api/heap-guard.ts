/**
 * Refuses new work while the V8 heap is close to its limit. Past the limit V8 aborts the process (which the
 * supervisor restarts, see bin/fatal-exits.ts), losing every batch accepted but not yet stored; refusing
 * a body with 503 + Retry-After near the limit instead lets Fluent Bit resend it once memory is back.
 */
import { getHeapStatistics } from 'node:v8';
import { BodyError } from '../ingest/body-error.js';

export class HeapGuard {
  private readonly limitBytes: number;
  private readonly refuseAboveBytes: number;

  /** `maxUsedPercent`: share of the heap limit (--max-old-space-size) in use above which bodies are refused. */
  constructor(readonly maxUsedPercent: number) {
    this.limitBytes = getHeapStatistics().heap_size_limit;
    this.refuseAboveBytes = (this.limitBytes * maxUsedPercent) / 100;
  }

  /** Throws BodyError 503 when the heap in use is above the threshold. */
  readonly check = (): void => {
    const used = getHeapStatistics().used_heap_size;
    if (used <= this.refuseAboveBytes) return;
    throw new BodyError(
      503,
      `the server is short of memory (heap ${mb(used)} of ${mb(this.limitBytes)} MB in use, over ` +
        `ingest.maxHeapUsedPercent=${this.maxUsedPercent}); retry later`,
    );
  };
}

function mb(bytes: number): number {
  return Math.round(bytes / (1 << 20));
}
