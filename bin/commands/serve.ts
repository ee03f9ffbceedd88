/** `egresslens serve`: ingest and API on one port, until SIGTERM/SIGINT, then a flush of what was accepted. */
import { accessSync, constants, mkdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { buildServer } from '../../api/server.js';
import type { WorkLimiter } from '../../api/work-limiter.js';
import { BatchJournal } from '../../ingest/journal/batch-journal.js';
import { KafkaConsumer } from '../../ingest/kafka/kafka-consumer.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { httpQueueDepth, pipelineOptions } from '../../ingest/pipeline-options.js';
import { registryLoader } from '../../reports/registry/registry-loader.js';
import { startSchedules } from '../../reports/scheduler.js';
import { type Config, checkExposure } from '../../schemas/config.js';
import { StoreLockedError } from '../../store/chdb-store.js';
import { dataDirLocked } from '../../store/data-dir-lock.js';
import { openStore } from '../../store/open-store.js';
import type { Store } from '../../store/store.js';
import { applyTtl } from '../apply-ttl.js';
import { checkFormat } from '../check-format.js';
import { exitOnAbort, startWatchdog } from '../fatal-exits.js';
import { advertiseServer } from '../server-advert.js';
import { describeStartupError, StartupError } from '../startup-error.js';

export const serveUsage = `usage: egresslens serve [options]

  --data DIR               embedded store directory (default ./data)
  --clickhouse-url URL     use a ClickHouse server instead (--clickhouse-user, --clickhouse-password, --clickhouse-database)
  --clickhouse-cluster NAME  create Replicated tables ON CLUSTER NAME with Distributed tables over them
  --host ADDR              listen address (default 127.0.0.1; anything else needs tokens or --insecure)
  --port N                 listen port (default 8080)
  --ingest-token TOKEN     bearer token for intake, POST /v1/ingest/* (env EGRESSLENS_INGEST_TOKEN)
  --read-token TOKEN       bearer token for reports, hosts, query, metrics, docs (env EGRESSLENS_READ_TOKEN)
  --auth-token TOKEN       one token for both roles, instead of the two above (env EGRESSLENS_AUTH_TOKEN)
  --insecure               allow a non-loopback --host without tokens
  --format SPEC            auto (default), json, a preset, or an Envoy format string
  --store-raw              keep each raw line in access_log.raw
  --ttl-days N             drop rows older than N days
  --registry PATH          ServiceEntry YAML (file or folder), repeatable
  --cluster-domain DOMAIN  the mesh's cluster DNS domain (default cluster.local; env EGRESSLENS_CLUSTER_DOMAIN):
                           names under it are in-mesh in every report, never suggested
  --journal DIR            answer HTTP intake once its rows are synced to this directory, not once stored;
                           what a crash leaves there is stored at the next start (env EGRESSLENS_JOURNAL_DIR)
  --kafka-brokers H:P,...  consume Fluent Bit's kafka output (--kafka-topic, --kafka-group)
  --config FILE            JSON or YAML config file; flags override it, env vars EGRESSLENS_* fill in`;

export async function runServe(config: Config): Promise<number> {
  checkExposure(config);
  checkFormat(config.format);
  const log = pino({ level: config.logLevel, base: { service: 'egresslens' } });
  // Signals are taken from the start: one that arrives while the Kafka consumer joins its group (which can
  // wait out a whole rebalance) must still end in the graceful stop below, not kill the process.
  const stopping = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping.signal.aborted) return;
    log.info({ signal }, 'shutting down: no new requests, flushing what was accepted');
    stopping.abort();
  };
  process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  let kafka: KafkaConsumer | undefined;
  const { store, pipeline, registry, app, limiter, address, advert } = await start(config, log, () =>
    kafka ? [kafka.pipeline] : [],
  );
  const watchdog = config.watchdogMs > 0 ? startWatchdog(config.watchdogMs) : undefined;
  const scheduler = startSchedules(config.schedules, {
    store,
    registry,
    log: log.child({ component: 'schedule' }),
    limiter,
    clusterDomain: config.reports.clusterDomain,
  });
  log.info(
    { address, store: store.kind, data: store.kind === 'embedded' ? config.data : config.clickhouse?.url },
    'egresslens is serving',
  );

  // Kafka: a consumer-group member with its own pipeline into the same store; stopped before the store closes.
  let kafkaFailed = false;
  if (config.kafka && !stopping.signal.aborted) {
    try {
      kafka = await KafkaConsumer.start({
        settings: config.kafka,
        store,
        log: log.child({ component: 'kafka' }),
        pipeline: { format: config.format, storeRaw: config.storeRaw },
        limits: {
          maxKeysPerRecord: config.ingest.maxKeysPerRecord,
          maxRecordsPerMessage: config.ingest.maxRecords,
          maxDepth: config.ingest.maxDepth,
        },
        onFatal: () => {
          kafkaFailed = true;
          process.kill(process.pid, 'SIGTERM');
        },
        signal: stopping.signal,
      });
    } catch (err) {
      kafkaFailed = true;
      log.error({ err }, 'the Kafka consumer did not start');
      process.stderr.write(`egresslens: ${(err as Error).message}\n`);
    }
  }

  if (!kafkaFailed && !stopping.signal.aborted)
    await new Promise<void>((resolve) =>
      stopping.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
  await kafka?.stop();
  scheduler.stop();
  await app.close();
  await pipeline.close();
  await store.close();
  advert?.remove();
  await watchdog?.stop();
  process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
  log.info({ stats: pipeline.stats }, 'stopped');
  // Everything accepted is stored and the store is closed; a client socket left open (a Kafka request that
  // waits on a rebalance) must not keep the process from exiting.
  setTimeout(() => process.exit(), 1000).unref();
  return kafkaFailed ? 1 : 0;
}

