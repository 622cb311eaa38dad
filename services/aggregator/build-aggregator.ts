// The aggregator: joins predictions and labels by request id in event time, turns them into
// rewards, folds them into per-variant counts kept in the key-value store, and publishes partial
// posteriors keyed by (experiment, partition).
//
// Exactly-once effect: each input batch is one atomic store write holding the state change,
// the records to publish (outbox), the watermark and the next offsets. On every assignment the
// aggregator seeks to the offsets in its store (or to the start of the log when the store has
// none, which rebuilds lost state from the topics; offsets it commits to the consumer group are
// for lag monitoring only and never decide where it resumes), and any
// record below the stored offset that is still delivered is skipped. Closing windows is a
// deterministic function of the stored state and watermark, written as its own atomic batch, so
// a crash between the two only delays it. Published records leave the outbox only after the
// broker acknowledged them, so a crash can repeat a publication (rewards are keyed by request
// id; posteriors are state) but never lose one or count anything twice.
import type {
  ExperimentDefined,
  LabelReceived,
  PosteriorPublished,
  PredictionMade,
  RewardResolved,
} from '../../lib/contracts/events.ts';
import { shadowRequestId } from '../../lib/contracts/experiment-defaults.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import { decodeLabel, recordEventTime } from '../../lib/codec/json-ingress.ts';
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
import {
  buildDeadLetter,
  DEFAULT_CONCURRENT_PARTITIONS,
  warnDeadLettered,
} from '../../lib/stream/processor-runner.ts';
import { createCoalescer } from '../../lib/stream/coalescer.ts';
import { createSerialQueue } from '../../lib/stream/serial-queue.ts';
import { startTableReader, type TableReader } from '../../lib/stream/table-reader.ts';
import {
  applyJoinEvent,
  EMPTY_SLOT,
  expireSlot,
  labelExpiry,
  predictionExpiry,
  type ExpiryOutcome,
  type JoinEvent,
  type JoinOutcome,
  type JoinSlot,
  type WindowRule,
} from './core/join.ts';
import {
  emptyCounts,
  foldOutcome,
  type CountedOutcome,
  type ExperimentCounts,
} from './core/variant-counts.ts';
import { applyFallbackEvent, isFallbackPrediction } from './core/fallback.ts';
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
  /** A label still without a prediction this long (event time) after it is an orphan. */
  readonly orphanAfterMs: number;
  /**
   * After this long without any label on a partition (processing time), its watermark advances
   * with processing time, so windows close on an idle labels stream. 0 or absent: never (the
   * watermark then moves only with label event times, which keeps processing deterministic).
   */
  readonly idleCloseMs?: number;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
}

export interface AggregatorStats {
  predictions: number;
  labels: number;
  rewards: number;
  implicit: number;
  dropped: number;
  late: number;
  orphaned: number;
  duplicates: number;
  deadLettered: number;
  skippedBelowStoredOffset: number;
  snapshotsPublished: number;
  /** Runs: groups of batches (a fetch) folded and published together. */
  runs: number;
  /** Times a partition's watermark advanced because its labels stream was idle. */
  idleAdvances: number;
  /** Predictions served by the endpoint's own weights (the router's fallback); not folded. */
  fallback: number;
  /** Requests of those that got a label (the first one each); not folded either. */
  fallbackLabels: number;
}

export interface RunningAggregator {
  readonly stats: Readonly<AggregatorStats>;
  /** Publishes pending posterior snapshots now. */
  flushSnapshots(): Promise<void>;
  stop(): Promise<void>;
}

/** Offsets are committed to the group (for lag monitoring only) at most this often. */
const MONITORING_COMMIT_MS = 1_000;

/** How many window-index entries one closing pass handles in one store write. */
const EXPIRY_CHUNK = 2_000;

