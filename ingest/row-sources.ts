/** One RowSource object per (source, pod, container), so the row encoder encodes each only once. */
import type { RowSource } from '../store/row-encoder.js';

export interface SourceMetaLike {
  namespace: string;
  pod: string;
  container: string;
  workload: string;
  node: string;
}

export class RowSources {
  private readonly cache = new Map<string, RowSource>();

  constructor(private readonly capacity = 50_000) {}

  get(source: string, meta: SourceMetaLike): RowSource {
    const key = `${source}\u0000${meta.namespace}\u0000${meta.pod}\u0000${meta.container}\u0000${meta.workload}\u0000${meta.node}`;
    let row = this.cache.get(key);
    if (!row) {
      row = { source, ...meta };
      if (this.cache.size >= this.capacity) this.cache.clear();
      this.cache.set(key, row);
    }
    return row;
  }
}

export const NO_META: SourceMetaLike = { namespace: '', pod: '', container: '', workload: '', node: '' };