interface Started {
  store: Store;
  pipeline: IngestPipeline;
  registry: ReturnType<typeof registryLoader>;
  app: FastifyInstance;
  /** The server's cap on analytic work, which scheduled reports share. */
  limiter: WorkLimiter;
  address: string;
  advert: { remove(): void } | undefined;
}

/**
 * Opens the store, checks the registry and listens. A failure closes what was opened (so the process can
 * exit) and becomes a StartupError: one line on stderr, the stack only in the debug log.
 */
async function start(
  config: Config,
  log: Logger,
  /** Other intake pipelines (Kafka, once started) that /metrics counts too. */
  otherPipelines: () => IngestPipeline[],
): Promise<Started> {
  let store: Store | undefined;
  let pipeline: IngestPipeline | undefined;
  let app: FastifyInstance | undefined;
  let journal: BatchJournal | undefined;
  try {
    if (!config.clickhouse) {
      // Asked here, where the answer is one line; chDB would print its own multi-line error on stderr first.
      mkdirSync(config.data, { recursive: true });
      accessSync(config.data, constants.W_OK | constants.X_OK);
      if (dataDirLocked(config.data) === true) {
        throw new StoreLockedError(`the data directory ${config.data} is in use by another process`);
      }
    }
    store = await openStore(config);
    // serve owns the egress_requests view's cluster domain (the CLI commands leave it as it is).
    await store.migrate({ clusterDomain: config.reports.clusterDomain });
    exitOnAbort(); // after chDB is loaded: see fatal-exits.ts
    if (config.ttlDays) {
      const changed = await applyTtl(store, config.ttlDays);
      if (changed.length) log.info({ ttlDays: config.ttlDays, tables: changed }, 'applied the new TTL');
    }
    const journalDir = config.ingest.journalDir;
    journal = journalDir ? BatchJournal.open(journalDir) : undefined;
    pipeline = new IngestPipeline(
      store,
      pipelineOptions(config, { maxPendingBatches: httpQueueDepth(config), journal }),
      log.child({ component: 'ingest' }),
    );
    // Ahead of any new request: what an earlier process answered for but did not store.
    const replayed = pipeline.replayJournal();
    if (replayed)
      log.info({ batches: replayed, journal: journalDir }, 'storing the batches left in the intake journal');
    const registry = registryLoader(config.registry);
    await registry(); // a broken registry file fails the start, with the file named, not the first report
    let limiter: WorkLimiter;
    ({ app, limiter } = await buildServer({ config, store, pipeline, log, registry, otherPipelines }));
    const address = await app.listen({ host: config.host, port: config.port });
    // Tells the CLI on this data directory where to ask instead, and whether it needs the read token.
    const advert =
      store.kind === 'embedded'
        ? advertiseServer(
            config.data,
            address,
            config.authToken !== undefined || config.readToken !== undefined,
          )
        : undefined;
    return { store, pipeline, registry, app, limiter, address, advert };
  } catch (err) {
    log.debug({ err }, 'startup failed');
    await app?.close().catch(() => {});
    await pipeline?.close().catch(() => {});
    journal?.release();
    await store?.close().catch(() => {});
    throw new StartupError(describeStartupError(err, config));
  }
}
