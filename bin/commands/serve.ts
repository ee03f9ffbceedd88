/** `egresslens serve`: ingest and API on one port, until SIGTERM/SIGINT, then a flush of what was accepted. */
import pino from 'pino';
import { buildServer } from '../../api/server.js';
import { KafkaConsumer } from '../../ingest/kafka-consumer.js';
import { IngestPipeline } from '../../ingest/pipeline.js';
import { httpQueueDepth, pipelineOptions } from '../../ingest/pipeline-options.js';
import { registryLoader } from '../../reports/registry-loader.js';
import { startSchedules } from '../../reports/scheduler.js';
import { type Config, checkExposure } from '../../schemas/config.js';
import { openStore } from '../../store/open-store.js';
import { applyTtl } from '../apply-ttl.js';
import { checkFormat } from '../check-format.js';
import { advertiseServer } from '../server-advert.js';

export const serveUsage = `usage: egresslens serve [options]

  --data DIR               embedded store directory (default ./data)
  --clickhouse-url URL     use a ClickHouse server instead (--clickhouse-user, --clickhouse-password, --clickhouse-database)
  --host ADDR              listen address (default 127.0.0.1; anything else needs --auth-token or --insecure)
  --port N                 listen port (default 8080)
  --auth-token TOKEN       require "Authorization: Bearer TOKEN" (env EGRESSLENS_AUTH_TOKEN)
  --format SPEC            auto (default), json, a preset, or an Envoy format string
  --store-raw              keep each raw line in access_log.raw
  --ttl-days N             drop rows older than N days
  --registry PATH          ServiceEntry YAML (file or folder), repeatable
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
  const store = await openStore(config);
  await store.migrate();
  if (config.ttlDays) {
    const changed = await applyTtl(store, config.ttlDays);
    if (changed.length) log.info({ ttlDays: config.ttlDays, tables: changed }, 'applied the new TTL');
  }
  const pipeline = new IngestPipeline(
    store,
    pipelineOptions(config, { maxPendingBatches: httpQueueDepth(config) }),
    log.child({ component: 'ingest' }),
  );
  const registry = registryLoader(config.registry);
  await registry(); // a broken registry file fails the start, with the file named, not the first report
  let kafka: KafkaConsumer | undefined;
  const { app } = await buildServer({
    config,
    store,
    pipeline,
    log,
    registry,
    // /metrics counts the Kafka intake too
    otherPipelines: () => (kafka ? [kafka.pipeline] : []),
  });
  const address = await app.listen({ host: config.host, port: config.port });
  const advert =
    store.kind === 'embedded'
      ? advertiseServer(config.data, address, config.authToken !== undefined)
      : undefined;
  const scheduler = startSchedules(config.schedules, {
    store,
    registry,
    log: log.child({ component: 'schedule' }),
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
  process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
  log.info({ stats: pipeline.stats }, 'stopped');
  // Everything accepted is stored and the store is closed; a client socket left open (a Kafka request that
  // waits on a rebalance) must not keep the process from exiting.
  setTimeout(() => process.exit(), 1000).unref();
  return kafkaFailed ? 1 : 0;
}
