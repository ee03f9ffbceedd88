/**
 * Shared by the Kafka integration tests: the real broker from scripts/kafka.sh, unique topics, producers
 * (kafkajs and kcat), Fluent Bit-shaped messages, and committed-offset polling.
 *
 * Several test files may run at once. Each file registers itself in a folder of markers; the broker is
 * stopped by the last file to finish, and only if a test file of this run started it.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encode } from '@msgpack/msgpack';
import { type Admin, Kafka, logLevel, type Message, Partitioners } from 'kafkajs';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { fluentKafkaRecord, KUBERNETES } from '../../bench/fluent-records.js';
import { type GeneratedLine, LineGenerator } from '../../bench/generate-lines.js';
import type { KafkaSettings } from '../../ingest/kafka/kafka-client.js';
import { KafkaConsumer, type KafkaConsumerOptions } from '../../ingest/kafka/kafka-consumer.js';
import { ChdbStore } from '../../store/chdb-store.js';

const run = promisify(execFile);
export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(REPO, 'scripts', 'kafka.sh');
const USERS = join(REPO, '.cache', 'kafka-test-users');
const STARTED_FLAG = join(USERS, 'started-by-tests');

export interface TestBroker {
  brokers: string[];
  kafka: Kafka;
  admin: Admin;
  release(): Promise<void>;
}

async function kafkaScript(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [SCRIPT, ...args], { timeout: 300_000, maxBuffer: 16 << 20 });
  return stdout.trim();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts the broker (or reuses a running one) and registers this test file as a user. */
