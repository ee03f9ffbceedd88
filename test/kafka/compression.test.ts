import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { registerKafkaCodecs, undecodableBatch } from '../../ingest/kafka/kafka-codecs.js';
import { count, generatedLines } from '../helpers/lines.js';
import { consumeAll, createTopic, kafkaTestEnv, kcatProduce, produce, uniqueName } from './helpers.js';

const env = kafkaTestEnv('compression');
const require = createRequire(import.meta.url);

describe('compressed batches from librdkafka', () => {
  it('stores every line of gzip, snappy, lz4 and zstd batches', async () => {
    const topic = uniqueName('compressed');
    await createTopic(env.broker.admin, topic, 1);
    const lines = generatedLines(400, 21).map((g) => g.line);
    const codecs = ['gzip', 'snappy', 'lz4', 'zstd'];
    for (const [i, codec] of codecs.entries())
      await kcatProduce(env.broker.brokers, topic, lines.slice(i * 100, i * 100 + 100), 0, codec);
    const consumer = await consumeAll(env, topic);
    expect(consumer.stats.messages).toBe(400);
    expect(consumer.stats.undecodable).toBe(0);
    expect(await count(env.store, 'dead_letters')).toBe(0);
    expect(await count(env.store, 'access_log')).toBe(400);
  });

  it('turns undecodable-batch markers into dead letters with topic, partition and offset, and goes on', async () => {
    registerKafkaCodecs();
    const topic = uniqueName('undecodable');
    await createTopic(env.broker.admin, topic, 1);
    const marker = await markerValues(3);
    const good = generatedLines(5, 22).map((g) => g.line);
    await produce(env.broker.kafka, topic, [
      { partition: 0, value: good[0]! },
      ...marker.map((value) => ({ partition: 0, value })),
      ...good.slice(1).map((value) => ({ partition: 0, value })),
    ]);
    const consumer = await consumeAll(env, topic);
    expect(consumer.stats.undecodable).toBe(3);
    expect(await count(env.store, 'access_log')).toBe(5);
    const dead = await env.store.query<{
      reason: string;
      kafka_topic: string;
      kafka_partition: number;
      kafka_offset: string;
    }>(
      'SELECT reason, kafka_topic, kafka_partition, toString(kafka_offset) AS kafka_offset FROM dead_letters ORDER BY kafka_offset',
    );
    expect(dead.map((d) => [d.kafka_topic, d.kafka_partition, d.kafka_offset])).toEqual([
      [topic, 0, '1'],
      [topic, 0, '2'],
      [topic, 0, '3'],
    ]);
    for (const d of dead) expect(d.reason).toMatch(/^lz4 batch could not be decompressed: /);
  });
});

/**
 * A v2 RecordBatch of `n` records whose lz4 payload is corrupt, decoded by kafkajs' own decoder with the
 * registered codecs: returns the record values kafkajs hands the consumer.
 */
async function markerValues(n: number): Promise<Buffer[]> {
  const Decoder = require('kafkajs/src/protocol/decoder');
  const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder');
  const garbage = Buffer.from('this is not an lz4 frame at all, just bytes');
  const body = Buffer.alloc(4 + 1 + 4 + 2 + 4 + 8 + 8 + 8 + 2 + 4 + 4);
  let o = 0;
  o = body.writeInt32BE(0, o); // partition leader epoch
  o = body.writeInt8(2, o); // magic
  o = body.writeInt32BE(0, o); // crc (kafkajs does not check it)
  o = body.writeInt16BE(3, o); // attributes: lz4
  o = body.writeInt32BE(n - 1, o); // last offset delta
  o = body.writeBigInt64BE(BigInt(Date.now()), o);
  o = body.writeBigInt64BE(BigInt(Date.now()), o);
  o = body.writeBigInt64BE(-1n, o); // producer id
  o = body.writeInt16BE(-1, o);
  o = body.writeInt32BE(-1, o);
  body.writeInt32BE(n, o); // record count
  const records = Buffer.concat([body, garbage]);
  const head = Buffer.alloc(12);
  head.writeBigInt64BE(1000n, 0); // first offset
  head.writeInt32BE(records.length, 8);
  const batch = await decodeBatch(new Decoder(Buffer.concat([head, records])));
  expect(batch.records.map((r: { offset: string }) => r.offset)).toEqual(
    Array.from({ length: n }, (_, i) => String(1000 + i)),
  );
  const values = batch.records.map((r: { value: Buffer }) => r.value) as Buffer[];
  const first = undecodableBatch(values[0]!)!;
  expect(first.reason).toMatch(/^lz4 batch could not be decompressed: /);
  expect(Buffer.from(first.compressed, 'base64')).toEqual(garbage);
  expect(undecodableBatch(values[1]!)!.compressed).toBe('');
  return values;
}
