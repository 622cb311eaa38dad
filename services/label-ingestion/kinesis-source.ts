// The Kinesis label source. Shards are read with the ShardReader port; positions are sequence
// numbers kept in a compacted Kafka topic (`label-source-checkpoints`, key `<stream>/<shard>`),
// and each checkpoint is written in the same Kafka transaction as the labels and dead letters of
// the records up to it, so a restart resumes exactly after what was committed: no record
// skipped, no label written twice.
//
// Sharing shards between instances: the instances join one consumer group on the checkpoints
// topic, and an instance reads exactly the shards whose checkpoint key falls on a partition the
// group assigned to it (murmur2, as Kafka's partitioner). Kafka's group protocol is the lease:
// a shard has one owner per generation, a rebalance moves shards with their checkpoint
// partitions, and an owner confirms its membership before every transaction, so one that lost
// its shards (evicted, or a rebalance in progress) commits nothing. The new owner reads the
// checkpoints read-committed, so it waits for a transaction still open on them.
//
// Resharding: children are read only once every listed parent has an `ended` checkpoint
// (core/shard-plan.ts), so the records of one partition key keep their order. Iterators that
// expire are renewed from the last committed position; throttling and failed calls back off
// exponentially (100 ms doubling up to 10 s).
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { toDynabError, type DynabError } from '../../lib/errors/catalogue.ts';
import type {
  EventLog,
  LogConsumer,
  LogProducer,
  LogRecord,
  OutRecord,
} from '../../lib/event-log/event-log.ts';
import { partitionForKey } from '../../lib/event-log/murmur2.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { buildDeadLetter, warnDeadLettered } from '../../lib/stream/processor-runner.ts';
import { createTransactionBatcher } from '../../lib/stream/transaction-batcher.ts';
import {
  blockingParents,
  nextBackoff,
  shardsToRead,
  type ShardCheckpoint,
  type ShardInfo,
} from './core/shard-plan.ts';
import {
  ShardReadError,
  type ShardBatch,
  type ShardReader,
  type ShardRecord,
} from './kinesis/shard-reader.ts';
import type { LabelSource, RecordHandler, SourceStats } from './label-source.ts';

export interface KinesisLabelSourceOptions {
  readonly reader: ShardReader;
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  /** Compacted topic of checkpoints (topics.labelSourceCheckpoints). */
  readonly checkpointTopic: string;
  /** The group whose members share the shards. */
  readonly groupId: string;
  /** Unique per instance and stable across its restarts. */
  readonly transactionalId: string;
  readonly deadLetterTopic: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Pause after a GetRecords call that returned nothing. */
  readonly pollIntervalMs: number;
  /** Most records asked for per GetRecords call. */
  readonly maxRecords: number;
  /** How often shards are listed again (new children after a reshard are found sooner). */
  readonly discoveryIntervalMs?: number;
  readonly onFatal?: (error: Error) => void;
}

export interface KinesisSourceStats extends SourceStats {
  /** Iterators renewed after they expired. */
  expiredIterators: number;
  /** Calls that were throttled or failed and were retried after a backoff. */
  backoffs: number;
  /** Shards read to their end. */
  shardsEnded: number;
}

export interface RunningKinesisSource {
  readonly stats: Readonly<KinesisSourceStats>;
  /** Shards being read now. */
  reading(): readonly string[];
  stop(): Promise<void>;
}

const MAX_BACKOFF_MS = 10_000;
const DEFAULT_DISCOVERY_INTERVAL_MS = 10_000;

export function checkpointKey(stream: string, shardId: string): string {
  return `${stream}/${shardId}`;
}

export function encodeCheckpoint(checkpoint: ShardCheckpoint): Buffer {
  return Buffer.from(JSON.stringify(checkpoint));
}

/** Throws on anything but a checkpoint: resuming from a guess would skip or repeat records. */
export function decodeCheckpoint(bytes: Uint8Array): ShardCheckpoint {
  const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<ShardCheckpoint>;
  if (
    (value.sequenceNumber !== null && typeof value.sequenceNumber !== 'string') ||
    typeof value.ended !== 'boolean'
  ) {
    throw new Error(`not a shard checkpoint: ${Buffer.from(bytes).toString('utf8').slice(0, 200)}`);
  }
  return { sequenceNumber: value.sequenceNumber, ended: value.ended };
}

interface ShardTask {
  stopped: boolean;
  done: Promise<void>;
}

