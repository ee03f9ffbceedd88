/**
 * Kafka ingest benchmark, one run on the same generated lines:
 *   (a) file path: `egresslens ingest FILE` in a child process
 *   (b) Kafka path: a topic holding the lines as Fluent Bit `kafka` output records (format json: @timestamp
 *       first, the line in `log`, the kubernetes map), produced by kcat (librdkafka, as Fluent Bit uses);
 *       a child `egresslens serve` consumes it until the group's committed offsets reach the end
 * Both are wall times of the child process from spawn, into a fresh embedded store. Prints both rates and
 * their ratio (target ≥ 0.7).
 *
 *   npm run build && npm run bench:kafka            (BENCH_LINES=1000000, BENCH_PARTITIONS=3)
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { fluentKafkaRecord } from './fluent-records.js';
import { LineGenerator } from './generate-lines.js';
import { CLI, runCli } from './run-child.js';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const REPO = new URL('../..', import.meta.url).pathname;
const PRELOAD = join(REPO, 'dist', 'bench', 'report-rss.js');
const KAFKA_SH = join(REPO, 'scripts', 'kafka.sh');
const run = promisify(execFile);

const work = mkdtempSync(join(tmpdir(), 'egresslens-bench-kafka-'));

/** Writes the raw lines (file path) and the Fluent Bit records, one JSON per line (for kcat), side by side. */
async function writeInputs(
  linesFile: string,
  recordsFile: string,
): Promise<{ lineBytes: number; recordBytes: number }> {
  const lines = createWriteStream(linesFile);
  const records = createWriteStream(recordsFile);
  const gen = new LineGenerator({ seed: 7 });
  let lineBytes = 0;
  let recordBytes = 0;
  let a: string[] = [];
  let b: string[] = [];
  const t0 = 1_764_000_000;
  for (let i = 0; i < LINES; i++) {
    const line = gen.next().line;
    a.push(line);
    b.push(JSON.stringify(fluentKafkaRecord(line, t0 + i / 1000)));
    if (a.length === 10_000 || i === LINES - 1) {
      const x = `${a.join('\n')}\n`;
      const y = `${b.join('\n')}\n`;
      lineBytes += Buffer.byteLength(x);
      recordBytes += Buffer.byteLength(y);
      a = [];
      b = [];
      // Both drain listeners are set before waiting: either stream may drain first.
      const waits: Promise<unknown>[] = [];
      if (!lines.write(x)) waits.push(once(lines, 'drain'));
      if (!records.write(y)) waits.push(once(records, 'drain'));
      await Promise.all(waits);
    }
  }
  lines.end();
  records.end();
  await Promise.all([once(lines, 'finish'), once(records, 'finish')]);
  return { lineBytes, recordBytes };
}

async function kafkaScript(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [KAFKA_SH, ...args], { timeout: 300_000 });
  return stdout.trim();
}

async function kcatProduceFile(brokers: string, topic: string, file: string): Promise<void> {
  // -l: one message per line of the file. Batching like a busy Fluent Bit.
  await run(
    'kcat',
    [
      '-P',
      '-b',
      brokers,
      '-t',
      topic,
      '-l',
      '-X',
      'linger.ms=20',
      '-X',
      'batch.size=1000000',
      '-X',
      'queue.buffering.max.kbytes=1048576',
      file,
    ],
    {
      timeout: 600_000,
      maxBuffer: 16 << 20,
    },
  );
}

async function committedEverything(admin: Admin, group: string, topic: string): Promise<boolean> {
  const ends = await admin.fetchTopicOffsets(topic);
  const committed = (await admin.fetchOffsets({ groupId: group, topics: [topic] }))[0]?.partitions ?? [];
  return ends.every((e) => {
    const c = committed.find((p) => p.partition === e.partition);
    return Number(e.high) === 0 || (c !== undefined && c.offset === e.high && !c.metadata);
  });
}

async function kafkaIngest(
  admin: Admin,
  brokers: string,
  topic: string,
): Promise<{ seconds: number; peakRssMb: number; stats: string }> {
  const group = `bench-${Date.now()}`;
  const rssFile = join(work, 'kafka-rss');
  const started = performance.now();
  const args = ['--import', PRELOAD, CLI, 'serve', '--data', join(work, 'kafka-store'), '--port', '0'];
  args.push(
    '--kafka-brokers',
    brokers,
    '--kafka-topic',
    topic,
    '--kafka-group',
    group,
    '--log-level',
    'info',
  );
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, EGRESSLENS_RSS_FILE: rssFile },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-20_000);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  void exited.then((code) => {
    exitCode = code;
  });
  while (!(await committedEverything(admin, group, topic))) {
    if (exitCode !== undefined) throw new Error(`serve exited early (${exitCode}):\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - started) / 1000;
  child.kill('SIGTERM');
  await exited;
  let peakRssMb = Number.NaN;
  try {
    peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
  } catch {
    // no exit hook ran
  }
  const stats = out.split('\n').find((l) => l.includes('Kafka consumer stopped')) ?? '';
  return { seconds, peakRssMb, stats };
}

async function main(): Promise<void> {
  let startedBroker = false;
  try {
    await kafkaScript('status');
  } catch {
    startedBroker = true;
  }
  const brokers = await kafkaScript('start');
  const kafka = new Kafka({ clientId: 'egresslens-bench', brokers: [brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const topic = `bench-${Date.now().toString(36)}`;
  try {
    const linesFile = join(work, 'lines.log');
    const recordsFile = join(work, 'records.ndjson');
    const { lineBytes, recordBytes } = await writeInputs(linesFile, recordsFile);
    console.log(
      `${LINES} lines: ${(lineBytes / 1e6).toFixed(0)} MB as a file, ${(recordBytes / 1e6).toFixed(0)} MB as Fluent Bit json records`,
    );

    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    });
    const p0 = performance.now();
    await kcatProduceFile(brokers, topic, recordsFile);
    const ends = await admin.fetchTopicOffsets(topic);
    const produced = ends.reduce((n, e) => n + Number(e.high), 0);
    console.log(
      `topic ${topic}: ${produced} messages in ${PARTITIONS} partitions (kcat, ${((performance.now() - p0) / 1000).toFixed(1)} s)`,
    );
    if (produced !== LINES) throw new Error(`the topic holds ${produced} messages, expected ${LINES}`);

    const file = await runCli(['ingest', '--data', join(work, 'file-store'), linesFile]);
    if (file.code !== 0) throw new Error(`ingest failed: ${file.stderr}`);
    const fileRate = LINES / file.seconds;
    console.log(
      `file ingest:  ${Math.round(fileRate)} lines/s (${file.seconds.toFixed(1)} s, peak RSS ${Math.round(file.peakRssMb)} MB)`,
    );

    const k = await kafkaIngest(admin, brokers, topic);
    const kafkaRate = LINES / k.seconds;
    console.log(
      `kafka ingest: ${Math.round(kafkaRate)} lines/s (${k.seconds.toFixed(1)} s until the group's committed offsets reached the end, peak RSS ${Math.round(k.peakRssMb)} MB)`,
    );
    if (process.env.BENCH_VERBOSE) console.log(k.stats);
    console.log(`ratio: ${(kafkaRate / fileRate).toFixed(2)}`);
  } finally {
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
    if (startedBroker) await kafkaScript('stop');
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
