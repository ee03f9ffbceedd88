/**
 * A consumer-group member that reads Fluent Bit's `kafka` output (or plain lines) into the store.
 *
 *   const consumer = await KafkaConsumer.start({ settings: config.kafka, store, log });
 *   ...
 *   await consumer.stop();
 *
 * Each fetched batch of a partition becomes one store batch with the dedup token of its offset range
 * (kafka-offset-plan.ts). Before a new range is inserted, the partition's commit metadata is updated to
 * name it, so whoever reads the partition after a crash or rebalance cuts the same ranges and ClickHouse
 * drops what was already stored. The committed offset moves past a range only after the store acknowledged
 * it; nothing is auto-committed. While the store is slow (its queue stays full) or down, the topic's
 * partitions are paused, and resumed once the store takes rows again.
 *
 * The consumer has its own IngestPipeline, sealed only by the consumer, so batch contents, and therefore
 * tokens, depend on offsets alone.
 */
import { EventEmitter } from 'node:events';
import type { Admin, Consumer, EachBatchPayload, Offsets } from 'kafkajs';
import type { Logger } from 'pino';
import type { Store } from '../../store/store.js';
import { DEFAULT_PIPELINE_OPTIONS, IngestPipeline, type PipelineOptions } from '../pipeline.js';
import { checkTopic, createKafka, type KafkaSettings, KafkaStartError } from './kafka-client.js';
import { undecodableBatch } from './kafka-codecs.js';
import { type CommitEntry, CommitRefusedError, OffsetCommitter } from './kafka-commits.js';
import { DEFAULT_MESSAGE_LIMITS, KafkaMessageDecoder, type MessageLimits } from './kafka-message.js';
import { rangeToken } from './kafka-offset-plan.js';
import { type InFlightRange, type PartitionMessage, PartitionState } from './kafka-partition.js';

export interface KafkaConsumerOptions {
  settings: KafkaSettings;
  store: Store;
  log?: Logger;
  /** Parser and retry settings of the consumer's own pipeline (batch sizes are the consumer's). */
  pipeline?: Partial<
    Pick<PipelineOptions, 'format' | 'storeRaw' | 'retryBaseMs' | 'retryMaxMs' | 'maxPendingBatches'>
  >;
  limits?: Partial<MessageLimits>;
  /** Group session timeout: how soon a crashed member's partitions move on (default 10 s). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  /**
   * Largest fetch per partition, so the largest store batch from one partition (default 48 MiB, about 50k
   * Fluent Bit records, the file path's batch). bench:kafka, two runs each: 16 MiB fetches made 54 store
   * batches per million lines and took 21.4 / 21.3 CPU s per million, 48 MiB made 19 and took 19.9 / 19.6,
   * for a peak RSS of 1.0 GB instead of 0.75–0.77 GB (kafkajs joins a response into one fresh buffer).
   * Fewer, larger inserts cost chDB less per row, as on the HTTP path.
   */
  maxBytesPerPartition?: number;
  /** Largest fetch overall (default 48 MiB). */
  maxBytes?: number;
  /** The broker waits up to maxWaitTimeMs for this much data, so a trickle makes fewer, larger batches. */
  minBytes?: number;
  maxWaitTimeMs?: number;
  /** How long a batch waits for room in the store queue before the partitions are paused (default 2 s). */
  pauseAfterMs?: number;
  /** How often a paused consumer checks whether the store recovered (default 250 ms). */
  resumeCheckMs?: number;
  /** The consumer stopped for good (kafkajs gave up); the process should exit. */
  onFatal?: (err: Error) => void;
  /**
   * Aborted when the process is told to stop: joining the group can wait for a whole rebalance (another
   * member still busy), and a SIGTERM meanwhile must still end in the graceful stop, not a kill.
   */
  signal?: AbortSignal;
}

