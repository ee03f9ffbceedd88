import type { Message } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { KafkaConsumer, type KafkaJoin } from '../../ingest/kafka/kafka-consumer.js';
import { count } from '../helpers/lines.js';
import {
  createTopic,
  fullyCommitted,
  kafkaTestEnv,
  produce,
  traffic,
  uniqueName,
  waitFor,
} from './helpers.js';

const env = kafkaTestEnv('scale');

describe('Kafka consumers in one group', () => {
  it('split the partitions, hand them over when one leaves, and store every message once', async () => {
    const topic = uniqueName('scale');
    const group = uniqueName('scale-group');
    const PARTITIONS = 4;
    await createTopic(env.broker.admin, topic, PARTITIONS);
    const t = traffic(60_000, PARTITIONS, { seed: 77, junkEvery: 150 });
    const phase = (from: number, to: number): Message[] => t.messages.slice(from, to);

    const settings = env.settings(topic, group);
    const options = {
      settings,
      store: env.store,
      maxBytesPerPartition: 128 << 10,
      minBytes: 1,
      maxWaitTimeMs: 200,
      sessionTimeoutMs: 10_000,
    };
    const joins: KafkaJoin[] = [];

    await produce(env.broker.kafka, topic, phase(0, 10_000), 400);
    const a = await KafkaConsumer.start(options);
    a.on('join', (j: KafkaJoin) => joins.push(j));
    let b: KafkaConsumer | undefined;
    try {
      await waitFor('a to join', () => a.assignment.length === PARTITIONS, 30_000, 20);
      b = await KafkaConsumer.start(options);
      const split = () =>
        a.assignment.length > 0 &&
        (b?.assignment.length ?? 0) > 0 &&
        a.assignment.length + (b?.assignment.length ?? 0) === PARTITIONS;
      await waitFor('the partitions to be split', split, 60_000, 20);
      // Assignments come from each member's GROUP_JOIN event.
      expect([...a.assignment, ...b.assignment].sort()).toEqual([0, 1, 2, 3]);
      expect(b.stats.joins).toBeGreaterThanOrEqual(1);
      const aBefore = a.stats.messages;
      const bBefore = b.stats.messages;

      // Traffic while both consume: both take a share.
      await produce(env.broker.kafka, topic, phase(10_000, 40_000), 400);
      await waitFor('phase 2 committed', () => fullyCommitted(env.broker.admin, group, topic), 90_000, 100);
      expect(a.stats.messages).toBeGreaterThan(aBefore);
      expect(b.stats.messages).toBeGreaterThan(bBefore);

      // b leaves while traffic continues; a takes all partitions over.
      const producing = produce(env.broker.kafka, topic, phase(40_000, 60_000), 200);
      await b.stop();
      await producing;
      await waitFor('a to own all partitions', () => a.assignment.length === PARTITIONS, 60_000, 20);
      await waitFor(
        'everything committed',
        () => fullyCommitted(env.broker.admin, group, topic),
        90_000,
        100,
      );
    } finally {
      await b?.stop();
      await a.stop();
    }

    // a rejoined with a share when b came, and with everything when b left.
    expect(joins.some((j) => j.partitions.length > 0 && j.partitions.length < PARTITIONS)).toBe(true);
    expect(joins[joins.length - 1]?.partitions).toEqual([0, 1, 2, 3]);
    const dupes = await env.store.query(
      "SELECT request_id, count() AS n FROM access_log WHERE request_id != '' GROUP BY request_id HAVING n > 1 LIMIT 5",
    );
    expect(dupes).toEqual([]);
    expect(await count(env.store, 'access_log')).toBe(t.good);
    expect(await count(env.store, 'dead_letters')).toBe(t.bad);
  }, 240_000);
});
