// kafkajs adapter for the event-log port. This is the only folder that imports kafkajs.
// Evaluated before kafkajs loads (import order): see the files.
import './fetch-decoding.ts';
import './linear-grouping.ts';
import './produce-encoding.ts';
import './request-framing.ts';
import { randomUUID } from 'node:crypto';
import kafkajs from 'kafkajs';
import {
  AssignerProtocol,
  CompressionTypes,
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type IHeaders,
  type KafkaMessage,
  type Message,
  type PartitionAssigner,
  type ICustomPartitioner,
  type Producer,
} from 'kafkajs';
import type {
  ConsumerHooks,
  ConsumerOptions,
  EventLog,
  LogBatch,
  LogConsumer,
  LogProducer,
  LogRecord,
  OutRecord,
  SendWithOffsetsOptions,
  PartitionRange,
  TopicPartitionOffset,
  TopicSpec,
} from './event-log.ts';
import { cacheKafkajsCoordinatorLookups } from './coordinator-cache.ts';
import { partitionForKey } from './murmur2.ts';

export interface KafkaEventLogOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  /** Receives kafkajs's own warnings and errors. */
  readonly log?: (
    level: 'error' | 'warn' | 'info',
    message: string,
    extra: Record<string, unknown>,
  ) => void;
  /** Compression for produced batches. */
  readonly compression?: 'none' | 'gzip';
}

function toHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [key, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[key] = first.toString();
  }
  return out;
}

/**
 * A fetched batch's messages as log records, by a loop: a callback made per batch dies with it,
 * and its optimised code with it at the next full collection (V8 keeps that code only weakly).
 */
function toLogRecords(
  topic: string,
  partition: number,
  messages: readonly KafkaMessage[],
): LogRecord[] {
  const records: LogRecord[] = [];
  for (const message of messages) records.push(toLogRecord(topic, partition, message));
  return records;
}

function toLogRecord(topic: string, partition: number, message: KafkaMessage): LogRecord {
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key,
    value: message.value,
    headers: toHeaders(message.headers),
    timestamp: Number(message.timestamp),
  };
}

function toMessage(record: OutRecord): Message {
  const message: Message = { key: record.key, value: record.value };
  if (record.headers !== undefined) message.headers = { ...record.headers };
  if (record.partition !== undefined) message.partition = record.partition;
  if (record.timestamp !== undefined) message.timestamp = String(record.timestamp);
  return message;
}