export async function acquireBroker(): Promise<TestBroker> {
  mkdirSync(USERS, { recursive: true });
  const marker = join(USERS, String(process.pid));
  writeFileSync(marker, '');
  let wasRunning = true;
  try {
    await kafkaScript('status');
  } catch {
    wasRunning = false;
  }
  const address = await kafkaScript('start');
  if (!wasRunning) writeFileSync(STARTED_FLAG, '');
  const brokers = [address];
  const kafka = new Kafka({ clientId: 'egresslens-test', brokers, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  return {
    brokers,
    kafka,
    admin,
    async release() {
      // Test topics are unique per run; deleting them keeps the broker's data dir from growing.
      if (createdTopics.length) await admin.deleteTopics({ topics: createdTopics.splice(0) }).catch(() => {});
      await admin.disconnect().catch(() => {});
      rmSync(marker, { force: true });
      const others = readdirSync(USERS).filter((f) => /^\d+$/.test(f) && alive(Number(f)));
      if (others.length === 0 && existsSync(STARTED_FLAG)) {
        rmSync(STARTED_FLAG, { force: true });
        await kafkaScript('stop');
      }
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

const createdTopics: string[] = [];

export async function createTopic(
  admin: Admin,
  topic: string,
  partitions: number,
  config: Record<string, string> = {},
): Promise<void> {
  createdTopics.push(topic);
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic,
        numPartitions: partitions,
        replicationFactor: 1,
        configEntries: Object.entries(config).map(([name, value]) => ({ name, value })),
      },
    ],
  });
}

/** Sends messages with kafkajs, in requests of `chunk` messages. */
export async function produce(kafka: Kafka, topic: string, messages: Message[], chunk = 2000): Promise<void> {
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += chunk) {
      await producer.send({ topic, acks: -1, messages: messages.slice(i, i + chunk) });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Sends lines with kcat (librdkafka), one message per line, to one partition (or librdkafka's choice). */
export async function kcatProduce(
  brokers: string[],
  topic: string,
  lines: string[],
  partition?: number,
  /** `kcat -z`: one librdkafka batch (or a few) compressed as Fluent Bit's kafka output would. */
  codec?: string,
): Promise<void> {
  const args = ['-P', '-b', brokers.join(','), '-t', topic, '-X', 'message.max.bytes=10000000'];
  if (partition !== undefined) args.push('-p', String(partition));
  if (codec !== undefined) args.push('-z', codec);
  const child = spawn('kcat', args, { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const done = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stdin.end(`${lines.join('\n')}\n`);
  const code = await done;
  if (code !== 0) throw new Error(`kcat exited with ${code}: ${stderr}`);
}

/** Sum over partitions of (high watermark) for the topic. */
export async function endOffsets(admin: Admin, topic: string): Promise<Map<number, number>> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return new Map(offsets.map((o) => [o.partition, Number(o.high)]));
}

export interface Committed {
  offset: number;
  metadata: string | null;
}

export async function committedOffsets(
  admin: Admin,
  group: string,
  topic: string,
): Promise<Map<number, Committed>> {
  const result = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  const map = new Map<number, Committed>();
  for (const p of result[0]?.partitions ?? [])
    map.set(p.partition, { offset: Number(p.offset), metadata: p.metadata });
  return map;
}

/** Committed messages in total (a partition without a commit counts 0). */
export async function committedTotal(admin: Admin, group: string, topic: string): Promise<number> {
  let n = 0;
  for (const c of (await committedOffsets(admin, group, topic)).values()) n += Math.max(0, c.offset);
  return n;
}

/** True when every partition's committed offset is at its end, and nothing is left in flight. */
export async function fullyCommitted(admin: Admin, group: string, topic: string): Promise<boolean> {
  const ends = await endOffsets(admin, topic);
  const committed = await committedOffsets(admin, group, topic);
  for (const [partition, end] of ends) {
    const c = committed.get(partition);
    if (end === 0) continue;
    if (!c || c.offset !== end || (c.metadata ?? '') !== '') return false;
  }
  return true;
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export { KUBERNETES };

/** Fluent Bit kafka output `format json`: @timestamp first, the line in `log`, the kubernetes map. */
export function fluentJsonRecord(line: string, i: number): Record<string, unknown> {
  return fluentKafkaRecord(line, 1_764_000_000 + i / 1000);
}

export function fluentJson(line: string, i: number): Buffer {
  return Buffer.from(JSON.stringify(fluentJsonRecord(line, i)));
}

/** Fluent Bit kafka output `format msgpack`: the same record map as msgpack. */
export function fluentMsgpack(line: string, i: number): Buffer {
  return Buffer.from(encode(fluentJsonRecord(line, i)));
}

export interface Traffic {
  messages: Message[];
  /** Messages that must become access_log rows / dead letters. */
  good: number;
  bad: number;
  requestIds: number;
}

/**
 * `n` messages spread round-robin over `partitions`: generated Istio lines as Fluent Bit json (60 %),
 * msgpack (20 %) and raw lines (20 %), and every `junkEvery`-th message undecodable or unparsable.
 */
export function traffic(
  n: number,
  partitions: number,
  opts: { seed?: number; junkEvery?: number } = {},
): Traffic {
  const gen = new LineGenerator({ seed: opts.seed ?? 11 });
  const junkEvery = opts.junkEvery ?? 0;
  const messages: Message[] = [];
  let good = 0;
  let bad = 0;
  let requestIds = 0;
  for (let i = 0; i < n; i++) {
    const partition = i % partitions;
    if (junkEvery > 0 && i % junkEvery === junkEvery - 1) {
      messages.push({ partition, value: junk(i) });
      bad++;
      continue;
    }
    const g: GeneratedLine = gen.next();
    if (hasRequestId(g.line)) requestIds++;
    const kind = i % 5;
    const value =
      kind < 3 ? fluentJson(g.line, i) : kind === 3 ? fluentMsgpack(g.line, i) : Buffer.from(g.line);
    messages.push({ partition, value });
    good++;
  }
  return { messages, good, bad, requestIds };
}

function hasRequestId(line: string): boolean {
  return !line.includes('"- - -"');
}

/** Five kinds of bad message in turn: unparsable line, invalid JSON, invalid msgpack, empty, record without a line. */
function junk(i: number): Buffer | null {
  switch (Math.floor(i / 7) % 5) {
    case 0:
      return Buffer.from(`this is not an access log line #${i}`);
    case 1:
      return Buffer.from(
        `{"@timestamp":1764000000.5,"log":"[2025-11-24T16:00:00.000Z] \\"GET / HTTP/1.1\\" 200 #${i}`,
      );
    case 2:
      return Buffer.from([0x83, 0xa3, 0x6c, 0x6f, 0x67, 0xc1, 0xff, 0x00, i & 0xff]);
    case 3:
      return i % 2 ? Buffer.alloc(0) : null;
    default:
      return Buffer.from(
        JSON.stringify({
          '@timestamp': 1_764_000_000,
          stream: 'stdout',
          kubernetes: KUBERNETES,
          note: `no line ${i}`,
        }),
      );
  }
}

/**
 * One test file's setting: the broker (acquired before its tests, released after) and an embedded store in a
 * directory of its own, emptied before each test unless told otherwise.
 */
export interface KafkaTestEnv {
  broker: TestBroker;
  store: ChdbStore;
  /** The file's own temporary directory (the store lives in `data/` inside it). */
  dir: string;
  /** Consumer settings for this broker. */
  settings(topic: string, group: string): KafkaSettings;
}

/** Runs a consumer (with `limits`, if given) until its group has committed the whole topic. */
export async function consumeAll(
  env: KafkaTestEnv,
  topic: string,
  limits?: KafkaConsumerOptions['limits'],
): Promise<KafkaConsumer> {
  const group = uniqueName('group');
  const consumer = await KafkaConsumer.start({
    settings: env.settings(topic, group),
    store: env.store,
    minBytes: 1,
    maxWaitTimeMs: 100,
    ...(limits ? { limits } : {}),
  });
  try {
    await waitFor('everything committed', () => fullyCommitted(env.broker.admin, group, topic), 60_000, 100);
  } finally {
    await consumer.stop();
  }
  return consumer;
}

export function kafkaTestEnv(name: string, opts: { emptyBetweenTests?: boolean } = {}): KafkaTestEnv {
  const dir = mkdtempSync(join(tmpdir(), `egresslens-kafka-${name}-`));
  const env = {
    dir,
    settings: (topic: string, group: string): KafkaSettings => ({
      brokers: env.broker.brokers,
      topic,
      group,
      clientId: 'egresslens-test',
      ssl: false,
      fromBeginning: true,
    }),
  } as KafkaTestEnv;
  beforeAll(async () => {
    env.broker = await acquireBroker();
    env.store = ChdbStore.open(join(dir, 'data'));
    await env.store.migrate();
  });
  afterAll(async () => {
    await env.store?.close();
    await env.broker?.release();
    rmSync(dir, { recursive: true, force: true });
  });
  if (opts.emptyBetweenTests !== false) {
    beforeEach(async () => {
      await env.store.command('TRUNCATE TABLE access_log');
      await env.store.command('TRUNCATE TABLE dead_letters');
    });
  }
  return env;
}
