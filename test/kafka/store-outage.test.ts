import { describe, expect, it } from 'vitest';
import { KafkaConsumer } from '../../ingest/kafka/kafka-consumer.js';
import { type InsertRequest, StoreUnavailableError } from '../../store/store.js';
import { FaultyStore } from '../helpers/faulty-store.js';
import { count } from '../helpers/lines.js';
import {
  committedOffsets,
  committedTotal,
  createTopic,
  fullyCommitted,
  kafkaTestEnv,
  produce,
  sleep,
  traffic,
  uniqueName,
  waitFor,
} from './helpers.js';

const env = kafkaTestEnv('outage');

/** Every good line stored once and every bad one kept as a dead letter: no request id twice, exact totals. */
async function expectStoredExactlyOnce(t: { good: number; bad: number }): Promise<void> {
  const duplicates = await env.store.query(
    "SELECT request_id, count() AS n FROM access_log WHERE request_id != '' GROUP BY request_id HAVING n > 1 LIMIT 5",
  );
  expect(duplicates).toEqual([]);
  expect(await count(env.store, 'access_log')).toBe(t.good);
  expect(await count(env.store, 'dead_letters')).toBe(t.bad);
}

describe('Kafka consumer and an unavailable store', () => {
  it('pauses without committing while the store is down, then stores everything exactly once', async () => {
    const topic = uniqueName('outage');
    const group = uniqueName('outage-group');
    await createTopic(env.broker.admin, topic, 2);
    const t = traffic(20_000, 2, { seed: 21, junkEvery: 97 });
    await produce(env.broker.kafka, topic, t.messages, 1000);

    const faulty = new FaultyStore(env.store);
    const consumer = await KafkaConsumer.start({
      settings: env.settings(topic, group),
      store: faulty,
      maxBytesPerPartition: 96 << 10,
      minBytes: 1,
      pipeline: { retryBaseMs: 20, retryMaxMs: 200 },
      pauseAfterMs: 300,
      resumeCheckMs: 50,
    });
    try {
      await waitFor(
        'a first commit',
        async () => (await committedTotal(env.broker.admin, group, topic)) > 0,
        60_000,
        10,
      );
      faulty.down = true;
      await waitFor('the consumer to pause', () => consumer.isPaused, 30_000, 20);
      await sleep(300);
      const before = await committedOffsets(env.broker.admin, group, topic);
      const consumed = consumer.stats.messages;
      await sleep(2500);
      const after = await committedOffsets(env.broker.admin, group, topic);
      expect(after).toEqual(before);
      expect(consumer.isPaused).toBe(true);
      expect(consumer.stats.messages).toBe(consumed);
      const committedWhileDown = [...after.values()].reduce((n, c) => n + Math.max(0, c.offset), 0);
      expect(committedWhileDown).toBeLessThan(t.messages.length);
      faulty.down = false;
      await waitFor(
        'everything committed',
        () => fullyCommitted(env.broker.admin, group, topic),
        90_000,
        100,
      );
      expect(consumer.stats.pauses).toBeGreaterThanOrEqual(1);
      expect(consumer.stats.resumes).toBeGreaterThanOrEqual(1);
    } finally {
      await consumer.stop();
    }
    await expectStoredExactlyOnce(t);
  }, 180_000);

  it('does not store twice a range whose acknowledgement was lost, when the partition is read again', async () => {
    const topic = uniqueName('lost-ack');
    const group = uniqueName('lost-ack-group');
    await createTopic(env.broker.admin, topic, 1);
    const t = traffic(6000, 1, { seed: 33, junkEvery: 50 });
    // Small producer batches, so that fetch sizes decide where ranges end (a fetch returns whole batches).
    await produce(env.broker.kafka, topic, t.messages, 50);

    // The first insert reaches the store, then the store "goes down" before the reply: the consumer never
    // learns that its range was stored.
    class WrittenThenDown extends FaultyStore {
      override async insert(req: InsertRequest): Promise<void> {
        await super.insert(req);
        this.down = true;
        throw new StoreUnavailableError('injected: written, then the store went down before replying');
      }
    }
    const first = new WrittenThenDown(env.store);
    const a = await KafkaConsumer.start({
      settings: env.settings(topic, group),
      store: first,
      maxBytesPerPartition: 64 << 10,
      minBytes: 1,
      pipeline: { retryBaseMs: 20, retryMaxMs: 100 },
    });
    await waitFor('the first insert', () => first.inserts > 0, 60_000, 10);
    await a.stop(300);
    const planned = (await committedOffsets(env.broker.admin, group, topic)).get(0);
    expect(planned?.offset).toBe(0);
    expect(planned?.metadata).toMatch(/^egresslens\/1 0-\d+/);
    const partlyStored = await count(env.store, 'access_log');
    expect(partlyStored).toBeGreaterThan(0);

    // A new member with 16x the fetch size would cut other ranges; it must replay the planned one.
    const b = await KafkaConsumer.start({
      settings: env.settings(topic, group),
      store: env.store,
      maxBytesPerPartition: 1 << 20,
      minBytes: 1,
    });
    try {
      await waitFor(
        'everything committed',
        () => fullyCommitted(env.broker.admin, group, topic),
        60_000,
        100,
      );
      expect(b.stats.replayedRanges).toBeGreaterThanOrEqual(1);
    } finally {
      await b.stop();
    }
    await expectStoredExactlyOnce(t);
  }, 120_000);
});
