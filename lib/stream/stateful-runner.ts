// The generic runner for stateful processors, after Kafka Streams' stateful tasks: the state of
// input partition p lives in the local key-value store as a cache of changelog partition p
// (a compacted topic), and every batch commits its outputs, its state changes (as changelog
// records) and its consumed offsets in one Kafka transaction.
//
//   assignment: for each owned partition, read the changelog from the local checkpoint (the
//               changelog offset the local state reflects) to its end, then process. An empty
//               or lost disk restores the whole (compacted) changelog: time grows with the size
//               of the state, not with the length of the input history.
//   batch:      the processor turns the batches of one partition number into outputs and store
//               operations; the runner sends outputs + changelog records + offsets in one
//               transaction, then applies the operations and the new checkpoint to the local
//               store in one atomic write (with any local-only operations on keys derived from
//               the state, such as an index, which a restore rebuilds instead of reading).
//   crash:      before the commit, nothing happened (the transaction is aborted); after it, the
//               local store may lack the batch, and the next restore reads it from the changelog.
//               Applying a changelog record twice is harmless: each is a whole value or a
//               deletion, applied in offset order. A restore that changed the local state marks
//               the partition (a local key, written with its first change) until the processor
//               has loaded it: a crash in between, after the changelog was read to its end,
//               still reloads it as restored (its local-only keys rebuilt) on the next start.
//   failure:    a transaction that fails may still have committed (an unanswered commit), so the
//               partitions it touched are resynchronised before their next batch: wait until the
//               broker has finished that transaction (a new producer's InitProducerId), read the
//               group's committed offsets, restore the changelog tail, reload the processor's
//               memory, and skip records below those offsets.
// The group's committed offsets decide where consumption resumes, so standard lag tools see the
// consumer's true lag. The processor holds no offsets of its own.
import type {
  ConsumerOptions,
  EventLog,
  LogBatch,
  LogConsumer,
  LogProducer,
  OutRecord,
  TopicPartitionOffset,
} from '../event-log/event-log.ts';
import type { Logger } from '../log/logger.ts';
import { discardMetrics, type Metrics } from '../metrics/metrics.ts';
import type { Readiness } from '../metrics/readiness.ts';
import { RUNNER_SERIES, runnerSeries } from '../metrics/series.ts';
import type { KeyValueStore, StoreOperation } from '../store/key-value-store.ts';
import { createCoalescer } from './coalescer.ts';
import {
  DEFAULT_CONCURRENT_PARTITIONS,
  memberReadiness,
  recordCommitted,
} from './processor-runner.ts';
import { createSerialQueue } from './serial-queue.ts';
import { mergeOffsets } from './transaction-batcher.ts';

/** What one partition's batch (or a punctuation) changes: records to emit, state to write. */
export interface StateChange {
  readonly outputs: readonly OutRecord[];
  /** Store operations on this partition's keys; each becomes a changelog record too. */
  readonly operations: readonly StoreOperation[];
  /**
   * Store operations on derived keys (an index the processor can rebuild from the changelogged
   * state): applied locally in the same atomic write, never changelogged. After a restore that
   * read changelog records, `load` is told so and rebuilds them.
   */
  readonly localOperations?: readonly StoreOperation[];
  /** Called once the change is committed and in the local store: mirror it in memory. */
  readonly afterCommit?: () => void;
}

export interface StatefulProcessor {
  /** The key prefixes that hold partition p's state (cleared before a full restore). */
  stateKeyPrefixes(p: number): readonly string[];
  /**
   * Partition p's state is in the local store, restored: load what is kept in memory.
   * `restored` is true when the restore changed the local state (it read changelog records, or
   * started from nothing): keys kept only locally (`StateChange.localOperations`) may then be
   * stale and are to be rebuilt from the changelogged ones.
   */
  load(p: number, restored: boolean): Promise<void>;
  /** Partition p is no longer owned (or is being reloaded): forget what is kept in memory. */
  unload(p: number): void;
  /**
   * Folds the batches of partition number p (every input topic; each batch in offset order)
   * into one change. Reads state from the store; never writes it.
   */
  process(p: number, batches: readonly LogBatch[]): Promise<StateChange>;
}

