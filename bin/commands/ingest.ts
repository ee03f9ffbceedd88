/** `egresslens ingest FILE... | -`: files (plain, gzip, CRI or Docker-wrapped) or stdin into the store. */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline as streamPipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import pino, { type Logger } from 'pino';
import { podOfFile } from '../../ingest/file/kubelet-file-name.js';
import { lineChunks, maybeGunzip } from '../../ingest/file/line-chunks.js';
import { IngestPipeline, type LineContext } from '../../ingest/pipeline.js';
import { pipelineOptions } from '../../ingest/pipeline-options.js';
import type { Config } from '../../schemas/config.js';
import { StoreLockedError } from '../../store/chdb-store.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { applyTtl } from '../apply-ttl.js';
import { checkFormat } from '../check-format.js';
import { dataStdin } from '../detached-stdin.js';
import { exitOnAbort } from '../fatal-exits.js';
import { storeHolder } from '../store-holder.js';
import { UserError } from '../usage-error.js';

export const ingestUsage = `usage: egresslens ingest [options] FILE... | -

Reads access-log files (plain or gzip, CRI and Docker JSON wrappers unwrapped) or stdin into the store.
Lines that do not parse are kept in dead_letters with the reason. Ingesting a file again stores nothing
twice (batches are named after the file's content). Files named the kubelet way
(/var/log/containers/<pod>_<namespace>_<container>-<id>.log, /var/log/pods/...) fill pod, namespace and
container.

  --data DIR               embedded store directory (default ./data)
  --clickhouse-url URL     use a ClickHouse server instead
  --format SPEC            auto (default), json, a preset, or an Envoy format string
  --store-raw              keep each raw line in access_log.raw
  --ttl-days N             drop rows older than N days (applied to an existing store too)
  --config FILE            JSON or YAML config file`;

export interface IngestSummary {
  files: number;
  bytes: number;
  lines: number;
  parsed: number;
  deadLetters: number;
  seconds: number;
  /** Rows the store gained: fewer than `parsed` when batches of this content were stored before. */
  newRows?: number;
}

async function storedRows(store: Store): Promise<number> {
  const [row] = await store.query<{ n: string | number }>('SELECT count() AS n FROM access_log');
  return Number(row?.n ?? 0);
}

export async function runIngest(config: Config, files: string[]): Promise<number> {
  checkFormat(config.format);
  const inputs = files.length ? files : ['-'];
  for (const f of inputs) if (f !== '-') statSync(f); // a typo fails now, naming the file, not mid-run
  const log = pino({ level: config.logLevel === 'info' ? 'warn' : config.logLevel }, pino.destination(2));
  const store = await openForIngest(config);
  exitOnAbort(); // after chDB is loaded, as for serve: an out-of-memory must end the run, not hang it
  let summary: IngestSummary;
  try {
    await store.migrate();
    if (config.ttlDays) {
      const changed = await applyTtl(store, config.ttlDays);
      if (changed.length)
        process.stderr.write(
          `ttl: rows older than ${config.ttlDays} days are now dropped (${changed.join(', ')})\n`,
        );
    }
    const before = await storedRows(store);
    summary = await ingestInputs(store, inputs, config, log, process.stderr.isTTY === true);
    summary.newRows = (await storedRows(store)) - before;
  } finally {
    await store.close();
  }
  const rate = summary.lines / Math.max(summary.seconds, 1e-9);
  process.stderr.write(
    `ingested ${summary.files} input(s), ${(summary.bytes / 1e6).toFixed(1)} MB: ${summary.lines} lines, ${summary.parsed} parsed, ${summary.deadLetters} dead letters, ${Math.round(rate)} lines/s; ${summary.newRows} new rows${summary.newRows === 0 && summary.parsed > 0 ? ' (already stored: batches are named after the content)' : ''}\n`,
  );
  if (summary.lines > 0 && summary.parsed === 0) {
    process.stderr.write(
      `egresslens: 0 of ${summary.lines} lines parsed as ${config.format === 'auto' ? 'any known access-log format' : `--format ${config.format}`}; ` +
        `see why with "egresslens parse FILE | head", and give the log format with --format (a preset or the mesh's Envoy format string)\n`,
    );
    return 1;
  }
  return 0;
}

