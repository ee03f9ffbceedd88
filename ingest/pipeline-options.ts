/** The pipeline settings a configuration implies; sources add their own (tokens, timers). */
import type { Config } from '../schemas/config.js';
import type { PipelineOptions } from './pipeline.js';

export function pipelineOptions(config: Config, overrides: Partial<PipelineOptions> = {}): PipelineOptions {
  return {
    ...config.ingest,
    format: config.format,
    storeRaw: config.storeRaw,
    retryBaseMs: 200,
    retryMaxMs: 5000,
    ...overrides,
  };
}

/**
 * Seconds of sealed batches the HTTP intake queues before answering 429. A Fluent Bit catching up (tail from
 * the head, or after an outage) has many chunks in flight at once; with 4 batches of 250 ms (1 s) one store
 * insert slowed by a merge refused some of them: 16 concurrent 1000-line bodies, 220 k lines, 11 refusals
 * with 4 batches, 0 with 16 (serve on this 2-core machine, embedded store). Batches sealed by the timer hold
 * 250 ms of lines, so the deeper queue costs memory in proportion to the rate, bounded by batchBytes each.
 * (The timer only seals while the store is idle: during an insert the lines keep filling one batch, sealed
 * when the insert ends or the batch is full, so under load the queue holds few, larger batches.)
 */
const HTTP_QUEUE_SECONDS = 4;

/** The HTTP intake's queue depth: the configured one, or enough batches for HTTP_QUEUE_SECONDS if that is more. */
export function httpQueueDepth(config: Config): number {
  return Math.max(
    config.ingest.maxPendingBatches,
    Math.ceil((HTTP_QUEUE_SECONDS * 1000) / config.ingest.flushIntervalMs),
  );
}