export interface StatefulRunnerOptions {
  readonly eventLog: EventLog;
  readonly store: KeyValueStore;
  readonly groupId: string;
  /** Input topics, co-partitioned: partition p of each goes to the same member. */
  readonly topics: readonly string[];
  /** Compacted; partition p holds the state of input partition p. */
  readonly changelogTopic: string;
  /** Unique per instance and stable across its restarts: Kafka fences the previous producer. */
  readonly transactionalId: string;
  /** How long a dead instance's open transaction can hold back readers (ms). */
  readonly transactionTimeoutMs?: number;
  readonly concurrentPartitions?: number;
  readonly fetch?: Pick<ConsumerOptions, 'maxBytesPerPartition' | 'maxWaitTimeMs' | 'minBytes'>;
  readonly logger: Logger;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
  /** Where the runner's series go (records processed, dead letters, lag, transactions). */
  readonly metrics?: Metrics;
  /**
   * Gets a condition that holds while the consumer is in its group and every owned partition is
   * restored (unmet from a rebalance until its restore is done).
   */
  readonly readiness?: Readiness;
}

export interface StatefulRunnerStats {
  /** Partition batches handed to the processor. */
  batches: number;
  /** Input records processed and committed. */
  processed: number;
  /** Kafka transactions committed (batches and punctuations). */
  transactions: number;
  /** Changelog records applied to the local store while restoring. */
  restoredRecords: number;
  /** Partitions restored (from the checkpoint, or from the start after a lost disk). */
  restores: number;
  /** Restores that started from an empty or unusable local state. */
  fullRestores: number;
  /** Time spent restoring, in ms (clearing, reading the changelog, writing the store). */
  restoreMs: number;
  /** Records delivered again below the group's committed offset, skipped. */
  skippedBelowCommitted: number;
  /** Partitions resynchronised after a failed transaction. */
  resyncs: number;
}

export interface RunningStatefulRunner {
  readonly stats: Readonly<StatefulRunnerStats>;
  /** The partition numbers this instance owns now. */
  owned(): readonly number[];
  /**
   * Runs `work` in the processing queue (never beside a batch or a rebalance) and commits the
   * changes it returns, per partition, in one transaction without input offsets.
   */
  punctuate(work: () => Promise<ReadonlyMap<number, StateChange>>): Promise<void>;
  stop(): Promise<void>;
}

/** Local-only key: the next changelog offset that partition p's local state does not reflect. */
export const checkpointKey = (changelogTopic: string, p: number): string =>
  `~checkpoint/${changelogTopic}/${String(p).padStart(5, '0')}`;

/**
 * Local-only key: a restore changed partition p's local state, and the processor has not yet
 * completed loading it (rebuilding what it keeps only locally). Written with the restore's first
 * change, deleted once the load completed: a process that dies in between (after the restore read
 * the whole changelog, so that the next restore reads nothing) still reloads as restored.
 */
export const reloadPendingKey = (changelogTopic: string, p: number): string =>
  `~reload/${changelogTopic}/${String(p).padStart(5, '0')}`;

/** Store operations applied per local write while restoring. */
const RESTORE_WRITE_CHUNK = 5_000;
/** The value of a reloadPendingKey (the key says everything). */
const RELOAD_PENDING = new Uint8Array(0);

