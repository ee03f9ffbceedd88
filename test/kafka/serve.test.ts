/**
 * `egresslens serve` with Kafka, as a real process: /metrics counts the Kafka intake, and a SIGTERM while the
 * consumer is still joining its group (the group waits for a busy member) ends in the graceful stop, exit 0.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatedLines } from '../helpers/lines.js';
import {
  acquireBroker,
  createTopic,
  produce,
  sleep,
  type TestBroker,
  uniqueName,
  waitFor,
} from './helpers.js';

const CLI = fileURLToPath(new URL('../../dist/bin/egresslens.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'egresslens-kafka-serve-'));
let broker: TestBroker;

beforeAll(async () => {
  broker = await acquireBroker();
});
afterAll(async () => {
  await broker?.release();
  rmSync(root, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts serve on a free port and waits for the address it advertises in its data directory. */
async function serve(data: string, topic: string, group: string): Promise<Served> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--data',
      data,
      '--port',
      '0',
      '--kafka-brokers',
      broker.brokers.join(','),
      '--kafka-topic',
      topic,
      '--kafka-group',
      group,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const advert = join(data, '.egresslens-serve.json');
  await waitFor('serve advertises its address', async () => existsSync(advert), 60_000, 100);
  const { url } = JSON.parse(readFileSync(advert, 'utf8')) as { url: string };
  return { child, url, output: () => out, exit };
}

function metric(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : Number.NaN;
}

describe('serve with Kafka', () => {
  it('a topic that does not exist is one line naming --kafka-topic, exit 1', async () => {
    const child = spawn(
      process.execPath,
      [
        CLI,
        'serve',
        '--data',
        join(root, 'missing'),
        '--port',
        '0',
        '--log-level',
        'silent',
        '--kafka-brokers',
        broker.brokers.join(','),
        '--kafka-topic',
        'no-such-topic-here',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/the Kafka topic no-such-topic-here does not exist .*--kafka-topic/);
  });

  it('/metrics counts what the Kafka consumer took in', async () => {
    const topic = uniqueName('metrics');
    await createTopic(broker.admin, topic, 1);
    const lines = generatedLines(120, 31).map((g) => g.line);
    await produce(
      broker.kafka,
      topic,
      lines.map((value) => ({ value })),
    );
    const s = await serve(join(root, 'metrics'), topic, uniqueName('group'));
    try {
      let text = '';
      await waitFor(
        'the Kafka lines counted in /metrics',
        async () => {
          text = await (await fetch(`${s.url}/metrics`)).text();
          return metric(text, 'egresslens_stored_rows_total') === 120;
        },
        60_000,
        200,
      );
      expect(metric(text, 'egresslens_lines_total')).toBe(120);
      expect(metric(text, 'egresslens_parsed_total')).toBe(120);
    } finally {
      s.child.kill('SIGTERM');
      expect((await s.exit).code).toBe(0);
    }
  });

  it('SIGTERM while the consumer waits to join the group stops gracefully', async () => {
    const topic = uniqueName('rejoin');
    const group = uniqueName('group');
    await createTopic(broker.admin, topic, 1);
    await produce(broker.kafka, topic, [{ value: generatedLines(1, 32)[0]!.line }]);
    // A member busy in its handler: a rebalance waits for it to rejoin, so serve's join cannot finish.
    const busy = broker.kafka.consumer({ groupId: group, rebalanceTimeout: 60_000, sessionTimeout: 30_000 });
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let handling = false;
    await busy.connect();
    await busy.subscribe({ topic, fromBeginning: true });
    await busy.run({
      eachMessage: async () => {
        handling = true;
        await held;
      },
    });
    try {
      await waitFor('the other member is busy', async () => handling, 30_000, 100);
      const s = await serve(join(root, 'rejoin'), topic, group);
      await sleep(3000); // serve is now in JoinGroup, held by the busy member
      expect(s.output()).not.toMatch(/joined the Kafka consumer group/);
      const started = Date.now();
      s.child.kill('SIGTERM');
      const { code, signal } = await s.exit;
      expect(signal).toBeNull();
      expect(code).toBe(0);
      expect(Date.now() - started).toBeLessThan(30_000);
      expect(s.output()).toMatch(/shutting down/);
      expect(s.output()).toMatch(/"msg":"stopped"/);
    } finally {
      release();
      await busy.disconnect().catch(() => {});
    }
  });
});
