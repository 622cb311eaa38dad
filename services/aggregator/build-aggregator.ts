// The aggregator: joins predictions and labels by request id, turns them into rewards, folds
// them into per-variant counts kept in the key-value store, and publishes partial posteriors
// keyed by (experiment, partition).
//
// Exactly-once effect: each input batch is one atomic store write holding the state change,
// the records to publish (outbox) and the next offsets. Offsets are never committed to Kafka;
// on every assignment the aggregator seeks to the offsets in its store (or the beginning when
// the store has none, which rebuilds lost state from the topics), and any record below the
// stored offset that is still delivered is skipped. Published records leave the outbox only
// after the broker acknowledged them, so a crash can repeat a publication (rewards are keyed by
// request id; posteriors are state) but never lose one or count a reward twice.
import type {
  ExperimentDefined,
  LabelReceived,
  PosteriorPublished,
  PredictionMade,
} from '../../lib/contracts/events.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import { decodeLabel } from '../../lib/codec/json-ingress.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { DynabError, toDynabError } from '../../lib/errors/catalogue.ts';
import type {
  EventLog,
  LogBatch,
  LogConsumer,
  LogProducer,
  LogRecord,
  OutRecord,
} from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { KeyValueStore, StoreOperation } from '../../lib/store/key-value-store.ts';
import { buildDeadLetter } from '../../lib/stream/processor-runner.ts';
import { createSerialQueue } from '../../lib/stream/serial-queue.ts';
import { startTableReader, type TableReader } from '../../lib/stream/table-reader.ts';
import { applyJoinEvent, EMPTY_SLOT, type JoinEvent, type JoinSlot } from './core/join.ts';
import { emptyCounts, foldReward, type ExperimentCounts } from './core/variant-counts.ts';
import {
  decodeCounts,
  decodeOutRecord,
  decodeSlot,
  encodeCounts,
  encodeOutRecord,
  encodeSlot,
  stateKeys,
  type SlotCodec,
} from './partition-state.ts';

export interface AggregatorDeps {
  readonly eventLog: EventLog;
  readonly store: KeyValueStore;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Publish changed posteriors at most this often (ms); 0 publishes after every batch. */
  readonly snapshotIntervalMs: number;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
}

export interface AggregatorStats {
  predictions: number;
  labels: number;
  rewards: number;
  duplicates: number;
  deadLettered: number;
  skippedBelowStoredOffset: number;
  snapshotsPublished: number;
}

export interface RunningAggregator {
  readonly stats: Readonly<AggregatorStats>;
  /** Publishes pending posterior snapshots now. */
  flushSnapshots(): Promise<void>;
  stop(): Promise<void>;
}