/** The store, or one line on who holds the directory and how to send them the lines instead. */
async function openForIngest(config: Config): Promise<Store> {
  const holder = config.clickhouse ? undefined : storeHolder(config.data);
  const held = (pid: number | undefined) => {
    const url = holder?.server?.url;
    return new UserError(
      url
        ? `${config.data} is held by a running egresslens serve (pid ${pid}); send the lines to it instead: ` +
            `curl -sS --data-binary @FILE -H 'Content-Type: text/plain' ${url}/v1/ingest/lines`
        : `${config.data} is in use by another egresslens process${pid ? ` (pid ${pid})` : ''}; wait for it to finish, or use another --data`,
    );
  };
  if (holder) throw held(holder.pid);
  try {
    return await openStore(config);
  } catch (err) {
    if (err instanceof StoreLockedError) throw held(undefined);
    throw err;
  }
}

/**
 * Each input through a pipeline of its own whose batch tokens come from the input's content (and the
 * settings that shape batches): ingesting a file again, a copy of it, or re-running after a crash produces
 * the same batches, which the store recognises and skips. Stdin cannot be read twice, so it gets fresh tokens.
 */
async function ingestInputs(
  store: Store,
  inputs: string[],
  config: Config,
  log: Logger,
  progress: boolean,
): Promise<IngestSummary> {
  const total: IngestSummary = { files: 0, bytes: 0, lines: 0, parsed: 0, deadLetters: 0, seconds: 0 };
  for (const input of inputs) {
    const pipeline = new IngestPipeline(
      store,
      pipelineOptions(config, {
        // One batch in the store, one filling: a file can always wait, so a deeper queue only costs memory.
        maxPendingBatches: Math.min(config.ingest.maxPendingBatches, 2),
        // Batches cut by size only, never by a timer, so that the same content always makes the same batches.
        flushIntervalMs: 2 ** 31 - 1,
        tokenPrefix: await contentToken(input, config),
      }),
      log,
    );
    const one = await ingestFiles(pipeline, [input], progress);
    await pipeline.close();
    total.files += one.files;
    total.bytes += one.bytes;
    total.lines += one.lines;
    total.parsed += one.parsed;
    total.deadLetters += one.deadLetters;
    total.seconds += one.seconds;
  }
  return total;
}

/** `file-<sha256 of the bytes and the batch-shaping settings>`; fresh for stdin. */
async function contentToken(input: string, config: Config): Promise<string> {
  const hash = createHash('sha256');
  if (input === '-') hash.update(`stdin:${randomUUID()}`);
  else await streamPipeline(createReadStream(input, { highWaterMark: 1 << 20 }), hash);
  hash.update(
    JSON.stringify([config.format, config.storeRaw, config.ingest.batchRows, config.ingest.batchBytes]),
  );
  return `file-${hash.digest('hex').slice(0, 32)}`;
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
    const raw = file === '-' ? dataStdin() : createReadStream(file, { highWaterMark: 1 << 20 });
    const counted = raw.pipe(
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          done(null, chunk);
        },
      }),
    );
    const pod = file === '-' ? undefined : podOfFile(file);
    const ctx: LineContext = {
      source: {
        source: 'file',
        namespace: pod?.namespace ?? '',
        pod: pod?.pod ?? '',
        container: pod?.container ?? '',
        workload: pod?.workload ?? '',
        node: '',
      },
      origin: file === '-' ? 'stdin' : file,
    };
    for await (const { buf, truncated } of lineChunks(maybeGunzip(counted))) {
      if (truncated) {
        pipeline.appendDeadLetter(`line longer than ${buf.length} bytes, cut`, buf.toString('utf8'), ctx);
      } else {
        pipeline.appendLines(buf, ctx);
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
