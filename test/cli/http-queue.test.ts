/** The HTTP intake queue covers seconds of sealed batches, so one catching-up Fluent Bit is not refused. */
import { describe, expect, it } from 'vitest';
import { httpQueueDepth } from '../../ingest/pipeline-options.js';
import { loadConfig } from '../../schemas/config.js';

describe('httpQueueDepth', () => {
  it('holds 4 s of 250 ms batches by default, and never less than configured', () => {
    expect(httpQueueDepth(loadConfig({ env: {} }))).toBe(16);
    expect(httpQueueDepth(loadConfig({ env: {}, flags: { ingest: { flushIntervalMs: 1000 } } }))).toBe(4);
    expect(httpQueueDepth(loadConfig({ env: {}, flags: { ingest: { maxPendingBatches: 40 } } }))).toBe(40);
  });
});