export interface KafkaConsumerStats {
  messages: number;
  batches: number;
  /** Ranges handed to the store, and how many of them were replays of a committed plan. */
  ranges: number;
  replayedRanges: number;
  storedRanges: number;
  commits: number;
  commitFailures: number;
  pauses: number;
  resumes: number;
  joins: number;
  /** Messages of batches no codec could decompress, kept as dead letters. */
  undecodable: number;
}

export interface KafkaJoin {
  memberId: string;
  partitions: number[];
}

const NEVER_MS = 2 ** 31 - 1;
const YIELD_EVERY = 4096;

export class KafkaConsumer extends EventEmitter {
  readonly stats: KafkaConsumerStats = {
    messages: 0,
    batches: 0,
    ranges: 0,
    replayedRanges: 0,
    storedRanges: 0,
    commits: 0,
    commitFailures: 0,
    pauses: 0,
    resumes: 0,
    joins: 0,
    undecodable: 0,
  };
  readonly pipeline: IngestPipeline;
  /** Partitions assigned at the last join. */
  assignment: number[] = [];
  private readonly decoder: KafkaMessageDecoder;
  private readonly committer: OffsetCommitter;
  private readonly states = new Map<number, PartitionState>();
  private committed:
    | Promise<Map<number, { offset: number | undefined; metadata: string | null }>>
    | undefined;
  private generation = 0;
  private rebalancing = true;
  stopping = false;
  private stopped: Promise<void> | undefined;
  private disconnected = false;
  private paused = false;
  private resumeTimer: NodeJS.Timeout | undefined;
  private inBatch: Promise<void> = Promise.resolve();
  private commitFn: EachBatchPayload['commitOffsetsIfNecessary'] | undefined;
  private readonly topic: string;
  private readonly log: Logger | undefined;

  private constructor(
    private readonly opts: KafkaConsumerOptions,
    private readonly admin: Admin,
    private readonly consumer: Consumer,
  ) {
    super();
    this.topic = opts.settings.topic;
    this.log = opts.log;
    this.pipeline = new IngestPipeline(
      opts.store,
      {
        ...DEFAULT_PIPELINE_OPTIONS,
        maxPendingBatches: 3,
        ...opts.pipeline,
        // Only the consumer seals, one offset range per batch.
        batchRows: Number.MAX_SAFE_INTEGER,
        batchBytes: Number.MAX_SAFE_INTEGER,
        flushIntervalMs: NEVER_MS,
      },
      opts.log?.child({ component: 'kafka-ingest' }),
    );
    this.decoder = new KafkaMessageDecoder(this.pipeline, { ...DEFAULT_MESSAGE_LIMITS, ...opts.limits });
    this.committer = new OffsetCommitter({
      partitions: () => this.states.values(),
      canCommit: () => !this.rebalancing && !this.disconnected && this.commitFn !== undefined,
      send: (entries) => this.send(entries),
      ...(opts.log ? { log: opts.log } : {}),
    });
  }