function groupByTopic(records: readonly OutRecord[]): { topic: string; messages: Message[] }[] {
  const byTopic = new Map<string, Message[]>();
  for (const record of records) {
    let list = byTopic.get(record.topic);
    if (list === undefined) {
      list = [];
      byTopic.set(record.topic, list);
    }
    list.push(toMessage(record));
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

function toOffsetTopics(
  offsets: readonly TopicPartitionOffset[],
): { topic: string; partitions: { partition: number; offset: string }[] }[] {
  const byTopic = new Map<string, { partition: number; offset: string }[]>();
  for (const { topic, partition, offset } of offsets) {
    const list = byTopic.get(topic) ?? [];
    list.push({ partition, offset });
    byTopic.set(topic, list);
  }
  return [...byTopic].map(([topic, partitions]) => ({ topic, partitions }));
}

/**
 * Assigns partition number p of every subscribed topic to the same member (round robin over
 * partition numbers), the way Kafka Streams co-partitions the inputs of a join.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'DynabCoPartitionedAssigner',
  version: 1,
  // Not `async` (nothing to await): kafkajs awaits the result, so a throw still fails the sync.
  assign({ members, topics }) {
    const memberIds = members.map((m) => m.memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (const topic of topics) {
      for (const { partitionId } of cluster.findTopicPartitionMetadata(topic)) {
        const member = memberIds[partitionId % memberIds.length];
        if (member === undefined) continue;
        const forMember = assignment.get(member) ?? {};
        (forMember[topic] ??= []).push(partitionId);
        assignment.set(member, forMember);
      }
    }
    return Promise.resolve(
      memberIds.map((memberId) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: assignment.get(memberId) ?? {},
          userData: Buffer.alloc(0),
        }),
      })),
    );
  },
  protocol({ topics }) {
    return {
      name: 'DynabCoPartitionedAssigner',
      metadata: AssignerProtocol.MemberMetadata.encode({
        version: 1,
        topics,
        userData: Buffer.alloc(0),
      }),
    };
  },
});

/**
 * Right after a commit the broker still writes the transaction's markers and answers the next
 * transaction's first request with CONCURRENT_TRANSACTIONS; kafkajs retries it (see the producer's
 * retry settings) but logs two errors each time, dozens per second under load. Those lines are
 * dropped; a transaction that still fails after its retries reaches the caller as an error.
 */
export function isRetriedConcurrentTransaction(entry: {
  message: string;
  [key: string]: unknown;
}): boolean {
  const text = `${entry.message} ${typeof entry['error'] === 'string' ? entry['error'] : ''}`;
  return text.includes(CONCURRENT_TRANSACTIONS_TEXT);
}
const CONCURRENT_TRANSACTIONS_TEXT = 'another concurrent operation on the same transaction';

/**
 * kafkajs's default partitioner with a linear-time hash: an explicit partition wins, a key picks
 * its partition by murmur2 (the same partition as the Java client and kafkajs's own default), and
 * a record without either goes round robin over the partitions that have a leader. kafkajs's
 * hash costs grow with the square of the key length; one hostile key could hold a producer for
 * minutes.
 */
export const keyHashPartitioner: ICustomPartitioner = () => {
  const counters = new Map<string, number>();
  return ({ topic, partitionMetadata, message }) => {
    if (message.partition !== undefined) return message.partition;
    const key = message.key;
    if (key !== undefined && key !== null) return partitionForKey(key, partitionMetadata.length);
    const next = ((counters.get(topic) ?? Math.floor(Math.random() * 2 ** 31)) + 1) & 0x7fffffff;
    counters.set(topic, next);
    const available = partitionMetadata.filter((p) => p.leader >= 0);
    const from = available.length > 0 ? available : partitionMetadata;
    return from[next % from.length]?.partitionId ?? 0;
  };
};

/**
 * kafkajs sends the records of one call as one record batch per partition, and the broker
 * rejects a batch above `max.message.bytes` (1 MiB by default) as a whole. Splitting each call
 * into chunks of bounded size keeps any batch of records, however large, producible.
 */
const MAX_CHUNK_BYTES = 512 * 1024;

function recordSize(record: OutRecord): number {
  let size =
    64 +
    (record.value?.byteLength ?? 0) +
    (record.key === null ? 0 : Buffer.byteLength(record.key));
  const headers = record.headers;
  // for…in, not Object.entries: no arrays per record (most records carry no headers at all).
  if (headers !== undefined)
    for (const key in headers) size += key.length + (headers[key]?.length ?? 0) + 8;
  return size;
}

export function chunkRecords<T extends OutRecord>(
  records: readonly T[],
  maxBytes = MAX_CHUNK_BYTES,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = recordSize(record);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

class KafkaLogProducer implements LogProducer {
  constructor(
    private readonly producer: Producer,
    private readonly compression: CompressionTypes,
  ) {}

  async send(records: readonly OutRecord[]): Promise<void> {
    for (const chunk of chunkRecords(records)) {
      await this.producer.sendBatch({
        topicMessages: groupByTopic(chunk),
        compression: this.compression,
      });
    }
  }

  async sendWithOffsets(
    records: readonly OutRecord[],
    groupId: string,
    offsets: readonly TopicPartitionOffset[],
    options: SendWithOffsetsOptions = {},
  ): Promise<readonly TopicPartitionOffset[]> {
    const transaction = await this.producer.transaction();
    const written = new Map<string, TopicPartitionOffset>();
    try {
      for (const chunk of chunkRecords(records)) {
        const metadata = await transaction.sendBatch({
          topicMessages: groupByTopic(chunk),
          compression: this.compression,
        });
        // One record batch per topic-partition per call, so its records take consecutive
        // offsets from the batch's base offset; only records that named their partition can be
        // counted without repeating the partitioner's choice.
        const named = new Map<string, number>();
        for (const record of chunk) {
          const key = `${record.topic}\u0000${record.partition ?? -1}`;
          named.set(key, (named.get(key) ?? 0) + 1);
        }
        for (const entry of metadata) {
          const key = `${entry.topicName}\u0000${entry.partition}`;
          const count = named.get(key);
          const mixed = named.has(`${entry.topicName}\u0000-1`);
          if (count === undefined || mixed || entry.baseOffset === undefined) continue;
          written.set(key, {
            topic: entry.topicName,
            partition: entry.partition,
            offset: (BigInt(entry.baseOffset) + BigInt(count)).toString(),
          });
        }
      }
      if (offsets.length > 0) {
        await transaction.sendOffsets({
          consumerGroupId: groupId,
          topics: toOffsetTopics(offsets),
        });
      }
      await options.beforeCommit?.();
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw error;
    }
    return [...written.values()];
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** The consumers' heartbeat interval (ms): kafkajs sends at most one heartbeat per interval. */
const HEARTBEAT_INTERVAL_MS = 1_000;
const HEARTBEAT_SLACK_MS = 250;

/** Exported for tests; services get it from KafkaEventLog.createConsumer. */
export class KafkaLogConsumer implements LogConsumer {
  /** The heartbeat of the group, taken from a batch (kafkajs offers it nowhere else). */
  private heartbeat: (() => Promise<void>) | null = null;
  /** When the coordinator last answered a heartbeat or a join of this consumer. */
  private heartbeatAnsweredAt = Number.NEGATIVE_INFINITY;
  /** A heartbeat this adapter asked for failed after the last answer. */
  private heartbeatFailedSinceAnswer = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly options: ConsumerOptions,
  ) {
    // Joining confirms membership as an answered heartbeat does (kafkajs then skips the next
    // heartbeat for an interval).
    const answered = (): void => {
      this.heartbeatAnsweredAt = performance.now();
      this.heartbeatFailedSinceAnswer = false;
    };
    consumer.on(consumer.events.HEARTBEAT, answered);
    consumer.on(consumer.events.GROUP_JOIN, answered);
  }

  /** A heartbeat through kafkajs; a failure is remembered for confirmMembership. */
  private async beat(heartbeat: () => Promise<void>): Promise<void> {
    try {
      await heartbeat();
    } catch (error) {
      this.heartbeatFailedSinceAnswer = true;
      throw error;
    }
  }

  async run(
    handle: (batch: LogBatch) => Promise<void> | void,
    hooks: ConsumerHooks = {},
  ): Promise<void> {
    const { consumer } = this;
    if (hooks.onAssigned !== undefined) {
      const onAssigned = hooks.onAssigned;
      let joins = 0;
      // kafkajs emits GROUP_JOIN synchronously, before its fetch loop starts: pausing here keeps
      // the new partitions unfetched until the hook (its seeks) is done.
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        const join = ++joins;
        const byTopic = Object.entries(event.payload.memberAssignment).map(
          ([topic, partitions]) => ({ topic, partitions }),
        );
        const assignment = byTopic.flatMap(({ topic, partitions }) =>
          partitions.map((partition) => ({ topic, partition })),
        );
        if (byTopic.length > 0) consumer.pause(byTopic);
        void Promise.resolve(onAssigned(assignment))
          .then(() => {
            // A later rebalance pauses and resumes its own assignment.
            if (join === joins && byTopic.length > 0) consumer.resume(byTopic);
          })
          .catch((error: unknown) =>
            hooks.onCrash?.(error instanceof Error ? error : new Error(String(error))),
          );
      });
    }
    if (hooks.onJoined !== undefined) {
      const onJoined = hooks.onJoined;
      consumer.on(consumer.events.GROUP_JOIN, (event) => {
        onJoined(
          Object.entries(event.payload.memberAssignment).flatMap(([topic, partitions]) =>
            partitions.map((partition) => ({ topic, partition })),
          ),
        );
      });
    }
    if (hooks.onProgress !== undefined) {
      const onProgress = hooks.onProgress;
      // Emitted after each processed batch and also for batches that held only control records
      // or aborted records (which never reach eachBatch); lastOffset covers those too.
      consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
        const { topic, partition, lastOffset } = event.payload;
        onProgress(topic, partition, (BigInt(lastOffset) + 1n).toString());
      });
    }
    if (hooks.onCrash !== undefined) {
      const onCrash = hooks.onCrash;
      consumer.on(consumer.events.CRASH, (event) => {
        if (!event.payload.restart) onCrash(event.payload.error);
      });
    }
    await consumer.subscribe({
      topics: [...this.options.topics],
      fromBeginning: this.options.fromBeginning,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      partitionsConsumedConcurrently: this.options.concurrentPartitions ?? 1,
      // Called through the payload, not destructured: kafkajs types these as methods.
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (!payload.isRunning() || payload.isStale() || batch.messages.length === 0) return;
        this.heartbeat = () => payload.heartbeat();
        await handle({
          topic: batch.topic,
          partition: batch.partition,
          highWatermark: batch.highWatermark,
          records: toLogRecords(batch.topic, batch.partition, batch.messages),
        });
        await this.beat(() => payload.heartbeat());
      },
    });
  }

  async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.consumer.commitOffsets(offsets.map((o) => ({ ...o })));
  }

  seek(topic: string, partition: number, offset: string): void {
    this.consumer.seek({ topic, partition, offset });
  }

  async confirmMembership(): Promise<void> {
    // kafkajs sends no heartbeats of its own while a batch is processed, and its transactional
    // offset commit (TxnOffsetCommit v0-v1) carries no generation, so the broker would accept
    // the commit of an evicted member. A heartbeat fails for such a member (UNKNOWN_MEMBER_ID,
    // ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS); one that succeeded within the heartbeat
    // interval (1 s) is not repeated, and eviction takes a whole session timeout (10 s) without
    // one. Without a batch yet there is nothing this consumer could commit.
    if (this.heartbeat === null) return;
    await this.beat(this.heartbeat);
    // kafkajs also skips the heartbeat, without an error, while it has no member id (between
    // learning that it was evicted and joining again): only an answered heartbeat, recent and
    // newer than any failed one, confirms membership.
    // (The slack covers kafkajs timing its interval on another clock.)
    const age = performance.now() - this.heartbeatAnsweredAt;
    if (this.heartbeatFailedSinceAnswer || age > HEARTBEAT_INTERVAL_MS + HEARTBEAT_SLACK_MS)
      throw new Error('group membership not confirmed: no heartbeat answered within its interval');
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }
}

