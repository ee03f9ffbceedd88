/** A line context for pipeline tests: one pod of the `shop` namespace, as `source` would name it. */
import type { LineContext } from '../../ingest/pipeline.js';
import type { RowSource } from '../../store/row-encoder.js';

export function shopContext(source: RowSource['source'] = 'file', node = 'n1'): LineContext {
  return {
    source: {
      source,
      namespace: 'shop',
      pod: 'checkout-1',
      container: 'istio-proxy',
      workload: 'checkout',
      node,
    },
    origin: 'test',
  };
}