  /** Checks the brokers and the topic, joins the group and starts consuming. */
  static async start(opts: KafkaConsumerOptions): Promise<KafkaConsumer> {
    const { settings } = opts;
    const kafka = createKafka(settings, opts.log);
    // Few retries at start-up: an unreachable broker is reported within seconds.
    const admin = kafka.admin({ retry: { initialRetryTime: 300, retries: 4 } });
    try {
      await checkTopic(admin, settings);
    } catch (err) {
      await admin.disconnect().catch(() => {});
      throw err;
    }
    let self: KafkaConsumer | undefined; // read by restartOnFailure, which kafkajs calls only after a failure
    const consumer = kafka.consumer({
      groupId: settings.group,
      sessionTimeout: opts.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: opts.heartbeatIntervalMs ?? 3000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? 48 << 20,
      maxBytes: opts.maxBytes ?? 48 << 20,
      minBytes: opts.minBytes ?? 256 << 10,
      maxWaitTimeInMs: opts.maxWaitTimeMs ?? 500,
      allowAutoTopicCreation: false,
      // kafkajs restarts a consumer whose join failed; not one that is being stopped (its join was cut short).
      retry: { restartOnFailure: async () => !self?.stopping },
    });
    self = new KafkaConsumer(opts, admin, consumer);
    const member = self;
    // A stop requested while joining (which can wait out a whole rebalance) is not kept waiting for the join.
    let onAbort = () => {};
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      if (opts.signal?.aborted) resolve('aborted');
    });
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const running = member.run();
    running.catch(() => {}); // a join cut short by the stop fails later, on purpose
    try {
      if ((await Promise.race([running, aborted])) === 'aborted') {
        await member.stop();
        return member;
      }
    } catch (err) {
      await member.stop(1000).catch(() => {});
      if (err instanceof KafkaStartError) throw err;
      throw new KafkaStartError(
        `cannot consume topic ${settings.topic} from Kafka brokers ${settings.brokers.join(',')} as group ${settings.group}: ${(err as Error).message}`,
      );
    } finally {
      opts.signal?.removeEventListener('abort', onAbort);
    }
    return member;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  private async run(): Promise<void> {
    const { consumer } = this;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.newGeneration();
      this.rebalancing = false;
      this.stats.joins++;
      this.assignment = [...(e.payload.memberAssignment[this.topic] ?? [])].sort((a, b) => a - b);
      this.log?.info(
        { memberId: e.payload.memberId, partitions: this.assignment },
        'joined the Kafka consumer group',
      );
      this.emit('join', { memberId: e.payload.memberId, partitions: this.assignment } satisfies KafkaJoin);
    });
    consumer.on(consumer.events.REBALANCING, () => {
      // Ranges in flight stay in the pipeline and are stored; their commits are left to the next owner,
      // which replays them under the same tokens.
      this.rebalancing = true;
      this.newGeneration();
    });
    consumer.on(consumer.events.CRASH, (e) => {
      const { error, restart } = e.payload;
      this.rebalancing = true;
      this.newGeneration();
      if (restart) {
        this.log?.warn({ err: error }, 'Kafka consumer failed; kafkajs restarts it');
        return;
      }
      if (this.stopping) return;
      this.log?.error({ err: error }, 'Kafka consumer stopped for good');
      this.emit('fatal', error);
      this.opts.onFatal?.(error);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: this.opts.settings.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: (payload) => {
        const work = this.eachBatch(payload);
        this.inBatch = work.catch(() => {});
        return work;
      },
    });
  }

  /**
   * Stops taking messages, waits (up to `timeoutMs`) until what was handed to the store is stored,
   * commits, and leaves the group. Call before closing the store.
   */
  stop(timeoutMs = 30_000): Promise<void> {
    // Every caller waits for the one stop (a signal during start and the shutdown after it both call this).
    this.stopped ??= this.stopOnce(timeoutMs);
    return this.stopped;
  }

  private async stopOnce(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.stopResumeTimer();
    await this.inBatch;
    const flushed = await Promise.race([
      this.pipeline.flush().then(() => true),
      new Promise<false>((r) => setTimeout(r, timeoutMs, false).unref()),
    ]);
    if (!flushed)
      this.log?.error(
        { pendingBatches: this.pipeline.pendingBatches },
        'Kafka: the store did not take the last batches in time; they are read again at the next start',
      );
    if (this.commitFn) {
      await this.committer.commit().catch((err: Error) => {
        if (!(err instanceof CommitRefusedError))
          this.log?.warn({ err }, 'Kafka: final offset commit failed');
      });
    }
    this.committer.close();
    this.disconnected = true;
    const disconnected = this.consumer
      .disconnect()
      .catch((err: Error) => this.log?.warn({ err }, 'Kafka: disconnect failed'));
    // Not yet in the group, nothing was read, so nothing is left to commit: a JoinGroup still waiting on a
    // rebalance (a busy member) need not be waited out.
    if (this.stats.joins > 0) await disconnected;
    else await Promise.race([disconnected, new Promise((r) => setTimeout(r, 2000).unref())]);
    await this.admin.disconnect().catch(() => {});
    await this.pipeline.close(1000);
    this.stats.commitFailures = this.committer.failures;
    this.log?.info({ stats: this.stats, pipeline: this.pipeline.stats }, 'Kafka consumer stopped');
  }

  private newGeneration(): void {
    this.generation++;
    this.states.clear();
    this.committed = undefined;
  }

  private async eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale } = payload;
    // The latest runner's: kafkajs makes a new one when it restarts the consumer after a failure.
    this.commitFn = payload.commitOffsetsIfNecessary;
    if (this.stopping || this.paused || !isRunning() || isStale()) return;
    if (!(await this.roomInStore())) return;
    if (this.stopping || !isRunning() || isStale()) return;
    const state = await this.partitionState(batch.partition);
    if (!state) return;
    this.stats.batches++;
    const cut = state.cut(batch.messages, Number(batch.lastOffset()));
    switch (cut.kind) {
      case 'none':
      case 'hold':
        resolveOffset(String(cut.resolveTo));
        return;
      case 'replay':
        for (const chunk of cut.chunks) {
          const entry = state.begin(chunk.range);
          await this.appendMessages(batch.partition, chunk.messages);
          this.stats.replayedRanges++;
          this.seal(state, entry);
        }
        this.log?.info(
          { partition: batch.partition, ranges: cut.chunks.map((c) => c.range) },
          'Kafka: read again the ranges named in the committed offset metadata',
        );
        resolveOffset(String(cut.resolveTo));
        return;
      case 'fresh': {
        const entry = state.begin(cut.range);
        try {
          // The new range is named in the commit metadata before any of it can reach the store.
          await this.committer.commit();
        } catch (err) {
          state.abandon(entry);
          this.log?.debug(
            { err, partition: batch.partition },
            'Kafka: could not record the range; it is read again',
          );
          return;
        }
        if (this.states.get(batch.partition) !== state || this.stopping) return;
        await this.appendMessages(batch.partition, cut.messages);
        state.handed(cut.resolveTo);
        this.seal(state, entry);
        resolveOffset(String(cut.resolveTo));
        return;
      }
    }
  }

  private async appendMessages(partition: number, messages: PartitionMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      try {
        const undecodable = undecodableBatch(m.value);
        if (undecodable) {
          // kafka-codecs.ts stood in a marker for each record of a batch it could not decompress
          const raw = undecodable.compressed ? Buffer.from(undecodable.compressed) : null;
          this.decoder.deadLetter(undecodable.reason, raw, this.topic, partition, m.offset);
          this.stats.undecodable++;
        } else this.decoder.append(m.value, this.topic, partition, m.offset);
      } catch (err) {
        // A bug must not turn a message into a poison pill that stops the partition.
        this.log?.error({ err, partition, offset: m.offset }, 'Kafka: message could not be decoded');
        this.decoder.deadLetter(
          `could not decode the message: ${(err as Error).message}`,
          m.value,
          this.topic,
          partition,
          m.offset,
        );
      }
      // Let the API answer during large batches; nothing else appends to this pipeline meanwhile.
      if ((i + 1) % YIELD_EVERY === 0) await new Promise<void>((r) => setImmediate(r));
    }
    this.stats.messages += messages.length;
  }

  private seal(state: PartitionState, entry: InFlightRange): void {
    const token = rangeToken(this.topic, state.partition, entry.range);
    this.stats.ranges++;
    this.pipeline.seal(token).then(
      () => {
        state.stored(entry);
        this.stats.storedRanges++;
        this.emit('stored', { partition: state.partition, range: entry.range });
        if (this.states.get(state.partition) === state && !this.disconnected) this.committer.commitSoon();
      },
      (err: Error) =>
        this.log?.warn(
          { err, partition: state.partition, range: entry.range },
          'Kafka: batch not stored; it is read again later',
        ),
    );
  }

  /** The partition's state in this generation, created from the group's committed offset and metadata. */
  private async partitionState(partition: number): Promise<PartitionState | undefined> {
    const existing = this.states.get(partition);
    if (existing) return existing;
    const generation = this.generation;
    this.committed ??= this.fetchCommitted();
    let committed: Awaited<typeof this.committed>;
    try {
      committed = await this.committed;
    } catch (err) {
      this.committed = undefined;
      this.log?.warn({ err }, 'Kafka: cannot read the committed offsets; retrying');
      return undefined;
    }
    if (generation !== this.generation) return undefined;
    let state = this.states.get(partition);
    if (!state) {
      const c = committed.get(partition);
      state = new PartitionState(this.topic, partition, c?.offset, c?.metadata);
      if (state.replaying)
        this.log?.info(
          { partition, committed: c },
          'Kafka: the committed offset names ranges in flight; they are cut the same way again',
        );
      this.states.set(partition, state);
    }
    return state;
  }

  private async fetchCommitted(): Promise<
    Map<number, { offset: number | undefined; metadata: string | null }>
  > {
    const result = await this.admin.fetchOffsets({ groupId: this.opts.settings.group, topics: [this.topic] });
    const map = new Map<number, { offset: number | undefined; metadata: string | null }>();
    for (const p of result.find((t) => t.topic === this.topic)?.partitions ?? []) {
      const offset = Number(p.offset);
      map.set(p.partition, { offset: offset >= 0 ? offset : undefined, metadata: p.metadata });
    }
    return map;
  }

  private async send(entries: CommitEntry[]): Promise<void> {
    const topics = new Map<string, Array<{ partition: number; offset: string; metadata: string | null }>>();
    for (const e of entries) {
      const list = topics.get(e.topic) ?? [];
      list.push({ partition: e.partition, offset: e.offset, metadata: e.metadata });
      topics.set(e.topic, list);
    }
    const offsets = { topics: [...topics].map(([topic, partitions]) => ({ topic, partitions })) };
    // The payload's commit goes straight to the coordinator with this generation, without kafkajs' retries.
    await this.commitFn!(offsets as Offsets);
    this.stats.commits++;
  }

  /** True when the store queue has room; else pauses the topic (after pauseAfterMs when merely full). */
  private async roomInStore(): Promise<boolean> {
    if (this.pipeline.state === 'ok') return true;
    if (this.pipeline.state === 'full') {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.pipeline.waitForRoom(),
        new Promise<void>((r) => {
          timer = setTimeout(r, this.opts.pauseAfterMs ?? 2000);
        }),
      ]);
      clearTimeout(timer);
      if (this.intake() === 'ok') return true;
    }
    this.pause();
    return false;
  }

  /** Read through a call: the state changes while a batch waits. */
  private intake(): IngestPipeline['state'] {
    return this.pipeline.state;
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.stats.pauses++;
    this.consumer.pause([{ topic: this.topic }]);
    this.log?.warn(
      { intake: this.pipeline.state, pendingBatches: this.pipeline.pendingBatches },
      'Kafka: the store is slow or down; paused consuming',
    );
    this.emit('pause');
    this.resumeTimer = setInterval(() => {
      if (this.stopping || this.pipeline.state !== 'ok') return;
      this.stopResumeTimer();
      this.paused = false;
      this.stats.resumes++;
      this.consumer.resume([{ topic: this.topic }]);
      this.log?.info('Kafka: the store takes rows again; resumed consuming');
      this.emit('resume');
    }, this.opts.resumeCheckMs ?? 250);
    this.resumeTimer.unref();
  }

  private stopResumeTimer(): void {
    if (this.resumeTimer) clearInterval(this.resumeTimer);
    this.resumeTimer = undefined;
  }
}