/** The work of one atomic store write for one partition number. */
interface PartitionChange {
  readonly p: number;
  readonly slots: Map<string, JoinSlot>;
  readonly changedSlots: Set<string>;
  readonly counts: Map<string, ExperimentCounts>;
  readonly changedCounts: Set<string>;
  readonly operations: StoreOperation[];
  /** The outbox entries among the operations, mirrored in memory once they are written. */
  readonly outbox: [string, OutRecord][];
  /** The earliest window expiry this change indexes, if any. */
  lowestExpiry: number;
  outboxIndex: number;
}

export async function startAggregator(deps: AggregatorDeps): Promise<RunningAggregator> {
  const { store, codecs, topics, logger } = deps;
  const stats: AggregatorStats = {
    predictions: 0,
    labels: 0,
    rewards: 0,
    implicit: 0,
    dropped: 0,
    late: 0,
    orphaned: 0,
    duplicates: 0,
    deadLettered: 0,
    skippedBelowStoredOffset: 0,
    snapshotsPublished: 0,
    runs: 0,
    idleAdvances: 0,
    fallback: 0,
    fallbackLabels: 0,
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
    onInvalid: (r, error) => {
      logger.warn(
        { topic: r.topic, offset: r.offset, err: error },
        'invalid experiment record ignored',
      );
    },
    groupPrefix: `${deps.groupId}-experiments`,
  });
  await experiments.waitForCatchUp(30_000);
  const ruleFor = (experiment: string): WindowRule | null => experiments.get(experiment) ?? null;

  const producer: LogProducer = await deps.eventLog.createProducer();
  /** Counts per partition number, mirrored from the store for the partitions this instance owns. */
  const countsByPartition = new Map<number, Map<string, ExperimentCounts>>();
  const watermarks = new Map<number, number>();
  /**
   * The outbox of each owned partition, mirrored from the store: read once when the partition is
   * loaded, then kept in step with every store write. Flushing reads the mirror, not a store
   * scan: a scan from the prefix would walk the tombstones of every entry already published.
   */
  const outboxes = new Map<number, Map<string, OutRecord>>();
  /**
   * Per owned partition, a window key with no window entry below it. Closing scans start here, so
   * they never walk the tombstones of windows already closed; a change that indexes an earlier
   * window moves it down to that window's expiry.
   */
  const windowFloors = new Map<number, string>();
  const lowerWindowFloor = (p: number, expiry: number): void => {
    const key = stateKeys.windowsBefore(p, expiry);
    const floor = windowFloors.get(p);
    if (floor === undefined || key < floor) windowFloors.set(p, key);
  };
  /**
   * Per owned partition, its watermark when a label last arrived and the processing time then:
   * the base from which an idle labels stream advances the watermark (deps.idleCloseMs).
   */
  const idleBase = new Map<number, { readonly watermark: number; readonly at: number }>();
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
    const outbox = new Map<string, OutRecord>();
    for await (const [key, value] of store.entries(stateKeys.outboxPrefix(p)))
      outbox.set(key, decodeOutRecord(value));
    outboxes.set(p, outbox);
    windowFloors.set(p, stateKeys.windowPrefix(p));
    const watermark = await store.get(stateKeys.watermark(p));
    if (watermark === undefined) {
      watermarks.delete(p);
      idleBase.delete(p);
    } else {
      watermarks.set(p, Number(watermark.toString()));
      idleBase.set(p, { watermark: Number(watermark.toString()), at: deps.now() });
    }
  };

  /** Publishes the outboxes of these partitions in one send; entries leave after the ack. */
  const flushOutboxes = async (partitions: Iterable<number>): Promise<void> => {
    const taken: [number, string][] = [];
    const records: OutRecord[] = [];
    for (const p of partitions) {
      const outbox = outboxes.get(p);
      if (outbox === undefined) continue;
      // Key order, as a store scan would publish them.
      const entries = [...outbox].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [key, record] of entries) {
        taken.push([p, key]);
        records.push(record);
      }
    }
    if (records.length === 0) return;
    await producer.send(records);
    await store.write(taken.map(([, key]) => ({ type: 'del', key })));
    for (const [p, key] of taken) outboxes.get(p)?.delete(key);
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
        decayedAt: counts.decayedAt,
        shadowVariants: counts.shadowVariants,
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
      // Outside every experiment by design: core/fallback.ts counts it.
      if (isFallbackPrediction(prediction)) return { kind: 'prediction', prediction };
      const experiment = experiments.get(prediction.experiment);
      if (experiment === undefined) {
        throw new DynabError(
          'UNKNOWN_EXPERIMENT',
          `prediction ${prediction.requestId} names unknown experiment "${prediction.experiment}"`,
        );
      }
      const credited = prediction.invokedVariant ?? prediction.requestedVariant;
      const known =
        prediction.shadowOf === null
          ? experiment.variants.some((v) => v.name === credited)
          : experiment.shadowVariants.includes(credited);
      if (!known) {
        throw new DynabError(
          'UNKNOWN_VARIANT',
          `prediction ${prediction.requestId} names ${prediction.shadowOf === null ? '' : 'shadow '}variant "${credited}", not part of experiment "${prediction.experiment}"`,
        );
      }
      return { kind: 'prediction', prediction };
    }
    const label: LabelReceived = decodeLabel(
      record.value,
      record.headers,
      codecs,
      recordEventTime(record, deps.now),
    );
    if (label.reward !== null && !Number.isFinite(label.reward)) {
      throw new DynabError(
        'INVALID_FIELD',
        `reward ${label.reward} of request ${label.requestId} is not a finite number`,
      );
    }
    return { kind: 'label', label };
  };

  const newChange = (p: number): PartitionChange => ({
    p,
    slots: new Map(),
    changedSlots: new Set(),
    counts: new Map(countsByPartition.get(p) ?? []),
    changedCounts: new Set(),
    operations: [],
    outbox: [],
    lowestExpiry: Number.POSITIVE_INFINITY,
    outboxIndex: 0,
  });

  const loadSlots = async (
    change: PartitionChange,
    requestIds: readonly string[],
  ): Promise<void> => {
    const missing = [...new Set(requestIds)].filter((id) => !change.slots.has(id));
    const stored = await store.getMany(missing.map((id) => stateKeys.slot(change.p, id)));
    missing.forEach((id, i) => {
      const bytes = stored[i];
      change.slots.set(id, bytes === undefined ? EMPTY_SLOT : decodeSlot(bytes, slotCodec));
    });
  };

  const addOutbox = (change: PartitionChange, key: string, record: OutRecord): void => {
    change.operations.push({ type: 'put', key, value: encodeOutRecord(record) });
    change.outbox.push([key, record]);
  };

  const deadLetter = (
    change: PartitionChange,
    key: string,
    record: LogRecord,
    error: DynabError,
  ): void => {
    stats.deadLettered++;
    warnDeadLettered(logger, record, error);
    addOutbox(
      change,
      key,
      buildDeadLetter(record, error, 'aggregator', topics.deadLetters, deps.now(), (l) =>
        codecs['dead-letter'].encode(l),
      ),
    );
  };

  const count = (
    change: PartitionChange,
    experiment: string,
    variant: string,
    outcome: CountedOutcome,
    shadow: boolean,
  ): void => {
    const options = { shadow, halfLifeMs: experiments.get(experiment)?.halfLifeMs ?? null };
    change.counts.set(
      experiment,
      foldOutcome(
        change.counts.get(experiment) ?? emptyCounts(experiment),
        variant,
        outcome,
        options,
      ),
    );
    change.changedCounts.add(experiment);
  };

  /** Folds a resolved reward (label or implicit) into its variant's counts. */
  const countReward = (
    change: PartitionChange,
    reward: RewardResolved,
    shadow: boolean,
    implicit: boolean,
  ): void => {
    // The reward's event time, for discounting: the label's, or the end of the window.
    const windowMs = experiments.get(reward.experiment)?.attributionWindowMs ?? 0;
    const eventTime = reward.labelTime ?? reward.predictionTime + windowMs;
    count(
      change,
      reward.experiment,
      reward.variant,
      { kind: 'reward', reward: reward.reward, implicit, eventTime },
      shadow,
    );
  };

  /** A distinct prediction arrived: its decision served its variant from its allocation. */
  const countDecision = (change: PartitionChange, prediction: PredictionMade): void => {
    const variant = prediction.invokedVariant ?? prediction.requestedVariant;
    const shadow = prediction.shadowOf !== null;
    const allocation = shadow ? [] : prediction.allocation;
    count(change, prediction.experiment, variant, { kind: 'assigned', allocation }, shadow);
  };

  /**
   * Shadow mode: a label for a served request also labels its shadow copies. The copies go
   * through the labels topic keyed by the original request id (so they land on this partition)
   * and join the shadow predictions like any label; the outbox makes this exactly-once.
   */
  const labelShadows = (
    change: PartitionChange,
    key: () => string,
    prediction: PredictionMade,
    label: LabelReceived,
  ): void => {
    if (prediction.shadowOf !== null) return;
    for (const variant of prediction.shadowVariants) {
      const copy: LabelReceived = {
        ...label,
        requestId: shadowRequestId(prediction.requestId, variant),
        source: `shadow-of:${label.source}`,
      };
      addOutbox(change, key(), {
        topic: topics.labels,
        key: prediction.requestId,
        value: codecs.label.encode(copy),
      });
    }
  };

  /** Stores the slot and, while it is open, indexes when its window can close. */
  const setSlot = (change: PartitionChange, requestId: string, slot: JoinSlot): void => {
    change.slots.set(requestId, slot);
    change.changedSlots.add(requestId);
    if (slot.state !== 'open') return;
    let expiry: number | null = null;
    if (slot.prediction !== null) {
      const rule = ruleFor(slot.prediction.experiment);
      expiry = rule === null ? null : predictionExpiry(slot.prediction, rule);
    } else if (slot.label !== null) {
      expiry = labelExpiry(slot.label, deps.orphanAfterMs);
    }
    if (expiry !== null) {
      change.lowestExpiry = Math.min(change.lowestExpiry, expiry);
      change.operations.push({
        type: 'put',
        key: stateKeys.window(change.p, expiry, requestId),
        value: new Uint8Array(0),
      });
    }
  };

  const applyOutcome = (
    change: PartitionChange,
    record: LogRecord,
    requestId: string,
    outcome: JoinOutcome,
    joined: { readonly prediction: PredictionMade | null; readonly label: LabelReceived | null },
    incoming: JoinEvent,
  ): void => {
    const key = (): string =>
      stateKeys.outbox(change.p, record.topic, record.offset, change.outboxIndex++);
    const shadow = joined.prediction !== null && joined.prediction.shadowOf !== null;
    if (
      incoming.kind === 'prediction' &&
      outcome.kind !== 'duplicate' &&
      outcome.kind !== 'rejected'
    ) {
      countDecision(change, incoming.prediction);
    }
    if (
      (outcome.kind === 'resolved' || outcome.kind === 'late' || outcome.kind === 'unscorable') &&
      joined.prediction !== null &&
      joined.label !== null
    ) {
      labelShadows(change, key, joined.prediction, joined.label);
    }
    switch (outcome.kind) {
      case 'duplicate':
        stats.duplicates++;
        return;
      case 'pending':
        setSlot(change, requestId, outcome.slot);
        return;
      case 'unscorable':
        setSlot(change, requestId, outcome.slot);
        deadLetter(change, key(), record, outcome.error);
        return;
      case 'rejected':
        deadLetter(change, key(), record, outcome.error);
        return;
      case 'late':
        setSlot(change, requestId, outcome.slot);
        stats.late++;
        count(change, outcome.late.experiment, outcome.late.variant, { kind: 'late' }, shadow);
        addOutbox(change, key(), {
          topic: topics.lateLabels,
          key: requestId,
          value: codecs.reward.encode(outcome.late),
        });
        return;
      case 'resolved': {
        setSlot(change, requestId, outcome.slot);
        const { reward } = outcome;
        stats.rewards++;
        countReward(change, reward, shadow, false);
        addOutbox(change, key(), {
          topic: topics.rewards,
          key: requestId,
          value: codecs.reward.encode(reward),
        });
        return;
      }
    }
  };

  const applyExpiry = (
    change: PartitionChange,
    requestId: string,
    outcome: ExpiryOutcome,
    slotPrediction: PredictionMade | null,
  ): void => {
    const key = (): string => stateKeys.closingOutbox(change.p, requestId, change.outboxIndex++);
    switch (outcome.kind) {
      case 'not-due':
        return;
      case 'implicit': {
        setSlot(change, requestId, outcome.slot);
        const { reward } = outcome;
        stats.implicit++;
        countReward(
          change,
          reward,
          slotPrediction !== null && slotPrediction.shadowOf !== null,
          true,
        );
        addOutbox(change, key(), {
          topic: topics.rewards,
          key: requestId,
          value: codecs.reward.encode(reward),
        });
        return;
      }
      case 'dropped': {
        setSlot(change, requestId, outcome.slot);
        stats.dropped++;
        const { prediction } = outcome;
        count(
          change,
          prediction.experiment,
          prediction.invokedVariant ?? prediction.requestedVariant,
          { kind: 'dropped' },
          prediction.shadowOf !== null,
        );
        logger.info(
          { requestId, experiment: prediction.experiment, partition: change.p },
          'window closed without a label; prediction dropped (no implicit reward configured)',
        );
        return;
      }
      case 'orphaned': {
        setSlot(change, requestId, outcome.slot);
        stats.orphaned++;
        const value = codecs.label.encode(outcome.label);
        const original: LogRecord = {
          topic: topics.labels,
          partition: change.p,
          offset: '-1',
          key: Buffer.from(requestId),
          value,
          headers: {},
          timestamp: outcome.label.eventTime,
        };
        deadLetter(change, key(), original, outcome.error);
        return;
      }
    }
  };

  /** Writes one change atomically (plus extra operations), then mirrors it in memory. */
  const commitChange = async (
    change: PartitionChange,
    extra: readonly StoreOperation[],
  ): Promise<void> => {
    for (const id of change.changedSlots) {
      const slot = change.slots.get(id) ?? EMPTY_SLOT;
      change.operations.push({
        type: 'put',
        key: stateKeys.slot(change.p, id),
        value: encodeSlot(slot, slotCodec),
      });
    }
    for (const experiment of change.changedCounts) {
      const c = change.counts.get(experiment);
      if (c !== undefined)
        change.operations.push({
          type: 'put',
          key: stateKeys.counts(change.p, experiment),
          value: encodeCounts(c),
        });
    }
    await store.write([...change.operations, ...extra]);
    countsByPartition.set(change.p, change.counts);
    const outbox = outboxes.get(change.p);
    if (outbox === undefined) outboxes.set(change.p, new Map(change.outbox));
    else for (const [key, record] of change.outbox) outbox.set(key, record);
    if (Number.isFinite(change.lowestExpiry)) lowerWindowFloor(change.p, change.lowestExpiry);
    for (const experiment of change.changedCounts) dirty.add(`${experiment}\u0000${change.p}`);
  };

  /**
   * Closes every window of partition p that the watermark has passed, in bounded chunks. The
   * caller flushes the outbox afterwards (the last chunk's records are left there).
   */
  const closeDueWindows = async (p: number): Promise<void> => {
    const watermark = watermarks.get(p);
    if (watermark === undefined) return;
    const bound = stateKeys.windowsBefore(p, watermark);
    for (;;) {
      const floor = windowFloors.get(p) ?? stateKeys.windowPrefix(p);
      if (floor >= bound) return;
      const due = await store.range(floor, bound, EXPIRY_CHUNK);
      const last = due[due.length - 1];
      if (last === undefined) {
        windowFloors.set(p, bound);
        return;
      }
      const change = newChange(p);
      const requestIds = due.map(([key]) => stateKeys.requestIdOfWindow(p, key));
      await loadSlots(change, requestIds);
      const removals: StoreOperation[] = due.map(([key]) => ({ type: 'del', key }));
      for (const requestId of requestIds) {
        const slot = change.slots.get(requestId) ?? EMPTY_SLOT;
        const rule = slot.prediction === null ? null : ruleFor(slot.prediction.experiment);
        applyExpiry(
          change,
          requestId,
          expireSlot(slot, rule, watermark, deps.orphanAfterMs, deps.now()),
          slot.prediction,
        );
      }
      await commitChange(change, removals);
      // Everything up to the last key read is gone now (or, when the chunk was not full, up to
      // the bound); a window this pass indexed again may lie below that.
      windowFloors.set(p, due.length < EXPIRY_CHUNK ? bound : `${last[0]}\u0000`);
      if (Number.isFinite(change.lowestExpiry)) lowerWindowFloor(p, change.lowestExpiry);
      if (due.length < EXPIRY_CHUNK) return;
      // More chunks follow: publish this one first so the outbox stays bounded.
      await flushOutboxes([p]);
    }
  };

  /**
   * Folds the batches of partition number p (predictions and labels, co-partitioned) into one
   * atomic store write. Returns false when every record was below the stored offsets.
   */
  const handlePartition = async (p: number, batches: readonly LogBatch[]): Promise<boolean> => {
    const records: LogRecord[] = [];
    const extra: StoreOperation[] = [];
    const next = new Map<string, bigint>();
    for (const batch of batches) {
      const from = (await storedOffset(batch.topic, p)) ?? 0n;
      const fresh = batch.records.filter((r) => BigInt(r.offset) >= from);
      stats.skippedBelowStoredOffset += batch.records.length - fresh.length;
      const last = fresh[fresh.length - 1];
      if (last === undefined) continue;
      records.push(...fresh);
      const after = BigInt(last.offset) + 1n;
      const seen = next.get(batch.topic);
      if (seen === undefined || after > seen) next.set(batch.topic, after);
    }
    if (records.length === 0) return false;
    if (!countsByPartition.has(p)) await loadPartition(p);
    const change = newChange(p);
    const decoded = records.map((record) => {
      try {
        return { record, event: decodeEvent(record), error: null };
      } catch (error) {
        return { record, event: null, error: toDynabError(error, 'MALFORMED_MESSAGE') };
      }
    });
    const requestIdOf = (event: JoinEvent): string =>
      event.kind === 'prediction' ? event.prediction.requestId : event.label.requestId;
    await loadSlots(
      change,
      decoded.flatMap((d) => (d.event === null ? [] : [requestIdOf(d.event)])),
    );

    let watermark = watermarks.get(p) ?? Number.NEGATIVE_INFINITY;
    let sawLabel = false;
    for (const { record, event, error } of decoded) {
      const key = (): string =>
        stateKeys.outbox(change.p, record.topic, record.offset, change.outboxIndex++);
      if (event === null) {
        deadLetter(change, key(), record, error);
        continue;
      }
      const requestId = requestIdOf(event);
      const slot = change.slots.get(requestId) ?? EMPTY_SLOT;
      let rule: WindowRule | null;
      if (event.kind === 'prediction') {
        stats.predictions++;
        rule = ruleFor(event.prediction.experiment);
      } else {
        stats.labels++;
        sawLabel = true;
        rule = slot.prediction === null ? null : ruleFor(slot.prediction.experiment);
        // The watermark is the latest label event time: windows wait for the labels stream.
        watermark = Math.max(watermark, event.label.eventTime);
      }
      const fallback = applyFallbackEvent(slot, event);
      if (fallback !== null) {
        stats.fallback += fallback.served;
        stats.fallbackLabels += fallback.labelled;
        if (fallback.slot === null) stats.duplicates++;
        else setSlot(change, requestId, fallback.slot);
        continue;
      }
      const joined =
        event.kind === 'prediction'
          ? { prediction: event.prediction, label: slot.label }
          : { prediction: slot.prediction, label: event.label };
      applyOutcome(
        change,
        record,
        requestId,
        applyJoinEvent(slot, event, rule, deps.now()),
        joined,
        event,
      );
    }

    for (const [topic, offset] of next)
      extra.push({
        type: 'put',
        key: stateKeys.offset(p, topic),
        value: Buffer.from(offset.toString()),
      });
    if (Number.isFinite(watermark))
      extra.push({
        type: 'put',
        key: stateKeys.watermark(p),
        value: Buffer.from(String(watermark)),
      });
    await commitChange(change, extra);
    for (const [topic, offset] of next) nextOffsets.set(offsetKey(topic, p), offset);
    if (Number.isFinite(watermark)) watermarks.set(p, watermark);
    if (sawLabel && Number.isFinite(watermark)) idleBase.set(p, { watermark, at: deps.now() });
    return true;
  };

  /**
   * The idle rule (deps.idleCloseMs): a partition that has had no label for idleCloseMs of
   * processing time moves its watermark on at the pace of processing time from then on (the
   * watermark when its last label arrived, plus the time since, minus idleCloseMs), stores it and
   * closes the windows it passed. A label that arrives later takes the watermark on from there.
   */
  const closeIdleWindows = async (idleCloseMs: number): Promise<void> => {
    const now = deps.now();
    const advanced: number[] = [];
    for (const [p, base] of idleBase) {
      if (!countsByPartition.has(p)) continue;
      const target = Math.floor(base.watermark + (now - base.at - idleCloseMs));
      if (!(target > (watermarks.get(p) ?? Number.NEGATIVE_INFINITY))) continue;
      await store.write([
        { type: 'put', key: stateKeys.watermark(p), value: Buffer.from(String(target)) },
      ]);
      watermarks.set(p, target);
      await closeDueWindows(p);
      advanced.push(p);
    }
    if (advanced.length === 0) return;
    stats.idleAdvances += advanced.length;
    await flushOutboxes(advanced);
  };

  /**
   * Commits the next offsets of the owned partitions to the consumer group once a second when
   * they moved, for monitoring only: standard lag tools then see the aggregator's lag.
   * Correctness never reads them (the store's offsets decide where each partition resumes), so a
   * failed commit, e.g. during a rebalance, is only logged.
   */
  let committedForMonitoring = '';
  const commitForMonitoring = async (): Promise<void> => {
    const offsets = [...nextOffsets].map(([key, offset]) => {
      const [topic = '', partition = '0'] = key.split('\u0000');
      return { topic, partition: Number(partition), offset: offset.toString() };
    });
    const signature = JSON.stringify(offsets);
    if (offsets.length === 0 || signature === committedForMonitoring) return;
    try {
      await consumer.commit(offsets);
      committedForMonitoring = signature;
    } catch (error) {
      logger.debug({ err: error }, 'offset commit for monitoring failed; the next one retries');
    }
  };

  /**
   * Handles every batch that was ready together (all partitions of one fetch): one store write
   * per partition number, then one publication of all their outboxes. Per-run costs (store
   * round trips, a produce round trip) are paid per fetch, not per partition batch.
   */
  const handleBatches = async (batches: readonly LogBatch[]): Promise<void> => {
    const byPartition = new Map<number, LogBatch[]>();
    for (const batch of batches) {
      const list = byPartition.get(batch.partition) ?? [];
      list.push(batch);
      byPartition.set(batch.partition, list);
    }
    const touched: number[] = [];
    for (const [p, list] of byPartition) if (await handlePartition(p, list)) touched.push(p);
    if (touched.length === 0) return;
    // A prediction that arrives after the watermark passed its window closes in this pass too.
    for (const p of touched) await closeDueWindows(p);
    await flushOutboxes(touched);
    stats.runs++;
    if (deps.snapshotIntervalMs === 0) await publishSnapshots();
  };

  const consumer: LogConsumer = await deps.eventLog.createConsumer({
    groupId: deps.groupId,
    topics: [topics.predictions, topics.labels],
    fromBeginning: true,
    coPartitioned: true,
    concurrentPartitions: DEFAULT_CONCURRENT_PARTITIONS,
  });

  const onAssigned = async (
    assignment: readonly { topic: string; partition: number }[],
  ): Promise<void> => {
    const owned = new Set(assignment.map((a) => a.partition));
    for (const p of [...countsByPartition.keys()]) if (!owned.has(p)) countsByPartition.delete(p);
    for (const p of [...outboxes.keys()]) if (!owned.has(p)) outboxes.delete(p);
    for (const p of [...windowFloors.keys()]) if (!owned.has(p)) windowFloors.delete(p);
    for (const p of [...idleBase.keys()]) if (!owned.has(p)) idleBase.delete(p);
    for (const key of [...nextOffsets.keys()]) {
      const p = Number(key.split('\u0000')[1]);
      if (!owned.has(p)) nextOffsets.delete(key);
    }
    const logStarts = new Map<string, Map<number, string>>();
    for (const { topic, partition } of assignment) {
      const offset = await storedOffset(topic, partition);
      if (offset !== undefined) {
        consumer.seek(topic, partition, offset.toString());
        continue;
      }
      // No stored offset: rebuild the partition's state from the start of its log. The offsets
      // committed to the group (for monitoring) say nothing about what this store holds.
      let starts = logStarts.get(topic);
      if (starts === undefined) {
        const offsets = await deps.eventLog.fetchOffsets(topic);
        starts = new Map(offsets.map((o) => [o.partition, o.low]));
        logStarts.set(topic, starts);
      }
      consumer.seek(topic, partition, starts.get(partition) ?? '0');
    }
    for (const p of owned) {
      await loadPartition(p);
      await flushOutboxes([p]);
      await closeDueWindows(p);
      await flushOutboxes([p]);
    }
    logger.info({ partitions: [...owned] }, 'partitions assigned');
  };

  let crashed: Error | null = null;
  // Batches and rebalances touch the same per-partition state: one at a time.
  const serial = createSerialQueue();
  // Batches of all partitions of a fetch arrive concurrently and are handled as one run.
  const runs = createCoalescer<LogBatch>((batches) => serial(() => handleBatches(batches)));
  await consumer.run((batch) => runs.submit(batch), {
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
          publishSnapshots().catch((error: unknown) => {
            logger.warn({ err: error }, 'snapshot publication failed; will retry');
          });
        }, deps.snapshotIntervalMs)
      : null;
  const monitoringTimer = setInterval(() => {
    void serial(commitForMonitoring);
  }, MONITORING_COMMIT_MS);
  const idleCloseMs = deps.idleCloseMs ?? 0;
  // Checked a few times per idle period (at least once a second), in the batches' queue.
  const idleTimer =
    idleCloseMs > 0
      ? setInterval(
          () => {
            serial(() => closeIdleWindows(idleCloseMs)).catch((error: unknown) => {
              logger.warn({ err: error }, 'closing idle windows failed; will retry');
            });
          },
          Math.min(1_000, Math.max(10, idleCloseMs / 4)),
        )
      : null;

  return {
    stats,
    flushSnapshots: publishSnapshots,
    async stop() {
      if (timer !== null) clearInterval(timer);
      if (idleTimer !== null) clearInterval(idleTimer);
      clearInterval(monitoringTimer);
      await consumer.stop();
      await publishSnapshots().catch(() => undefined);
      await producer.close();
      await experiments.stop();
      if (crashed !== null) logger.warn({ err: crashed }, 'aggregator stopped after a crash');
    },
  };
}
