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