/**
 * kafkajs's ConfigResourceTypes.TOPIC. Node's ESM loader does not see that named export of
 * kafkajs's CommonJS index (it follows a spread), so it is read from the module object.
 */
const TOPIC_RESOURCE = kafkajs.ConfigResourceTypes.TOPIC;

/**
 * Right after a topic was created, or while a group coordinator is loading, the broker answers
 * "not the leader", "unknown topic or partition" or "not the coordinator" for a moment, and
 * kafkajs's admin client does not retry those itself: retry what kafkajs marks retriable, for
 * about 10 s.
 */
async function retryRetriable<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      const retriable = (error as { retriable?: unknown } | null)?.retriable === true;
      if (!retriable || attempt >= 12) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
    }
  }
}

export class KafkaEventLog implements EventLog {
  private readonly kafka: Kafka;
  private admin: Admin | null = null;
  private readonly compression: CompressionTypes;
  private readonly clients = new Set<{ disconnect(): Promise<void> }>();

  constructor(options: KafkaEventLogOptions) {
    cacheKafkajsCoordinatorLookups();
    const log = options.log;
    this.compression =
      options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
    this.kafka = new Kafka({
      clientId: options.clientId,
      brokers: [...options.brokers],
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5_000 },
      logLevel: logLevel.WARN,
      logCreator:
        () =>
        ({ level, log: entry }) => {
          if (log === undefined || isRetriedConcurrentTransaction(entry)) return;
          const { message, ...extra } = entry;
          const name =
            level === logLevel.ERROR ? 'error' : level === logLevel.WARN ? 'warn' : 'info';
          log(name, message, extra);
        },
    });
  }

  private async getAdmin(): Promise<Admin> {
    if (this.admin === null) {
      const admin = this.kafka.admin();
      await admin.connect();
      this.admin = admin;
    }
    return this.admin;
  }

  async waitUntilReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const admin = await this.getAdmin();
        await admin.describeCluster();
        return;
      } catch (error) {
        await this.admin?.disconnect().catch(() => undefined);
        this.admin = null;
        if (Date.now() > deadline)
          throw new Error('Kafka did not answer in time', { cause: error });
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  async ensureTopics(specs: readonly TopicSpec[]): Promise<void> {
    const admin = await this.getAdmin();
    const existing = new Set(await admin.listTopics());
    const missing = specs.filter((s) => !existing.has(s.name));
    if (missing.length > 0) {
      // Retried: waiting for the new topics' leaders can meet "unknown topic or partition" on a
      // busy broker; a retry after the topics exist returns false (TOPIC_ALREADY_EXISTS).
      await retryRetriable(() =>
        admin.createTopics({
          waitForLeaders: true,
          topics: missing.map((spec) => ({
            topic: spec.name,
            numPartitions: spec.partitions,
            replicationFactor: -1,
            configEntries: Object.entries({
              ...(spec.compacted ? { 'cleanup.policy': 'compact' } : {}),
              ...spec.config,
            }).map(([name, value]) => ({ name, value })),
          })),
        }),
      );
    }
    // Existing topics keep their data; a partition count below the declared one is raised,
    // since a smaller count would break the co-partitioning of requests, predictions and labels.
    const metadata = await retryRetriable(() =>
      admin.fetchTopicMetadata({ topics: specs.map((s) => s.name) }),
    );
    const grow = specs.flatMap((spec) => {
      const found = metadata.topics.find((t) => t.name === spec.name);
      return found !== undefined && found.partitions.length < spec.partitions
        ? [{ topic: spec.name, count: spec.partitions }]
        : [];
    });
    if (grow.length > 0) await admin.createPartitions({ topicPartitions: grow });
  }

  async maxMessageBytes(topic: string): Promise<number> {
    const admin = await this.getAdmin();
    const described = await retryRetriable(() =>
      admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['max.message.bytes'] }],
      }),
    );
    const entry = described.resources[0]?.configEntries.find(
      (e) => e.configName === 'max.message.bytes',
    );
    const value = Number(entry?.configValue);
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new Error(`topic ${topic}: the broker reported no usable max.message.bytes`);
    }
    return value;
  }

  async fetchOffsets(topic: string): Promise<{ partition: number; low: string; high: string }[]> {
    const admin = await this.getAdmin();
    const offsets = await retryRetriable(() => admin.fetchTopicOffsets(topic));
    return offsets.map((o) => ({ partition: o.partition, low: o.low, high: o.high }));
  }

  async offsetsForTime(
    topic: string,
    timestamp: number,
  ): Promise<{ partition: number; offset: string }[]> {
    const admin = await this.getAdmin();
    // kafkajs answers a partition with no record this late with its high watermark (the broker
    // says -1), which is what a reader wants as the end of a time slice.
    const offsets = await retryRetriable(() =>
      admin.fetchTopicOffsetsByTimestamp(topic, timestamp),
    );
    return offsets.map((o) => ({ partition: o.partition, offset: o.offset }));
  }

  async readPartitions(
    topic: string,
    ranges: readonly PartitionRange[],
    onBatch: (batch: LogBatch) => Promise<void>,
  ): Promise<void> {
    const open = new Map<number, PartitionRange>();
    for (const range of ranges)
      if (BigInt(range.from) < BigInt(range.until)) open.set(range.partition, range);
    if (open.size === 0) return;
    // A throw-away group of one member gets every partition of the topic; the ones not asked
    // for stay paused, the others start at their range. Nothing is ever committed for it.
    const consumer = this.kafka.consumer({
      groupId: `dynab-read-${randomUUID()}`,
      allowAutoTopicCreation: false,
      readUncommitted: false,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 4 * 1_048_576,
    });
    await consumer.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        const positions = new Map<number, bigint>();
        const advance = (partition: number, next: bigint): void => {
          const range = open.get(partition);
          if (range === undefined) return;
          if (next > (positions.get(partition) ?? 0n)) positions.set(partition, next);
          if ((positions.get(partition) ?? 0n) >= BigInt(range.until)) open.delete(partition);
          if (open.size === 0) resolve();
        };
        consumer.on(consumer.events.GROUP_JOIN, (event) => {
          const assigned = event.payload.memberAssignment[topic] ?? [];
          const idle = assigned.filter((partition) => !open.has(partition));
          if (idle.length > 0) consumer.pause([{ topic, partitions: idle }]);
          for (const range of open.values())
            consumer.seek({ topic, partition: range.partition, offset: range.from });
        });
        // Also emitted for batches of only transaction markers or aborted records.
        consumer.on(consumer.events.END_BATCH_PROCESS, (event) => {
          advance(event.payload.partition, BigInt(event.payload.lastOffset) + 1n);
        });
        consumer.on(consumer.events.CRASH, (event) => {
          if (!event.payload.restart) reject(event.payload.error);
        });
        consumer
          .subscribe({ topics: [topic], fromBeginning: true })
          .then(() =>
            consumer.run({
              autoCommit: false,
              eachBatch: async ({ batch }) => {
                const range = open.get(batch.partition);
                if (range === undefined) return;
                const until = BigInt(range.until);
                const records = toLogRecords(batch.topic, batch.partition, batch.messages).filter(
                  (r) => BigInt(r.offset) < until,
                );
                if (records.length > 0)
                  await onBatch({
                    topic: batch.topic,
                    partition: batch.partition,
                    highWatermark: batch.highWatermark,
                    records,
                  });
              },
            }),
          )
          .catch(reject);
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
  }

  async fetchCommittedOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<readonly TopicPartitionOffset[]> {
    const admin = await this.getAdmin();
    const answer = await retryRetriable(() => admin.fetchOffsets({ groupId, topics: [...topics] }));
    return answer.flatMap(({ topic, partitions }) =>
      partitions
        .filter((p) => BigInt(p.offset) >= 0n)
        .map((p) => ({ topic, partition: p.partition, offset: p.offset })),
    );
  }

  async createProducer(
    options: { transactionalId?: string; transactionTimeoutMs?: number } = {},
  ): Promise<LogProducer> {
    const producer =
      options.transactionalId === undefined
        ? this.kafka.producer({
            idempotent: true,
            maxInFlightRequests: 5,
            allowAutoTopicCreation: false,
            createPartitioner: keyHashPartitioner,
          })
        : this.kafka.producer({
            idempotent: true,
            transactionalId: options.transactionalId,
            ...(options.transactionTimeoutMs !== undefined
              ? { transactionTimeout: options.transactionTimeoutMs }
              : {}),
            maxInFlightRequests: 1,
            allowAutoTopicCreation: false,
            createPartitioner: keyHashPartitioner,
            // Right after a commit the broker is still writing the transaction's markers and
            // answers the next transaction with CONCURRENT_TRANSACTIONS for a few ms; the
            // client-wide first retry after 100 ms would stall every back-to-back transaction.
            retry: { retries: 12, initialRetryTime: 10, maxRetryTime: 5_000 },
          });
    await producer.connect();
    this.clients.add(producer);
    return new KafkaLogProducer(producer, this.compression);
  }

  async createConsumer(options: ConsumerOptions): Promise<LogConsumer> {
    const consumer = this.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      readUncommitted: false,
      sessionTimeout: options.sessionTimeoutMs ?? 10_000,
      heartbeatInterval: HEARTBEAT_INTERVAL_MS,
      maxWaitTimeInMs: options.maxWaitTimeMs ?? 100,
      maxBytesPerPartition: options.maxBytesPerPartition ?? 1_048_576,
      ...(options.minBytes !== undefined ? { minBytes: options.minBytes } : {}),
      ...(options.coPartitioned === true ? { partitionAssigners: [coPartitionedAssigner] } : {}),
    });
    await consumer.connect();
    this.clients.add(consumer);
    return new KafkaLogConsumer(consumer, options);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.clients].map((c) => c.disconnect()));
    this.clients.clear();
    await this.admin?.disconnect();
    this.admin = null;
  }
}
