/** `egresslens ingest FILE... | -`: files (plain, gzip, CRI or Docker-wrapped) or stdin into the store. */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Transform } from 'node:stream';
import cliProgress from 'cli-progress';
import pino from 'pino';
import { lineChunks, maybeGunzip } from '../../ingest/line-chunks.js';
import { IngestPipeline, type LineContext } from '../../ingest/pipeline.js';
import { pipelineOptions } from '../../ingest/pipeline-options.js';
import type { Config } from '../../schemas/config.js';
import { StoreLockedError } from '../../store/chdb-store.js';
import { openStore } from '../../store/open-store.js';

export const ingestUsage = `usage: egresslens ingest [options] FILE... | -

Reads access-log files (plain or gzip, CRI and Docker JSON wrappers unwrapped) or stdin into the store.
Lines that do not parse are kept in dead_letters with the reason.

  --data DIR               embedded store directory (default ./data)
  --clickhouse-url URL     use a ClickHouse server instead
  --format SPEC            auto (default), json, a preset, or an Envoy format string
  --store-raw              keep each raw line in access_log.raw
  --config FILE            JSON or YAML config file`;

export interface IngestSummary {
  files: number;
  bytes: number;
  lines: number;
  parsed: number;
  deadLetters: number;
  seconds: number;
}

export async function runIngest(config: Config, files: string[]): Promise<number> {
  const log = pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel }, pino.destination(2));
  let store: Awaited<ReturnType<typeof openStore>>;
  try {
    store = await openStore(config);
  } catch (err) {
    if (err instanceof StoreLockedError) {
      process.stderr.write(
        `egresslens: ${err.message}.\nA running "egresslens serve" owns it; send the lines to it instead:\n  curl -sS --data-binary @FILE -H 'Content-Type: text/plain' http://127.0.0.1:8080/v1/ingest/lines\n`,
      );
      return 1;
    }
    throw err;
  }
  await store.migrate();
  const pipeline = new IngestPipeline(
    store,
    pipelineOptions(config, {
      // One batch in the store, one filling: a file can always wait, so a deeper queue only costs memory.
      maxPendingBatches: Math.min(config.ingest.maxPendingBatches, 2),
      // Batches cut by size only, never by a timer, and tokens named after the inputs: running the same
      // ingest again after a crash produces the same batches, which the store recognises and skips.
      flushIntervalMs: 2 ** 31 - 1,
      tokenPrefix: inputsToken(files, config),
    }),
    log,
  );
  const summary = await ingestFiles(pipeline, files, process.stderr.isTTY === true);
  await pipeline.close();
  await store.close();
  const rate = summary.lines / Math.max(summary.seconds, 1e-9);
  process.stderr.write(
    `ingested ${summary.files} input(s), ${(summary.bytes / 1e6).toFixed(1)} MB: ${summary.lines} lines, ${summary.parsed} stored, ${summary.deadLetters} dead letters, ${Math.round(rate)} lines/s\n`,
  );
  return 0;
}

/** Identifies a run by its inputs (path, size, modification time) and the settings that shape its batches. */
function inputsToken(files: string[], config: Config): string {
  const hash = createHash('sha1');
  for (const f of files.length ? files : ['-']) {
    if (f === '-') hash.update(`stdin:${randomUUID()}`);
    else {
      const st = statSync(f);
      hash.update(`${resolve(f)}:${st.size}:${st.mtimeMs}\n`);
    }
  }
  hash.update(
    JSON.stringify([config.format, config.storeRaw, config.ingest.batchRows, config.ingest.batchBytes]),
  );
  return `file-${hash.digest('hex').slice(0, 24)}`;
}

/** Streams each input through the pipeline, pausing whenever its queue is full. */
export async function ingestFiles(
  pipeline: IngestPipeline,
  files: string[],
  progress: boolean,
): Promise<IngestSummary> {
  const started = performance.now();
  const inputs = files.length ? files : ['-'];
  const total = inputs.reduce((n, f) => n + (f === '-' ? 0 : statSync(f).size), 0);
  const bar = progress
    ? new cliProgress.SingleBar(
        {
          format: 'ingest {bar} {percentage}% | {mb} MB | {rate} lines/s | {dead} dead letters',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(total || 1, 0, { mb: '0', rate: 0, dead: 0 });
  let bytes = 0;
  for (const file of inputs) {
    const raw = file === '-' ? process.stdin : createReadStream(file, { highWaterMark: 1 << 20 });
    const counted = raw.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
    );
    const ctx: LineContext = {
      source: { source: 'file', namespace: '', pod: '', container: '', workload: '', node: '' },
      origin: file === '-' ? 'stdin' : file,
    };
    for await (const { buf, truncated } of lineChunks(maybeGunzip(counted))) {
      if (truncated) {
        pipeline.appendDeadLetter(`line longer than ${buf.length} bytes, cut`, buf.toString('utf8'), ctx);
      } else {
        let start = 0;
        while (start < buf.length) {
          let nl = buf.indexOf(10, start);
          if (nl < 0) nl = buf.length;
          pipeline.appendLine(buf, start, nl, ctx);
          start = nl + 1;
        }
      }
      await pipeline.waitForRoom();
      if (bar) {
        const seconds = (performance.now() - started) / 1000;
        bar.update(Math.min(bytes, total || 1), {
          mb: (bytes / 1e6).toFixed(1),
          rate: Math.round(pipeline.stats.lines / Math.max(seconds, 1e-9)),
          dead: pipeline.stats.deadLetters,
        });
      }
    }
    pipeline.endSource(ctx);
  }
  await pipeline.flush();
  bar?.stop();
  return {
    files: inputs.length,
    bytes,
    lines: pipeline.stats.lines,
    parsed: pipeline.stats.parsed,
    deadLetters: pipeline.stats.deadLetters,
    seconds: (performance.now() - started) / 1000,
  };
}