export function kinesisLabelSource(options: KinesisLabelSourceOptions): LabelSource & {
  startKinesis(handle: RecordHandler): Promise<RunningKinesisSource>;
} {
  const { reader, eventLog, logger } = options;
  const stream = reader.stream;
  const startKinesis = async (handle: RecordHandler): Promise<RunningKinesisSource> => {
    const stats: KinesisSourceStats = {
      records: 0,
      deadLettered: 0,
      transactions: 0,
      expiredIterators: 0,
      backoffs: 0,
      shardsEnded: 0,
    };
    const partitions = (await eventLog.fetchOffsets(options.checkpointTopic)).length;
    const partitionOf = (shardId: string): number =>
      partitionForKey(checkpointKey(stream, shardId), partitions);
    const producer: LogProducer = await eventLog.createProducer({
      transactionalId: options.transactionalId,
    });
    const consumer: LogConsumer = await eventLog.createConsumer({
      groupId: options.groupId,
      topics: [options.checkpointTopic],
      fromBeginning: false,
      maxWaitTimeMs: 1_000,
    });
    const transactions = createTransactionBatcher({
      producer,
      groupId: options.groupId,
      beforeCommit: () => consumer.confirmMembership(),
    });

    let stopped = false;
    let owned = new Set<number>();
    const checkpoints = new Map<string, ShardCheckpoint>();
    const tasks = new Map<string, ShardTask>();
    let shards: readonly ShardInfo[] = [];
    const owns = (shardId: string): boolean => owned.has(partitionOf(shardId));

    // A sleep that ends early when the source stops.
    const wakers = new Set<() => void>();
    const sleep = (ms: number): Promise<void> =>
      new Promise((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          wakers.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, ms);
        wakers.add(wake);
      });

    /** Reads the committed checkpoints of these partitions to their end. */
    const loadCheckpoints = async (parts: readonly number[]): Promise<void> => {
      if (parts.length === 0) return;
      const wanted = new Set(parts);
      const ranges = (await eventLog.fetchOffsets(options.checkpointTopic))
        .filter((range) => wanted.has(range.partition) && range.low !== range.high)
        .map((range) => ({ partition: range.partition, from: range.low, until: range.high }));
      const prefix = `${stream}/`;
      await eventLog.readPartitions(options.checkpointTopic, ranges, (batch) => {
        for (const record of batch.records) {
          const key = record.key?.toString('utf8') ?? '';
          if (!key.startsWith(prefix)) continue;
          const shardId = key.slice(prefix.length);
          if (record.value === null) checkpoints.delete(shardId);
          else checkpoints.set(shardId, decodeCheckpoint(record.value));
        }
        return Promise.resolve();
      });
    };

    const asLogRecord = (shardId: string, record: ShardRecord): LogRecord => ({
      topic: `kinesis:${stream}/${shardId}`,
      partition: -1,
      offset: record.sequenceNumber,
      key: Buffer.from(record.partitionKey),
      value: Buffer.from(record.data),
      headers: {},
      timestamp: record.arrivalTime,
    });

    const outputsOf = (record: LogRecord): readonly OutRecord[] => {
      try {
        return handle(record);
      } catch (thrown) {
        const error: DynabError = toDynabError(thrown);
        warnDeadLettered(logger, record, error);
        stats.deadLettered++;
        return [
          buildDeadLetter(
            record,
            error,
            'label-ingestion',
            options.deadLetterTopic,
            options.now(),
            (letter) => options.codecs['dead-letter'].encode(letter),
          ),
        ];
      }
    };

    // Read through functions: the flags change while a call awaits.
    const isStopped = (): boolean => stopped;
    const halted = (task: ShardTask): boolean => task.stopped || stopped;

    /** Failures of Kinesis calls are retried after a backoff; only the transaction's are not. */
    const fromKinesis = async <T>(call: () => Promise<T>): Promise<T> => {
      try {
        return await call();
      } catch (error) {
        if (error instanceof ShardReadError) throw error;
        const message = error instanceof Error ? error.message : String(error);
        throw new ShardReadError('failed', message, { cause: error });
      }
    };

    const readShard = async (shardId: string, task: ShardTask): Promise<void> => {
      let position = checkpoints.get(shardId)?.sequenceNumber ?? null;
      let backoff = 0;
      let iterator: string | null = null;
      const fields = { stream, shardId };
      while (!task.stopped) {
        try {
          iterator ??= await fromKinesis(() => reader.shardIterator(shardId, position));
          const current: string = iterator;
          const batch: ShardBatch = await fromKinesis(() =>
            reader.getRecords(current, options.maxRecords),
          );
          backoff = 0;
          if (halted(task)) return;
          const ended = batch.nextIterator === null;
          if (batch.records.length > 0 || ended) {
            const outputs = batch.records.flatMap((record) =>
              outputsOf(asLogRecord(shardId, record)),
            );
            const last = batch.records.at(-1)?.sequenceNumber ?? position;
            const checkpoint: ShardCheckpoint = { sequenceNumber: last, ended };
            await transactions.submit(
              [
                ...outputs,
                {
                  topic: options.checkpointTopic,
                  key: checkpointKey(stream, shardId),
                  value: encodeCheckpoint(checkpoint),
                  partition: partitionOf(shardId),
                },
              ],
              [],
            );
            stats.records += batch.records.length;
            stats.transactions = transactions.stats.transactions;
            checkpoints.set(shardId, checkpoint);
            position = last;
          }
          if (ended) {
            stats.shardsEnded++;
            logger.info(fields, 'shard read to its end');
            kick();
            return;
          }
          iterator = batch.nextIterator;
          if (batch.records.length === 0) await sleep(options.pollIntervalMs);
        } catch (error) {
          if (halted(task)) return;
          if (error instanceof ShardReadError && error.kind === 'expired-iterator') {
            stats.expiredIterators++;
            logger.info(fields, 'shard iterator expired; renewed from the last checkpoint');
            iterator = null;
            continue;
          }
          if (!(error instanceof ShardReadError)) {
            // A failed transaction may still have committed: this shard restarts from the
            // checkpoint as Kafka holds it (re-read before the next start), never from memory.
            logger.warn(
              { ...fields, err: error },
              'shard reader stopped; it restarts from its checkpoint',
            );
            stale.add(partitionOf(shardId));
            return;
          }
          stats.backoffs++;
          backoff = nextBackoff(backoff, MAX_BACKOFF_MS);
          logger.warn(
            { ...fields, backoffMs: backoff, kind: error.kind, err: error },
            'Kinesis call throttled or failed; backing off',
          );
          await sleep(backoff);
        }
      }
    };

    /** Partitions whose checkpoints must be read again before their shards restart. */
    const stale = new Set<number>();

    const startShard = (shardId: string): void => {
      const task: ShardTask = { stopped: false, done: Promise.resolve() };
      task.done = readShard(shardId, task)
        .catch((error: unknown) => logger.error({ err: error, shardId }, 'shard reader failed'))
        .finally(() => {
          if (tasks.get(shardId) === task) tasks.delete(shardId);
          kick();
        });
      tasks.set(shardId, task);
    };

    const stopShards = async (which: (shardId: string) => boolean): Promise<void> => {
      const stopping = [...tasks].filter(([shardId]) => which(shardId));
      for (const [, task] of stopping) task.stopped = true;
      for (const wake of [...wakers]) wake();
      await Promise.all(stopping.map(([, task]) => task.done));
    };

    // Discovery runs one pass at a time; a kick during a pass asks for another one after it.
    let running = false;
    let again = false;
    let timer: NodeJS.Timeout | undefined;
    const discover = async (): Promise<void> => {
      if (stopped) return;
      shards = await reader.listShards();
      if (stale.size > 0) {
        const parts = [...stale];
        stale.clear();
        await loadCheckpoints(parts);
      }
      const parents = blockingParents(shards, checkpoints, owns);
      const foreign = [...new Set(parents.filter((p) => !owns(p)).map(partitionOf))];
      await loadCheckpoints(foreign);
      if (isStopped()) return;
      for (const shardId of shardsToRead(shards, checkpoints, owns, new Set(tasks.keys()))) {
        if (stale.has(partitionOf(shardId))) continue;
        logger.info({ stream, shardId }, 'reading shard');
        startShard(shardId);
      }
    };
    const kick = (): void => {
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      running = true;
      clearTimeout(timer);
      void discover()
        .catch((error: unknown) => {
          logger.warn({ stream, err: error }, 'shard discovery failed; retrying');
        })
        .finally(() => {
          running = false;
          if (stopped) return;
          if (again) {
            again = false;
            kick();
            return;
          }
          timer = setTimeout(kick, options.discoveryIntervalMs ?? DEFAULT_DISCOVERY_INTERVAL_MS);
        });
    };

    await consumer.run(() => undefined, {
      onAssigned: async (assignment) => {
        const next = new Set(
          assignment.filter((tp) => tp.topic === options.checkpointTopic).map((tp) => tp.partition),
        );
        await stopShards((shardId) => !next.has(partitionOf(shardId)));
        const gained = [...next].filter((p) => !owned.has(p));
        owned = next;
        for (const shardId of [...checkpoints.keys()]) {
          if (!owns(shardId)) checkpoints.delete(shardId);
        }
        await loadCheckpoints(gained);
        logger.info({ stream, partitions: [...owned] }, 'checkpoint partitions assigned');
        kick();
      },
      onCrash: (error) => {
        logger.error({ err: error }, 'checkpoint consumer crashed');
        options.onFatal?.(error);
      },
    });

    return {
      stats,
      reading: () => [...tasks.keys()].sort(),
      async stop() {
        stopped = true;
        clearTimeout(timer);
        await stopShards(() => true);
        await consumer.stop();
        await producer.close();
      },
    };
  };
  return {
    name: `kinesis:${stream}`,
    startKinesis,
    async start(handle) {
      const running = await startKinesis(handle);
      return {
        get stats() {
          return running.stats;
        },
        stop: () => running.stop(),
      };
    },
  };
}