export async function startAggregator(deps: AggregatorDeps): Promise<RunningAggregator> {
  const { store, codecs, topics, logger } = deps;
  const stats: AggregatorStats = {
    predictions: 0,
    labels: 0,
    rewards: 0,
    duplicates: 0,
    deadLettered: 0,
    skippedBelowStoredOffset: 0,
    snapshotsPublished: 0,
  };
  const slotCodec: SlotCodec = {
    encodePrediction: (p) => codecs.prediction.encode(p),
    decodePrediction: (b) => codecs.prediction.decode(b),
    encodeLabel: (l) => codecs.label.encode(l),
    decodeLabel: (b) => codecs.label.decode(b),
  };

  const experiments: TableReader<ExperimentDefined> = await startTableReader({
    eventLog: deps.eventLog,
    topic: topics.experiments,
    decode: (r) => codecs.experiment.decode(r.value ?? new Uint8Array()),
    onInvalid: (r, error) =>
      logger.warn(
        { topic: r.topic, offset: r.offset, err: error },
        'invalid experiment record ignored',
      ),
    groupPrefix: `${deps.groupId}-experiments`,
  });
  await experiments.waitForCatchUp(30_000);

  const producer: LogProducer = await deps.eventLog.createProducer();
  /** Counts per partition number, mirrored from the store for the partitions this instance owns. */
  const countsByPartition = new Map<number, Map<string, ExperimentCounts>>();
  const nextOffsets = new Map<string, bigint>();
  const dirty = new Set<string>();

  const loadPartition = async (p: number): Promise<void> => {
    const counts = new Map<string, ExperimentCounts>();
    for await (const [, value] of store.entries(stateKeys.countsPrefix(p))) {
      const decoded = decodeCounts(value);
      counts.set(decoded.experiment, decoded);
      dirty.add(`${decoded.experiment}\u0000${p}`);
    }
    countsByPartition.set(p, counts);
  };

  const flushOutbox = async (p: number): Promise<void> => {
    const keys: string[] = [];
    const records: OutRecord[] = [];
    for await (const [key, value] of store.entries(stateKeys.outboxPrefix(p))) {
      keys.push(key);
      records.push(decodeOutRecord(value));
    }
    if (records.length === 0) return;
    await producer.send(records);
    await store.write(keys.map((key) => ({ type: 'del', key })));
  };

  const publishSnapshots = async (): Promise<void> => {
    if (dirty.size === 0) return;
    const pending = [...dirty];
    dirty.clear();
    const records: OutRecord[] = [];
    for (const entry of pending) {
      const [experiment = '', partitionText = '0'] = entry.split('\u0000');
      const p = Number(partitionText);
      const counts = countsByPartition.get(p)?.get(experiment);
      if (counts === undefined) continue;
      const snapshot: PosteriorPublished = {
        experiment,
        partition: p,
        variants: counts.variants,
        version: counts.version,
        publishedAt: deps.now(),
      };
      records.push({
        topic: topics.posteriors,
        key: `${experiment}/${p}`,
        value: codecs.posterior.encode(snapshot),
      });
    }
    try {
      await producer.send(records);
      stats.snapshotsPublished += records.length;
    } catch (error) {
      for (const entry of pending) dirty.add(entry);
      throw error;
    }
  };

  const offsetKey = (topic: string, p: number): string => `${topic}\u0000${p}`;

  const storedOffset = async (topic: string, p: number): Promise<bigint | undefined> => {
    const cached = nextOffsets.get(offsetKey(topic, p));
    if (cached !== undefined) return cached;
    const value = await store.get(stateKeys.offset(p, topic));
    if (value === undefined) return undefined;
    const offset = BigInt(value.toString());
    nextOffsets.set(offsetKey(topic, p), offset);
    return offset;
  };

  const decodeEvent = (record: LogRecord): JoinEvent => {
    if (record.value === null) throw new DynabError('MALFORMED_MESSAGE', 'record has no value');
    if (record.topic === topics.predictions) {
      const prediction: PredictionMade = codecs.prediction.decode(record.value);
      const experiment = experiments.get(prediction.experiment);
      if (experiment === undefined) {
        throw new DynabError(
          'UNKNOWN_EXPERIMENT',
          `prediction ${prediction.requestId} names unknown experiment "${prediction.experiment}"`,
        );
      }
      const credited = prediction.invokedVariant ?? prediction.requestedVariant;
      if (!experiment.variants.some((v) => v.name === credited)) {
        throw new DynabError(
          'UNKNOWN_VARIANT',
          `prediction ${prediction.requestId} names variant "${credited}", not part of experiment "${prediction.experiment}"`,
        );
      }
      return { kind: 'prediction', prediction };
    }
    const label: LabelReceived = decodeLabel(record.value, record.headers, codecs, deps.now());
    if (label.reward !== null && (label.reward < 0 || label.reward > 1)) {
      throw new DynabError(
        'INVALID_FIELD',
        `reward ${label.reward} of request ${label.requestId} is outside [0, 1]`,
      );
    }
    return { kind: 'label', label };
  };

  const handleBatch = async (batch: LogBatch): Promise<void> => {
    const p = batch.partition;
    const from = (await storedOffset(batch.topic, p)) ?? 0n;
    const records = batch.records.filter((r) => BigInt(r.offset) >= from);
    stats.skippedBelowStoredOffset += batch.records.length - records.length;
    const last = records[records.length - 1];
    if (last === undefined) return;
    if (!countsByPartition.has(p)) await loadPartition(p);
    const counts = countsByPartition.get(p) ?? new Map<string, ExperimentCounts>();

    const decoded: { record: LogRecord; event: JoinEvent | null; error: DynabError | null }[] =
      records.map((record) => {
        try {
          return { record, event: decodeEvent(record), error: null };
        } catch (error) {
          return { record, event: null, error: toDynabError(error, 'MALFORMED_MESSAGE') };
        }
      });
    const requestIds = [
      ...new Set(
        decoded.flatMap((d) =>
          d.event === null
            ? []
            : [
                d.event.kind === 'prediction'
                  ? d.event.prediction.requestId
                  : d.event.label.requestId,
              ],
        ),
      ),
    ];
    const storedSlots = await store.getMany(requestIds.map((id) => stateKeys.slot(p, id)));
    const slots = new Map<string, JoinSlot>();
    requestIds.forEach((id, i) => {
      const bytes = storedSlots[i];
      if (bytes !== undefined) slots.set(id, decodeSlot(bytes, slotCodec));
    });
    const changedSlots = new Set<string>();
    const changedCounts = new Set<string>();
    const operations: StoreOperation[] = [];
    let outboxIndex = 0;
    const addOutbox = (record: LogRecord, out: OutRecord): void => {
      operations.push({
        type: 'put',
        key: stateKeys.outbox(p, record.topic, record.offset, outboxIndex++),
        value: encodeOutRecord(out),
      });
    };
    const deadLetter = (record: LogRecord, error: DynabError): void => {
      stats.deadLettered++;
      logger.warn(
        {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          code: error.code,
          reason: error.message,
        },
        'dead-lettering record',
      );
      addOutbox(
        record,
        buildDeadLetter(record, error, 'aggregator', topics.deadLetters, deps.now(), (l) =>
          codecs['dead-letter'].encode(l),
        ),
      );
    };

    for (const { record, event, error } of decoded) {
      if (event === null) {
        deadLetter(record, error ?? new DynabError('INTERNAL', 'undecoded record'));
        continue;
      }
      if (event.kind === 'prediction') stats.predictions++;
      else stats.labels++;
      const requestId =
        event.kind === 'prediction' ? event.prediction.requestId : event.label.requestId;
      const outcome = applyJoinEvent(slots.get(requestId) ?? EMPTY_SLOT, event, deps.now());
      switch (outcome.kind) {
        case 'duplicate':
          stats.duplicates++;
          break;
        case 'pending':
          slots.set(requestId, outcome.slot);
          changedSlots.add(requestId);
          break;
        case 'unscorable':
          slots.set(requestId, outcome.slot);
          changedSlots.add(requestId);
          deadLetter(record, outcome.error);
          break;
        case 'resolved': {
          slots.set(requestId, outcome.slot);
          changedSlots.add(requestId);
          const { reward } = outcome;
          counts.set(
            reward.experiment,
            foldReward(
              counts.get(reward.experiment) ?? emptyCounts(reward.experiment),
              reward.variant,
              reward.reward,
            ),
          );
          changedCounts.add(reward.experiment);
          stats.rewards++;
          addOutbox(record, {
            topic: topics.rewards,
            key: requestId,
            value: codecs.reward.encode(reward),
          });
          break;
        }
        default: {
          const never: never = outcome;
          throw new Error(`unhandled outcome ${String(never)}`);
        }
      }
    }

    for (const id of changedSlots) {
      const slot = slots.get(id) ?? EMPTY_SLOT;
      operations.push({
        type: 'put',
        key: stateKeys.slot(p, id),
        value: encodeSlot(slot, slotCodec),
      });
    }
    for (const experiment of changedCounts) {
      const c = counts.get(experiment);
      if (c !== undefined)
        operations.push({
          type: 'put',
          key: stateKeys.counts(p, experiment),
          value: encodeCounts(c),
        });
    }
    const next = BigInt(last.offset) + 1n;
    operations.push({
      type: 'put',
      key: stateKeys.offset(p, batch.topic),
      value: Buffer.from(next.toString()),
    });
    await store.write(operations);
    countsByPartition.set(p, counts);
    nextOffsets.set(offsetKey(batch.topic, p), next);
    for (const experiment of changedCounts) dirty.add(`${experiment}\u0000${p}`);
    await flushOutbox(p);
    if (deps.snapshotIntervalMs === 0) await publishSnapshots();
  };

  const consumer: LogConsumer = await deps.eventLog.createConsumer({
    groupId: deps.groupId,
    topics: [topics.predictions, topics.labels],
    fromBeginning: true,
    coPartitioned: true,
  });

  const onAssigned = async (
    assignment: readonly { topic: string; partition: number }[],
  ): Promise<void> => {
    const owned = new Set(assignment.map((a) => a.partition));
    for (const p of [...countsByPartition.keys()]) if (!owned.has(p)) countsByPartition.delete(p);
    for (const key of [...nextOffsets.keys()]) {
      const p = Number(key.split('\u0000')[1]);
      if (!owned.has(p)) nextOffsets.delete(key);
    }
    for (const { topic, partition } of assignment) {
      const offset = await storedOffset(topic, partition);
      // With no stored offset the group starts from the beginning (fromBeginning, and offsets
      // are never committed to Kafka), which rebuilds the partition's state from the topics.
      if (offset !== undefined) consumer.seek(topic, partition, offset.toString());
    }
    for (const p of owned) {
      await loadPartition(p);
      await flushOutbox(p);
    }
    logger.info({ partitions: [...owned] }, 'partitions assigned');
  };

  let crashed: Error | null = null;
  // Batches and rebalances touch the same per-partition state: one at a time.
  const serial = createSerialQueue();
  await consumer.run((batch) => serial(() => handleBatch(batch)), {
    onAssigned: (assignment) => serial(() => onAssigned(assignment)),
    onCrash: (error) => {
      crashed = error;
      logger.error({ err: error }, 'aggregator consumer crashed');
      deps.onFatal?.(error);
    },
  });

  const timer =
    deps.snapshotIntervalMs > 0
      ? setInterval(() => {
          publishSnapshots().catch((error: unknown) =>
            logger.warn({ err: error }, 'snapshot publication failed; will retry'),
          );
        }, deps.snapshotIntervalMs)
      : null;

  return {
    stats,
    flushSnapshots: publishSnapshots,
    async stop() {
      if (timer !== null) clearInterval(timer);
      await consumer.stop();
      await publishSnapshots().catch(() => undefined);
      await producer.close();
      await experiments.stop();
      if (crashed !== null) logger.warn({ err: crashed }, 'aggregator stopped after a crash');
    },
  };
}