export async function startStatefulRunner(
  options: StatefulRunnerOptions,
  processor: StatefulProcessor,
): Promise<RunningStatefulRunner> {
  const { eventLog, store, logger, changelogTopic } = options;
  // Registered before anything is awaited: the service is not ready from this call on.
  const member = memberReadiness(options.readiness, options.groupId);
  const stats: StatefulRunnerStats = {
    batches: 0,
    processed: 0,
    transactions: 0,
    restoredRecords: 0,
    restores: 0,
    fullRestores: 0,
    restoreMs: 0,
    skippedBelowCommitted: 0,
    resyncs: 0,
  };
  const createProducer = (): Promise<LogProducer> =>
    eventLog.createProducer({
      transactionalId: options.transactionalId,
      ...(options.transactionTimeoutMs !== undefined
        ? { transactionTimeoutMs: options.transactionTimeoutMs }
        : {}),
    });
  let producer = await createProducer();
  /**
   * A transaction of this producer failed: the broker may still be completing it (an unanswered
   * commit is finished by the coordinator), so its outcome may become visible at any moment.
   */
  let producerUnsettled = false;
  const consumer: LogConsumer = await eventLog.createConsumer({
    groupId: options.groupId,
    topics: options.topics,
    fromBeginning: true,
    coPartitioned: true,
    concurrentPartitions: options.concurrentPartitions ?? DEFAULT_CONCURRENT_PARTITIONS,
    ...(options.fetch ?? {}),
  });

  const metrics = options.metrics ?? discardMetrics;
  const series = runnerSeries(metrics);
  metrics.counterFrom(RUNNER_SERIES.recordsProcessed, () => stats.processed);
  const transactionSeconds = series.transactionSeconds.labels();

  const owned = new Set<number>();
  /** Next offset to process per input topic-partition: records below were committed. */
  const positions = new Map<string, bigint>();
  const positionKey = (topic: string, p: number): string => `${topic}\u0000${p}`;
  const needsResync = new Set<number>();

  const clearPartition = async (p: number): Promise<void> => {
    const deletions: StoreOperation[] = [
      { type: 'put', key: reloadPendingKey(changelogTopic, p), value: RELOAD_PENDING },
    ];
    for (const prefix of processor.stateKeyPrefixes(p)) {
      for await (const [key] of store.entries(prefix)) {
        deletions.push({ type: 'del', key });
        if (deletions.length >= RESTORE_WRITE_CHUNK) await store.write(deletions.splice(0));
      }
    }
    deletions.push({ type: 'del', key: checkpointKey(changelogTopic, p) });
    await store.write(deletions);
  };

  /**
   * Brings the local state of these partitions up to the end of their changelog partitions, and
   * returns those whose local state it changed (records applied, or cleared for a full restore).
   */
  const restore = async (partitions: readonly number[]): Promise<Set<number>> => {
    const changed = new Set<number>();
    if (partitions.length === 0) return changed;
    const started = performance.now();
    const ends = new Map(
      (await eventLog.fetchOffsets(changelogTopic)).map((o) => [o.partition, o] as const),
    );
    const ranges: { partition: number; from: string; until: string }[] = [];
    for (const p of partitions) {
      const end = ends.get(p);
      if (end === undefined)
        throw new Error(`changelog ${changelogTopic} has no partition ${p}: create it first`);
      // An earlier restore changed this state and its load never completed.
      if ((await store.get(reloadPendingKey(changelogTopic, p))) !== undefined) changed.add(p);
      const stored = await store.get(checkpointKey(changelogTopic, p));
      const checkpoint = stored === undefined ? undefined : BigInt(stored.toString());
      let from = checkpoint;
      if (
        checkpoint === undefined ||
        checkpoint < BigInt(end.low) ||
        checkpoint > BigInt(end.high)
      ) {
        // No state here, or state from another changelog (deleted, recreated, truncated).
        await clearPartition(p);
        changed.add(p);
        stats.fullRestores++;
        from = BigInt(end.low);
      }
      ranges.push({ partition: p, from: String(from), until: end.high });
    }
    let applied = 0;
    await eventLog.readPartitions(changelogTopic, ranges, async (batch) => {
      for (let i = 0; i < batch.records.length; i += RESTORE_WRITE_CHUNK) {
        const records = batch.records.slice(i, i + RESTORE_WRITE_CHUNK);
        const last = records[records.length - 1];
        if (last === undefined) continue;
        const operations: StoreOperation[] = records.map((r) => {
          const key = r.key?.toString() ?? '';
          return r.value === null ? { type: 'del', key } : { type: 'put', key, value: r.value };
        });
        operations.push(
          {
            type: 'put',
            key: checkpointKey(changelogTopic, batch.partition),
            value: Buffer.from((BigInt(last.offset) + 1n).toString()),
          },
          // With the state it changes: until the load completes, the partition is restored.
          {
            type: 'put',
            key: reloadPendingKey(changelogTopic, batch.partition),
            value: RELOAD_PENDING,
          },
        );
        await store.write(operations);
        changed.add(batch.partition);
        stats.restoredRecords += records.length;
        applied += records.length;
      }
    });
    stats.restores += partitions.length;
    const ms = performance.now() - started;
    stats.restoreMs += ms;
    // Everything below each range's end is applied (the tail may be transaction markers).
    await store.write(
      ranges.map((r) => ({
        type: 'put' as const,
        key: checkpointKey(changelogTopic, r.partition),
        value: Buffer.from(r.until),
      })),
    );
    logger.info(
      { changelog: changelogTopic, partitions, records: applied, ms: Math.round(ms) },
      'state restored from the changelog',
    );
    return changed;
  };

  /** The processor loads partition p; a restore's change counts as loaded once that completed. */
  const loadRestored = async (p: number, restored: boolean): Promise<void> => {
    await processor.load(p, restored);
    if (restored) await store.write([{ type: 'del', key: reloadPendingKey(changelogTopic, p) }]);
  };

  const loadPositions = async (partitions: readonly number[]): Promise<void> => {
    const wanted = new Set(partitions);
    for (const topic of options.topics)
      for (const p of wanted) positions.delete(positionKey(topic, p));
    for (const entry of await eventLog.fetchCommittedOffsets(options.groupId, options.topics)) {
      if (wanted.has(entry.partition))
        positions.set(positionKey(entry.topic, entry.partition), BigInt(entry.offset));
    }
  };

  /**
   * Waits until the failed transaction's outcome is final. A new producer's first transaction
   * (InitProducerId for the same transactional id) is answered only once the coordinator has
   * finished every earlier transaction of that id, committing or aborting it, so the reads that
   * follow see its outcome. Reading before that could see its changelog records and its
   * committed offsets on different sides of its commit: restored without its state changes but
   * resuming after its inputs, the changes of that transaction were lost (a label's join
   * forgotten and its request later closed with the implicit reward).
   */
  const settleProducer = async (): Promise<void> => {
    if (!producerUnsettled) return;
    await producer.close().catch(() => undefined);
    producer = await createProducer();
    await producer.sendWithOffsets([], options.groupId, []);
    producerUnsettled = false;
  };

  const onAssigned = async (
    assignment: readonly { topic: string; partition: number }[],
  ): Promise<void> => {
    member.down('restoring the state of the assigned partitions');
    const now = new Set(assignment.map((a) => a.partition));
    for (const p of [...owned]) {
      if (now.has(p)) continue;
      owned.delete(p);
      needsResync.delete(p);
      processor.unload(p);
      for (const topic of options.topics) {
        positions.delete(positionKey(topic, p));
        series.lag.remove(topic, String(p));
      }
    }
    // Kept partitions are restored too: cheap when nothing is new, and right if another
    // instance owned them in between.
    const partitions = [...now].sort((a, b) => a - b);
    await settleProducer();
    for (const p of partitions) processor.unload(p);
    // The committed offsets before the changelog, as in resync below.
    await loadPositions(partitions);
    const changed = await restore(partitions);
    for (const p of partitions) {
      await loadRestored(p, changed.has(p));
      owned.add(p);
      needsResync.delete(p);
    }
    member.assigned();
    logger.info({ partitions }, 'partitions assigned');
  };

  const resync = async (p: number): Promise<void> => {
    stats.resyncs++;
    await settleProducer();
    processor.unload(p);
    // The committed offsets before the changelog: whatever commits in between is then applied
    // twice (a whole value or a deletion, and records the processor recognises as duplicates),
    // never skipped.
    await loadPositions([p]);
    const changed = await restore([p]);
    await loadRestored(p, changed.has(p));
    needsResync.delete(p);
    logger.warn({ partition: p }, 'partition resynchronised after a failed transaction');
  };

  /** Commits the changes and offsets in one transaction, then applies them locally. */
  const commit = async (
    changes: ReadonlyMap<number, StateChange>,
    offsets: readonly TopicPartitionOffset[],
  ): Promise<void> => {
    const records: OutRecord[] = [];
    for (const [p, change] of changes) {
      records.push(...change.outputs);
      for (const op of change.operations) {
        records.push({
          topic: changelogTopic,
          partition: p,
          key: op.key,
          value: op.type === 'put' ? Buffer.from(op.value) : null,
        });
      }
    }
    const localOnly: StoreOperation[] = [];
    for (const change of changes.values()) localOnly.push(...(change.localOperations ?? []));
    if (records.length === 0 && offsets.length === 0) {
      // Nothing to commit: only derived keys change, which a restore would rebuild anyway.
      if (localOnly.length > 0) await store.write(localOnly);
      for (const change of changes.values()) change.afterCommit?.();
      return;
    }
    let written: readonly TopicPartitionOffset[];
    try {
      const started = performance.now();
      written = await producer.sendWithOffsets(records, options.groupId, offsets, {
        // An evicted member's partitions belong to another instance by now: it commits
        // nothing. Checked last, once the records are written, right before the commit.
        beforeCommit: () => consumer.confirmMembership(),
      });
      transactionSeconds.observe((performance.now() - started) / 1000);
    } catch (error) {
      for (const p of changes.keys()) needsResync.add(p);
      producerUnsettled = true;
      throw error;
    }
    stats.transactions++;
    const local: StoreOperation[] = [];
    for (const change of changes.values()) local.push(...change.operations);
    local.push(...localOnly);
    for (const entry of written) {
      if (entry.topic !== changelogTopic) continue;
      local.push({
        type: 'put',
        key: checkpointKey(changelogTopic, entry.partition),
        value: Buffer.from(entry.offset),
      });
    }
    try {
      await store.write(local);
    } catch (error) {
      // The changelog has the change; this disk does not. Only a restart restores it.
      const fatal = error instanceof Error ? error : new Error(String(error));
      logger.error({ err: fatal }, 'local store write failed after a commit');
      options.onFatal?.(fatal);
      throw fatal;
    }
    for (const entry of offsets)
      positions.set(positionKey(entry.topic, entry.partition), BigInt(entry.offset));
    for (const change of changes.values()) change.afterCommit?.();
    for (const change of changes.values()) recordCommitted(series, change.outputs, []);
  };

  /** Handles every batch that was ready together: one change per partition, one transaction. */
  const handleRun = async (batches: readonly LogBatch[]): Promise<void> => {
    const byPartition = new Map<number, LogBatch[]>();
    for (const batch of batches) {
      const list = byPartition.get(batch.partition) ?? [];
      list.push(batch);
      byPartition.set(batch.partition, list);
    }
    const changes = new Map<number, StateChange>();
    const offsets: TopicPartitionOffset[] = [];
    const committed: LogBatch[] = [];
    for (const [p, list] of byPartition) {
      if (!owned.has(p)) continue;
      if (needsResync.has(p)) await resync(p);
      const fresh: LogBatch[] = [];
      for (const batch of list) {
        const from = positions.get(positionKey(batch.topic, p));
        const records =
          from === undefined
            ? batch.records
            : batch.records.filter((r) => BigInt(r.offset) >= from);
        stats.skippedBelowCommitted += batch.records.length - records.length;
        const last = records[records.length - 1];
        if (last === undefined) continue;
        fresh.push({ ...batch, records });
        offsets.push({
          topic: batch.topic,
          partition: p,
          offset: (BigInt(last.offset) + 1n).toString(),
        });
      }
      if (fresh.length === 0) continue;
      committed.push(...fresh);
      changes.set(p, await processor.process(p, fresh));
      stats.batches += fresh.length;
    }
    if (changes.size === 0) return;
    await commit(changes, mergeOffsets(offsets));
    for (const batch of committed) stats.processed += batch.records.length;
    recordCommitted(series, [], committed);
  };

  let crashed: Error | null = null;
  // Batches, punctuations and rebalances touch the same per-partition state: one at a time.
  const serial = createSerialQueue();
  // Batches of all partitions of a fetch arrive concurrently and are handled as one run.
  const runs = createCoalescer<LogBatch>((batches) => serial(() => handleRun(batches)));
  await consumer.run((batch) => runs.submit(batch), {
    onAssigned: (assignment) => serial(() => onAssigned(assignment)),
    onCrash: (error) => {
      member.down(`consumer crashed: ${error.message}`);
      crashed = error;
      logger.error({ err: error }, 'stateful consumer crashed');
      options.onFatal?.(error);
    },
  });

  return {
    stats,
    owned: () => [...owned].sort((a, b) => a - b),
    punctuate: (work) =>
      serial(async () => {
        for (const p of [...needsResync]) if (owned.has(p)) await resync(p);
        const changes = await work();
        await commit(new Map([...changes].filter(([p]) => owned.has(p))), []);
      }),
    async stop() {
      member.down('stopping');
      await consumer.stop();
      await producer.close();
      if (crashed !== null) logger.warn({ err: crashed }, 'stateful runner stopped after a crash');
    },
  };
}
