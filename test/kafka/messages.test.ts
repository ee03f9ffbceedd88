/**
 * What the consumer makes of each kind of message: Fluent Bit json and msgpack records (with their pod),
 * raw lines, records Fluent Bit already parsed, lines produced by kcat (librdkafka, a producer we did not
 * write); and of bad ones: invalid JSON or msgpack, empty, records without a line, 5 MB messages, which
 * become dead letters with their topic/partition/offset while consumption goes on. Plus the start-up errors.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { KafkaStartError } from '../../ingest/kafka/kafka-client.js';
import { KafkaConsumer } from '../../ingest/kafka/kafka-consumer.js';
import { istioLine } from '../helpers/istio-line.js';
import { count, generatedLines } from '../helpers/lines.js';
import {
  consumeAll,
  createTopic,
  fluentJson,
  fluentMsgpack,
  KUBERNETES,
  kafkaTestEnv,
  kcatProduce,
  produce,
  REPO,
  uniqueName,
} from './helpers.js';

const env = kafkaTestEnv('messages');

const line = (requestId: string, extra: Partial<Parameters<typeof istioLine>[0]> = {}) =>
  istioLine({
    ts: '2025-11-24T16:00:00.123Z',
    method: 'GET',
    path: '/v1/items',
    protocol: 'HTTP/1.1',
    code: 200,
    details: 'via_upstream',
    bytesIn: 0,
    bytesOut: 512,
    duration: 12,
    upstreamServiceTime: 11,
    ua: 'curl/8.8.0',
    requestId,
    authority: 'api.example.com',
    upstreamHost: '93.184.215.14:443',
    cluster: 'PassthroughCluster',
    upstreamLocal: '10.244.7.21:40118',
    downstreamLocal: '93.184.215.14:443',
    downstreamRemote: '10.244.7.21:40116',
    route: 'allow_any',
    ...extra,
  });

interface Row {
  request_id: string;
  source: string;
  k8s_namespace: string;
  k8s_pod: string;
  k8s_container: string;
  k8s_workload: string;
  k8s_node: string;
  response_code: number | null;
  authority: string;
  path: string;
}

async function rowsById(): Promise<Map<string, Row>> {
  const rows = await env.store.query<Row>(
    'SELECT request_id, source, k8s_namespace, k8s_pod, k8s_container, k8s_workload, k8s_node, response_code, authority, path FROM access_log',
  );
  return new Map(rows.map((r) => [r.request_id, r]));
}

describe('Kafka messages', () => {
  it('stores Fluent Bit json and msgpack records, raw lines, pre-parsed records and kcat lines', async () => {
    const topic = uniqueName('formats');
    await createTopic(env.broker.admin, topic, 2);
    const preParsed = {
      '@timestamp': 1_764_000_000.25,
      start_time: '2025-11-24T16:00:01.000Z',
      method: 'POST',
      path: '/parsed',
      protocol: 'HTTP/1.1',
      code: '503',
      response_flags: 'UF',
      bytes_received: '0',
      bytes_sent: '91',
      duration: '7',
      x_envoy_upstream_service_time: '-',
      x_forwarded_for: '-',
      user_agent: 'curl/8.8.0',
      request_id: 'req-parsed',
      authority: 'parsed.example.com',
      upstream_host: '1.2.3.4:80',
      kubernetes: KUBERNETES,
    };
    await produce(env.broker.kafka, topic, [
      { partition: 0, value: fluentJson(line('req-json'), 1) },
      { partition: 0, value: fluentMsgpack(line('req-msgpack'), 2) },
      { partition: 1, value: Buffer.from(line('req-raw')) },
      { partition: 1, value: Buffer.from(`${line('req-multi-1')}\n${line('req-multi-2')}\n`) },
      {
        partition: 1,
        value: Buffer.from(
          JSON.stringify({
            '@timestamp': '2025-11-24T16:00:00.000000Z',
            message: line('req-message'),
            kubernetes: { ...KUBERNETES, namespace_name: 'payments' },
          }),
        ),
      },
      { partition: 0, value: Buffer.from(JSON.stringify(preParsed)) },
      {
        partition: 0,
        value: Buffer.from(
          encode({ '@timestamp': 1_764_000_000.5, log: line('req-msgpack-bin'), kubernetes: KUBERNETES }),
        ),
      },
    ]);
    const kcatLines = generatedLines(300, 9).map((g) => g.line);
    await kcatProduce(env.broker.brokers, topic, kcatLines, 1);

    const consumer = await consumeAll(env, topic);
    expect(consumer.stats.messages).toBe(7 + kcatLines.length);
    expect(await count(env.store, 'dead_letters')).toBe(0);
    expect(await count(env.store, 'access_log')).toBe(8 + kcatLines.length);

    const rows = await rowsById();
    const pod = {
      source: 'kafka',
      k8s_namespace: 'shop',
      k8s_pod: KUBERNETES.pod_name,
      k8s_container: 'istio-proxy',
      k8s_workload: 'checkout',
      k8s_node: 'node-1',
    };
    const none = {
      source: 'kafka',
      k8s_namespace: '',
      k8s_pod: '',
      k8s_container: '',
      k8s_workload: '',
      k8s_node: '',
    };
    expect(rows.get('req-json')).toMatchObject({
      ...pod,
      response_code: 200,
      authority: 'api.example.com',
      path: '/v1/items',
    });
    expect(rows.get('req-msgpack')).toMatchObject(pod);
    expect(rows.get('req-msgpack-bin')).toMatchObject(pod);
    expect(rows.get('req-raw')).toMatchObject(none);
    expect(rows.get('req-multi-1')).toMatchObject(none);
    expect(rows.get('req-multi-2')).toMatchObject(none);
    expect(rows.get('req-message')).toMatchObject({ ...pod, k8s_namespace: 'payments' });
    expect(rows.get('req-parsed')).toMatchObject({
      ...pod,
      response_code: 503,
      authority: 'parsed.example.com',
      path: '/parsed',
    });
    const fromKcat = await count(env.store, 'access_log', "source = 'kafka' AND k8s_pod = ''");
    expect(fromKcat).toBe(3 + kcatLines.length);
  }, 90_000);

  it('keeps undecodable and oversized messages as dead letters with their offsets, and goes on', async () => {
    const topic = uniqueName('bad');
    // Room for 5 MB messages on the topic (the producer needs nothing more: kafkajs has no client limit).
    await createTopic(env.broker.admin, topic, 1, { 'max.message.bytes': String(8 << 20) });
    const fiveMb = 5 << 20;
    const bad: Array<{ value: Buffer | null; reason: RegExp }> = [
      {
        value: Buffer.from('{"@timestamp":1764000000.1,"log":"[2025-11-24T16:00:00.000Z] \\"GET'),
        reason: /invalid JSON/,
      },
      { value: Buffer.from([0x82, 0xa3, 0x6c, 0x6f, 0x67, 0xc1, 0x00]), reason: /invalid msgpack/ },
      { value: Buffer.from([0x81, 0xa3, 0x6c, 0x6f, 0x67]), reason: /invalid msgpack/ },
      { value: Buffer.alloc(0), reason: /empty Kafka message/ },
      { value: null, reason: /empty Kafka message/ },
      { value: Buffer.from(' \n\t\n'), reason: /empty Kafka message/ },
      {
        value: Buffer.from(
          JSON.stringify({ '@timestamp': 1_764_000_000, kubernetes: KUBERNETES, stream: 'stdout' }),
        ),
        reason: /no "log" or "message"/,
      },
      { value: Buffer.from('["not","a","record"]'), reason: /./ },
      { value: Buffer.from('definitely not an access log line'), reason: /./ },
      { value: Buffer.alloc(fiveMb, 'x'), reason: /over the .*-byte limit/ },
      {
        value: Buffer.from(
          JSON.stringify({ '@timestamp': 1_764_000_000, log: `${line('req-huge')} ${'y'.repeat(fiveMb)}` }),
        ),
        reason: /over the .*-byte limit/,
      },
    ];
    const good = [line('req-before'), line('req-between'), line('req-after')];
    await produce(
      env.broker.kafka,
      topic,
      [
        { value: fluentJson(good[0]!, 0) },
        ...bad.slice(0, 6).map((b) => ({ value: b.value })),
        { value: fluentJson(good[1]!, 1) },
        ...bad.slice(6).map((b) => ({ value: b.value })),
      ],
      1,
    );
    // kcat too: a junk line, then a good one after it.
    await kcatProduce(env.broker.brokers, topic, ['kcat junk that is not an access log', good[2]!]);
    const expectedDead = bad.length + 1;

    const consumer = await consumeAll(env, topic);
    expect(consumer.stats.messages).toBe(good.length + expectedDead);
    expect(await count(env.store, 'access_log')).toBe(good.length);
    expect([...(await rowsById()).keys()].sort()).toEqual(['req-after', 'req-before', 'req-between']);

    const dead = await env.store.query<{
      reason: string;
      kafka_topic: string;
      kafka_partition: number;
      kafka_offset: string | number;
      len: number;
    }>(
      'SELECT reason, kafka_topic, kafka_partition, kafka_offset, length(raw) AS len FROM dead_letters ORDER BY kafka_offset',
    );
    expect(dead).toHaveLength(expectedDead);
    // Offsets as produced: good(0), bad 0-5 (1-6), good(7), bad 6-10 (8-12), kcat junk (13), kcat good (14).
    const expectedOffsets = [1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13];
    expect(dead.map((d) => Number(d.kafka_offset))).toEqual(expectedOffsets);
    expect(dead.every((d) => d.kafka_topic === topic && Number(d.kafka_partition) === 0)).toBe(true);
    for (const [i, b] of bad.entries()) expect(dead[i]!.reason).toMatch(b.reason);
    expect(Math.max(...dead.map((d) => Number(d.len)))).toBeLessThanOrEqual(64 << 10);
  }, 90_000);

  it('holds msgpack records to the configured ingest.maxDepth, as HTTP intake does', async () => {
    const topic = uniqueName('deep');
    await createTopic(env.broker.admin, topic, 1);
    // Four levels of maps (record → kubernetes → labels → x) pass the default of 64 but not a limit of 3.
    const deep = Buffer.from(
      encode({ log: line('req-deep'), kubernetes: { labels: { x: { y: 1 } } }, stream: 'stdout' }),
    );
    await produce(
      env.broker.kafka,
      topic,
      [{ value: fluentMsgpack(line('req-shallow'), 0) }, { value: deep }],
      1,
    );
    await consumeAll(env, topic, { maxDepth: 3 });
    expect([...(await rowsById()).keys()]).toEqual(['req-shallow']);
    const dead = await env.store.query<{ reason: string }>('SELECT reason FROM dead_letters');
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/nested more than 3 levels deep/);
  }, 90_000);

  it('fails to start with a message naming the brokers and the topic', async () => {
    const missing = uniqueName('missing');
    const unreachable = KafkaConsumer.start({
      settings: { ...env.settings(missing, 'g'), brokers: ['127.0.0.1:1'] },
      store: env.store,
    });
    await expect(unreachable).rejects.toThrow(KafkaStartError);
    await expect(unreachable).rejects.toThrow(
      /cannot reach Kafka brokers 127\.0\.0\.1:1 \(for topic missing-/,
    );

    const noTopic = KafkaConsumer.start({ settings: env.settings(missing, 'g'), store: env.store });
    await expect(noTopic).rejects.toThrow(
      new RegExp(`the Kafka topic ${missing} does not exist on Kafka brokers ${env.broker.brokers[0]}`),
    );
  }, 60_000);

  it('`egresslens serve` exits with that message when the topic is missing', async () => {
    const cli = join(REPO, 'dist', 'bin', 'egresslens.js');
    expect(existsSync(cli), 'run `npm run build` first').toBe(true);
    const missing = uniqueName('missing');
    const child = spawn(
      process.execPath,
      [
        cli,
        'serve',
        '--data',
        join(env.dir, 'cli'),
        '--port',
        '0',
        '--kafka-brokers',
        env.broker.brokers[0]!,
        '--kafka-topic',
        missing,
        '--log-level',
        'fatal',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain(`the Kafka topic ${missing} does not exist`);
  }, 60_000);
});
