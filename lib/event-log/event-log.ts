// The event-log port: the small surface of Kafka that dynab's services use. The only
// implementation today is kafkajs (kafka-event-log.ts); keeping the port small lets a faster
// client replace it without touching the services.

export interface LogRecord {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a decimal string (int64). */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Broker or producer timestamp, epoch ms. */
  readonly timestamp: number;
}

export interface OutRecord {
  readonly topic: string;
  readonly key: string | Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>>;
  readonly partition?: number;
  /** The record's create time, epoch ms; the producer's clock when omitted. */
  readonly timestamp?: number;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
  /** cleanup.policy=compact: the topic is a table keyed by the record key. */
  readonly compacted: boolean;
  readonly config?: Readonly<Record<string, string>>;
}

export interface TopicPartitionOffset {
  readonly topic: string;
  readonly partition: number;
  /** The next offset to consume. */
  readonly offset: string;
}

export interface LogProducer {
  send(records: readonly OutRecord[]): Promise<void>;
  /**
   * Produces the records and commits the consumer group's offsets in one Kafka transaction:
   * either both become visible to read-committed consumers or neither does. Resolves with the
   * next offset after the records written, for every topic-partition whose records all named
   * their partition (a changelog's writer checkpoints these).
   */
  sendWithOffsets(
    records: readonly OutRecord[],
    groupId: string,
    offsets: readonly TopicPartitionOffset[],
    options?: SendWithOffsetsOptions,
  ): Promise<readonly TopicPartitionOffset[]>;
  close(): Promise<void>;
}

export interface SendWithOffsetsOptions {
  /**
   * Runs once the records and offsets are in the transaction, right before it commits; if it
   * throws, the transaction is aborted. A consumer group member confirms here that it still
   * owns its partitions: from then on, the records already written hold back any new owner's
   * read-committed reads of those partitions until this transaction ends.
   */
  readonly beforeCommit?: () => Promise<void>;
}

export interface LogBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly LogRecord[];
  /** Offset of the last record in the partition when fetched, for lag. */
  readonly highWatermark: string;
}

export interface ConsumerHooks {
  /**
   * Called after every rebalance with this member's partitions (all subscribed topics). They stay
   * paused until the returned promise settles (and no later rebalance has happened), so a seek
   * made here takes effect before any of their records is fetched.
   */
  readonly onAssigned?: (
    assignment: readonly { topic: string; partition: number }[],
  ) => Promise<void> | void;
  /**
   * Called after every rebalance with this member's partitions, for bookkeeping only (readiness,
   * per-partition metrics): unlike onAssigned, nothing is paused while it runs.
   */
  readonly onJoined?: (assignment: readonly { topic: string; partition: number }[]) => void;
  /** Called when a runner loop crashed for good (after kafkajs's own retries). */
  readonly onCrash?: (error: Error) => void;
  /**
   * Called after every fetched batch with the next offset past everything the fetch covered,
   * including what a read-committed consumer never sees as records: transaction markers and
   * aborted records. A reader that compares its position with the end offset needs this, or a
   * topic that ends in a commit marker looks one offset short forever.
   */
  readonly onProgress?: (topic: string, partition: number, nextOffset: string) => void;
}

export interface ConsumerOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where to start when the group has no committed offset. */
  readonly fromBeginning: boolean;
  /**
   * Assign partition number p of every subscribed topic to the same member, so co-partitioned
   * topics (predictions and labels keyed by request id) are joined by one instance.
   */
  readonly coPartitioned?: boolean;
  readonly sessionTimeoutMs?: number;
  readonly maxBytesPerPartition?: number;
  readonly maxWaitTimeMs?: number;
  /** A fetch waits (up to maxWaitTimeMs) until this many bytes are there: linger, in bytes. */
  readonly minBytes?: number;
  /**
   * Batches of this many different partitions may be handled at the same time (default 1).
   * Batches of one partition are always handled one after the other, in offset order.
   */
  readonly concurrentPartitions?: number;
}

export interface LogConsumer {
  /**
   * Starts consuming; `handle` is called once per fetched batch (one topic-partition). The next
   * batch of the same partition waits until it settles; batches of other partitions may run
   * concurrently (`concurrentPartitions`). A handler that throws gets its batch again.
   */
  run(handle: (batch: LogBatch) => Promise<void> | void, hooks?: ConsumerHooks): Promise<void>;
  /** Commits offsets (next offset to read) for the group, outside any transaction. */
  commit(offsets: readonly TopicPartitionOffset[]): Promise<void>;
  /** Moves the fetch position of a partition. Records already fetched may still be delivered. */
  seek(topic: string, partition: number, offset: string): void;
  /**
   * Throws unless this consumer is still a member of its group's current generation (checked
   * by a heartbeat unless one succeeded within the heartbeat interval). Call it right before a
   * transaction that commits offsets: a member evicted while it processed (it missed its session
   * timeout) no longer owns its partitions, and a transaction it committed would publish again
   * what their new owner publishes.
   */
  confirmMembership(): Promise<void>;
  stop(): Promise<void>;
}

/** A stretch of one partition to read: offsets [from, until). */
export interface PartitionRange {
  readonly partition: number;
  readonly from: string;
  readonly until: string;
}

export interface EventLog {
  ensureTopics(specs: readonly TopicSpec[]): Promise<void>;
  /**
   * Reads the given ranges of a topic's partitions (read-committed; no consumer group offsets
   * are used or committed) and resolves once every range has been read to its end. `onBatch`
   * gets the records in offset order, one partition's batch at a time.
   */
  readPartitions(
    topic: string,
    ranges: readonly PartitionRange[],
    onBatch: (batch: LogBatch) => Promise<void>,
  ): Promise<void>;
  /** The offsets a consumer group has committed for these topics (partitions without one: none). */
  fetchCommittedOffsets(
    groupId: string,
    topics: readonly string[],
  ): Promise<readonly TopicPartitionOffset[]>;
  /**
   * A producer; with a transactionalId, a transactional one (Kafka fences an earlier producer
   * with the same id). A transaction left open by a dead producer holds back read-committed
   * readers until the broker aborts it after transactionTimeoutMs (kafkajs default: 60 s).
   * The first sendWithOffsets of a new transactional producer, even with nothing to send, returns
   * only once the broker has finished (committed or aborted) every earlier transaction of its id:
   * the stateful runner relies on this to settle a transaction whose commit went unanswered.
   */
  createProducer(options?: {
    transactionalId?: string;
    transactionTimeoutMs?: number;
  }): Promise<LogProducer>;
  createConsumer(options: ConsumerOptions): Promise<LogConsumer>;
  /**
   * The largest record batch the topic accepts (`max.message.bytes`, the topic's own setting or
   * the broker's `message.max.bytes`), as the broker reports it.
   */
  maxMessageBytes(topic: string): Promise<number>;
  /** Earliest and latest offsets of every partition of a topic. */
  fetchOffsets(topic: string): Promise<{ partition: number; low: string; high: string }[]>;
  /**
   * Per partition of a topic, the earliest offset whose record timestamp is at or after
   * `timestamp` (epoch ms), or the partition's end offset when no record is that late (Kafka's
   * ListOffsets by timestamp). Lets a reader start at a point in time instead of the beginning.
   */
  offsetsForTime(
    topic: string,
    timestamp: number,
  ): Promise<{ partition: number; offset: string }[]>;
  /** Waits until the cluster answers metadata requests. */
  waitUntilReady(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}
