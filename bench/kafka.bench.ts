/**
 * Kafka ingest benchmark, one run on the same generated lines:
 *   (a) file path: `egresslens ingest FILE` in a child process, the file at the kubelet's path for the records'
 *       pod (bench/pod-log-files.ts), so that its rows get the pod, namespace, container and workload the
 *       records' kubernetes map gives the Kafka path's
 *   (b) Kafka path: a topic holding the lines as Fluent Bit `kafka` output records (format json: @timestamp
 *       first, the line in `log`, the kubernetes map), produced by kcat (librdkafka, as Fluent Bit uses);
 *       a child `egresslens serve` consumes it until the group's committed offsets reach the end
 * Both are wall times of the child process from spawn, into a fresh embedded store. Prints both rates and
 * their ratio (target ≥ 0.7).
 *
 * Both also print CPU per line, which holds on a busy machine where wall time does not: the CPU seconds
 * (user + system, every thread, startup included) the egresslens child used for the run, per million lines,
 * and lines/s per core (lines ÷ CPU seconds: what one fully busy core would sustain). The file child is
 * counted when it has exited (this process's cutime/cstime); the Kafka child is read from /proc/<pid>/stat when
 * the committed offsets reach the end, before it is stopped. The broker runs on the same machine: its CPU
 * over the produce and consume phases is printed apart (its pid from scripts/kafka.sh's pid file), as is
 * kcat's (the producer, in Fluent Bit's place). A long-running instance does not pay its startup per line, so
 * each path is also run on one line and the net figure, (CPU − CPU for one line) per line, is the one to size with.
 *
 *   npm run build && npm run bench:kafka            (BENCH_LINES=1000000, BENCH_PARTITIONS=3)
 *   KAFKA_PORT=19192 KAFKA_CONTROLLER_PORT=19193 npm run bench:kafka   (when another broker holds 19092)
 *   BENCH_CPU_PROF=<dir> npm run bench:kafka   (the serve children write CPU profiles there: kafka-store.cpuprofile, …)
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  closeSync,
  createWriteStream,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { fluentKafkaRecord, KUBERNETES } from './fluent-records.js';
import { LineGenerator } from './generate-lines.js';
import { kubeletLogPath } from './pod-log-files.js';
import { exitedChildrenCpuSeconds, netCpuPerLine, processCpuSeconds } from './process-cpu.js';
import { CLI, cpuProfileArgs, runCli } from './run-child.js';

const LINES = Number(process.env.BENCH_LINES ?? 1_000_000);
const PARTITIONS = Number(process.env.BENCH_PARTITIONS ?? 3);
const REPO = new URL('../..', import.meta.url).pathname;
const PRELOAD = join(REPO, 'dist', 'bench', 'report-rss.js');
const KAFKA_SH = join(REPO, 'scripts', 'kafka.sh');
const KAFKA_PID_FILE = join(process.env.KAFKA_RUN_DIR ?? join(REPO, '.cache', 'kafka-run'), 'kafka.pid');
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

function readFirstLine(file: string): string {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(64 << 10);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const text = buf.subarray(0, n).toString('utf8');
  return text.slice(0, text.indexOf('\n'));
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
  storeDir: string,
): Promise<{
  seconds: number;
  cpuSeconds: number;
  totalCpuSeconds: number;
  peakRssMb: number;
  stats: string;
}> {
  const group = `bench-${Date.now()}`;
  const rssFile = join(work, 'kafka-rss');
  const started = performance.now();
  const cpuBefore = exitedChildrenCpuSeconds();
  const args = [
    ...cpuProfileArgs(storeDir),
    '--import',
    PRELOAD,
    CLI,
    'serve',
    '--data',
    join(work, storeDir),
    '--port',
    '0',
  ];
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
  const cpuSeconds = processCpuSeconds(child.pid!);
  child.kill('SIGTERM');
  await exited;
  const totalCpuSeconds = exitedChildrenCpuSeconds() - cpuBefore;
  let peakRssMb = Number.NaN;
  try {
    peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
  } catch {
    // no exit hook ran
  }
  const stats = out.split('\n').find((l) => l.includes('Kafka consumer stopped')) ?? '';
  return { seconds, cpuSeconds, totalCpuSeconds, peakRssMb, stats };
}

/** The broker's pid, if scripts/kafka.sh started it (NaN CPU figures otherwise). */
function brokerPid(): number {
  try {
    return Number(readFileSync(KAFKA_PID_FILE, 'utf8').trim());
  } catch {
    return Number.NaN;
  }
}

