/**
 * Crash proof: `egresslens serve` consuming a 3-partition topic is killed with SIGKILL mid-stream and
 * started again; every message ends up stored exactly once (rows + dead letters = messages, no request id
 * twice). Runs the built CLI (`npm run build` first).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChdbStore } from '../../store/chdb-store.js';
import { count } from '../helpers/lines.js';
import {
  acquireBroker,
  committedOffsets,
  committedTotal,
  createTopic,
  fullyCommitted,
  produce,
  REPO,
  type TestBroker,
  traffic,
  uniqueName,
  waitFor,
} from './helpers.js';

const CLI = join(REPO, 'dist', 'bin', 'egresslens.js');
const MESSAGES = 200_000;
const PARTITIONS = 3;

let broker: TestBroker;
const work = mkdtempSync(join(tmpdir(), 'egresslens-kafka-crash-'));

beforeAll(async () => {
  if (!existsSync(join(REPO, 'dist', 'ingest', 'kafka', 'kafka-consumer.js'))) {
    throw new Error('dist/ is missing the Kafka consumer: run `npm run build` before the Kafka tests');
  }
  broker = await acquireBroker();
});

afterAll(async () => {
  await broker?.release();
  rmSync(work, { recursive: true, force: true });
});

interface Serve {
  child: ChildProcess;
  exited: Promise<number | null>;
  output: () => string;
}

function serve(dir: string, topic: string, group: string, logLevel = 'warn'): Serve {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--data',
      dir,
      '--port',
      '0',
      '--kafka-brokers',
      broker.brokers.join(','),
      '--kafka-topic',
      topic,
      '--kafka-group',
      group,
      '--log-level',
      logLevel,
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
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

describe('Kafka consumer crash (kill -9) and restart', () => {
  it('stores every one of 200,000 messages exactly once', async () => {
    const topic = uniqueName('crash');
    const group = uniqueName('crash-group');
    await createTopic(broker.admin, topic, PARTITIONS);
    const t = traffic(MESSAGES, PARTITIONS, { seed: 5, junkEvery: 200 });
    expect(t.good + t.bad).toBe(MESSAGES);
    await produce(broker.kafka, topic, t.messages, 1500);

    const dir = join(work, 'data');
    const first = serve(dir, topic, group);
    let killedAt = 0;
    try {
      // Kill once a few ranges are stored and committed and others are in flight, well before the end.
      await waitFor(
        'some commits',
        async () => (killedAt = await committedTotal(broker.admin, group, topic)) >= MESSAGES * 0.3,
        90_000,
        20,
      );
    } catch (err) {
      first.child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${first.output().slice(-4000)}`);
    }
    first.child.kill('SIGKILL');
    await first.exited;
    expect(killedAt).toBeLessThan(MESSAGES);
    const atKill = await committedOffsets(broker.admin, group, topic);
    const inFlightAtKill = [...atKill.values()].some((c) => (c.metadata ?? '') !== '');
    // What the killed process had stored: more than it committed means ranges stored but not committed.
    const killed = ChdbStore.open(dir);
    const storedAtKill = (await count(killed, 'access_log')) + (await count(killed, 'dead_letters'));
    await killed.close();

    const second = serve(dir, topic, group, 'info');
    try {
      await waitFor('all offsets committed', () => fullyCommitted(broker.admin, group, topic), 150_000, 200);
    } catch (err) {
      second.child.kill('SIGKILL');
      throw new Error(`${(err as Error).message}\n${second.output().slice(-4000)}`);
    }
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    // Ranges named in the committed metadata at the kill were cut the same way again.
    if (inFlightAtKill)
      expect(second.output()).toContain('read again the ranges named in the committed offset metadata');

    const store = ChdbStore.open(dir);
    try {
      const rows = await count(store, 'access_log');
      const dead = await count(store, 'dead_letters');
      const dupes = await store.query<{ request_id: string; n: string }>(
        "SELECT request_id, count() AS n FROM access_log WHERE request_id != '' GROUP BY request_id HAVING n > 1 LIMIT 5",
      );
      const withIds = await count(store, 'access_log', "request_id != ''");
      const kafkaDead = await count(
        store,
        'dead_letters',
        `kafka_topic = '${topic}' AND kafka_partition >= 0 AND kafka_offset >= 0`,
      );
      const context = `killed with ${killedAt} committed (${JSON.stringify([...atKill])}) and ${storedAtKill} stored; rows ${rows}, dead ${dead}`;
      console.log(context);
      expect(dupes, context).toEqual([]);
      expect(rows + dead, context).toBe(MESSAGES);
      expect(rows, context).toBe(t.good);
      expect(dead, context).toBe(t.bad);
      expect(withIds, context).toBe(t.requestIds);
      expect(kafkaDead).toBe(t.bad);
    } finally {
      await store.close();
    }
  }, 300_000);
});
