/** Prometheus metrics: intake counters read from the pipeline at scrape time, report timings as observed. */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { IngestPipeline } from '../ingest/pipeline.js';

export class Metrics {
  readonly registry = new Registry();
  readonly reportSeconds: Histogram<'report'>;

  constructor(pipelines: () => IngestPipeline[]) {
    // prom-client's names already start with process_/nodejs_: the prefix is ours alone.
    collectDefaultMetrics({ register: this.registry, prefix: 'egresslens_' });
    const sum = (pick: (p: IngestPipeline) => number) => pipelines().reduce((s, p) => s + pick(p), 0);
    const counter = (name: string, help: string, read: () => number) =>
      new Counter({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(read());
        },
      });
    counter('egresslens_lines_total', 'Lines and records received by intake', () =>
      sum((p) => p.stats.lines),
    );
    counter('egresslens_parsed_total', 'Lines parsed into access_log rows', () => sum((p) => p.stats.parsed));
    counter('egresslens_dead_letters_total', 'Lines kept in dead_letters', () =>
      sum((p) => p.stats.deadLetters),
    );
    counter('egresslens_batches_total', 'Batches sealed for the store', () => sum((p) => p.stats.batches));
    counter('egresslens_stored_rows_total', 'Rows the store acknowledged', () =>
      sum((p) => p.stats.storedRows),
    );
    counter('egresslens_insert_errors_total', 'Failed insert attempts (each retried)', () =>
      sum((p) => p.stats.insertErrors),
    );
    counter(
      'egresslens_journal_write_errors_total',
      'Failed intake journal writes (each request answered 503; its rows stay queued)',
      () => sum((p) => p.stats.journalWriteErrors),
    );
    new Gauge({
      name: 'egresslens_queue_batches',
      help: 'Sealed batches waiting for the store',
      registers: [this.registry],
      collect() {
        this.set(sum((p) => p.pendingBatches));
      },
    });
    new Gauge({
      name: 'egresslens_store_insert_seconds',
      help: 'Duration of the last successful insert',
      registers: [this.registry],
      collect() {
        const ps = pipelines();
        this.set(ps.length ? Math.max(...ps.map((p) => p.stats.lastInsertMs)) / 1000 : 0);
      },
    });
    this.reportSeconds = new Histogram({
      name: 'egresslens_report_seconds',
      help: 'Time to compute a report',
      labelNames: ['report'],
      buckets: [0.01, 0.05, 0.1, 0.3, 1, 3, 10],
      registers: [this.registry],
    });
  }

  async time<T>(report: string, fn: () => Promise<T>): Promise<T> {
    const end = this.reportSeconds.startTimer({ report });
    try {
      return await fn();
    } finally {
      end();
    }
  }
}
