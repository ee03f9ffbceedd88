/**
 * The kafkajs client for the `kafka` config section (TLS and SASL passed through, kafkajs logs into pino),
 * and the start-up check that turns "broker unreachable" and "topic missing" into one clear sentence that
 * names the brokers and the topic.
 */
import { type Admin, Kafka, type LogEntry, logLevel, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { Config } from '../../schemas/config.js';
import { registerKafkaCodecs } from './kafka-codecs.js';

export type KafkaSettings = NonNullable<Config['kafka']>;

/** Kafka could not be used as configured; the message says what to fix. */
export class KafkaStartError extends Error {
  override name = 'KafkaStartError';
}

export function createKafka(settings: KafkaSettings, log?: Logger): Kafka {
  registerKafkaCodecs();
  const sasl: SASLOptions | undefined = settings.sasl
    ? ({
        mechanism: settings.sasl.mechanism,
        username: settings.sasl.username,
        password: settings.sasl.password,
      } as SASLOptions)
    : undefined;
  return new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: 5000,
    requestTimeout: 30_000,
    retry: { initialRetryTime: 300, retries: 8 },
    logLevel: log ? logLevel.INFO : logLevel.NOTHING,
    logCreator: () => (entry: LogEntry) => {
      if (!log) return;
      const {
        message,
        timestamp: _t,
        logger: _l,
        ...extra
      } = entry.log as unknown as Record<string, unknown>;
      const fields = { kafkajs: entry.namespace, ...extra };
      const text = String(message);
      switch (entry.level) {
        case logLevel.ERROR:
          log.error(fields, text);
          break;
        case logLevel.WARN:
          log.warn(fields, text);
          break;
        case logLevel.INFO:
          log.info(fields, text);
          break;
        default:
          log.debug(fields, text);
      }
    },
  });
}

/**
 * Connects an admin client and makes sure the topic exists; returns its partition count. Throws
 * KafkaStartError naming the brokers and the topic when either is missing.
 */
export async function checkTopic(admin: Admin, settings: KafkaSettings): Promise<number> {
  const where = `Kafka brokers ${settings.brokers.join(',')}`;
  try {
    await admin.connect();
  } catch (err) {
    throw new KafkaStartError(
      `cannot reach ${where} (for topic ${settings.topic}): ${(err as Error).message}${settings.ssl ? '' : ' (TLS is off: set kafka.ssl if the brokers expect it)'}`,
    );
  }
  let topics: string[];
  try {
    topics = await admin.listTopics();
  } catch (err) {
    throw new KafkaStartError(`cannot list the topics on ${where}: ${(err as Error).message}`);
  }
  if (!topics.includes(settings.topic)) {
    throw new KafkaStartError(
      `the Kafka topic ${settings.topic} does not exist on ${where}: create it, or give --kafka-topic (kafka.topic) the topic Fluent Bit's kafka output writes to (its "topics" setting)`,
    );
  }
  const meta = await admin.fetchTopicMetadata({ topics: [settings.topic] });
  return meta.topics[0]?.partitions.length ?? 0;
}