/** "N CPU s per M lines, R lines/s per core", gross and net of the CPU `oneLine` took to handle one line. */
function perLine(cpuSeconds: number, oneLine: number): string {
  const net = netCpuPerLine(cpuSeconds, oneLine, LINES);
  return (
    `${((cpuSeconds * 1e6) / LINES).toFixed(1)} CPU s per million lines, ${Math.round(LINES / cpuSeconds).toLocaleString('en')} lines/s per core; ` +
    `net of startup (${oneLine.toFixed(1)} CPU s for one line): ${(net * 1e6).toFixed(1)} CPU s per million, ${Math.round(1 / net).toLocaleString('en')} lines/s per core`
  );
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
    const pod = {
      namespace: KUBERNETES.namespace_name,
      pod: KUBERNETES.pod_name,
      container: KUBERNETES.container_name,
    };
    const linesFile = kubeletLogPath(work, pod, KUBERNETES.pod_id);
    mkdirSync(dirname(linesFile), { recursive: true });
    const recordsFile = join(work, 'records.ndjson');
    const { lineBytes, recordBytes } = await writeInputs(linesFile, recordsFile);
    console.log(
      `${LINES} lines: ${(lineBytes / 1e6).toFixed(0)} MB as a file, ${(recordBytes / 1e6).toFixed(0)} MB as Fluent Bit json records`,
    );

    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    });
    const broker = brokerPid();
    const p0 = performance.now();
    const kcatCpu0 = exitedChildrenCpuSeconds();
    const brokerCpu0 = processCpuSeconds(broker);
    await kcatProduceFile(brokers, topic, recordsFile);
    const kcatCpu = exitedChildrenCpuSeconds() - kcatCpu0;
    const brokerProduceCpu = processCpuSeconds(broker) - brokerCpu0;
    const ends = await admin.fetchTopicOffsets(topic);
    const produced = ends.reduce((n, e) => n + Number(e.high), 0);
    console.log(
      `topic ${topic}: ${produced} messages in ${PARTITIONS} partitions (kcat, ${((performance.now() - p0) / 1000).toFixed(1)} s)`,
    );
    console.log(
      `  producing: kcat ${kcatCpu.toFixed(1)} CPU s, broker (pid ${broker}) ${brokerProduceCpu.toFixed(1)} CPU s`,
    );
    if (produced !== LINES) throw new Error(`the topic holds ${produced} messages, expected ${LINES}`);

    // One line through each path: the CPU a run costs before its first line (startup, store open, connects).
    const oneLineFile = kubeletLogPath(join(work, 'one'), pod, KUBERNETES.pod_id);
    mkdirSync(dirname(oneLineFile), { recursive: true });
    const oneRecordFile = join(work, 'one.ndjson');
    writeFileSync(oneLineFile, `${readFirstLine(linesFile)}\n`);
    writeFileSync(oneRecordFile, `${readFirstLine(recordsFile)}\n`);
    const oneTopic = `${topic}-one`;
    await admin.createTopics({
      waitForLeaders: true,
      topics: [{ topic: oneTopic, numPartitions: PARTITIONS, replicationFactor: 1 }],
    });
    await kcatProduceFile(brokers, oneTopic, oneRecordFile);
    const fileOne0 = exitedChildrenCpuSeconds();
    const fileOne = await runCli(['ingest', '--data', join(work, 'file-one'), oneLineFile]);
    const fileOneCpu = exitedChildrenCpuSeconds() - fileOne0;
    if (fileOne.code !== 0) throw new Error(`ingest failed: ${fileOne.stderr}`);
    const kafkaOne = await kafkaIngest(admin, brokers, oneTopic, 'kafka-one');
    await admin.deleteTopics({ topics: [oneTopic] }).catch(() => {});

    const fileCpu0 = exitedChildrenCpuSeconds();
    const file = await runCli(['ingest', '--data', join(work, 'file-store'), linesFile]);
    const fileCpu = exitedChildrenCpuSeconds() - fileCpu0;
    if (file.code !== 0) throw new Error(`ingest failed: ${file.stderr}`);
    const fileRate = LINES / file.seconds;
    console.log(
      `file ingest:  ${Math.round(fileRate)} lines/s (${file.seconds.toFixed(1)} s, peak RSS ${Math.round(file.peakRssMb)} MB)`,
    );

    console.log(`  file CPU:  ${fileCpu.toFixed(1)} s: ${perLine(fileCpu, fileOneCpu)}`);

    const brokerCpu1 = processCpuSeconds(broker);
    const k = await kafkaIngest(admin, brokers, topic, 'kafka-store');
    const brokerConsumeCpu = processCpuSeconds(broker) - brokerCpu1;
    const kafkaRate = LINES / k.seconds;
    console.log(
      `kafka ingest: ${Math.round(kafkaRate)} lines/s (${k.seconds.toFixed(1)} s until the group's committed offsets reached the end, peak RSS ${Math.round(k.peakRssMb)} MB)`,
    );
    console.log(
      `  kafka CPU: ${k.cpuSeconds.toFixed(1)} s until committed: ${perLine(k.cpuSeconds, kafkaOne.cpuSeconds)} (${k.totalCpuSeconds.toFixed(1)} s with its shutdown)`,
    );
    console.log(
      `  broker while consumed: ${brokerConsumeCpu.toFixed(1)} CPU s (${((brokerConsumeCpu * 1e6) / LINES).toFixed(1)} per million lines), not counted above`,
    );
    if (process.env.BENCH_VERBOSE) console.log(k.stats);
    console.log(`ratio: ${(kafkaRate / fileRate).toFixed(2)}`);
    console.log(`CPU per line, kafka / file: ${(k.cpuSeconds / fileCpu).toFixed(2)}`);
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
