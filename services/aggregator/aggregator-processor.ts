// The aggregator's processing, without I/O of its own: a stateful processor for the runner in
// lib/stream/stateful-runner.ts. It reads join slots and counts from the store, and turns the
// predictions and labels of one partition number into a change: the records to publish (rewards,
// late labels, dead letters, shadow label copies) and the store operations (slots, counts,
// window index, watermark), with what to mirror in memory once the change is committed. Tests
// drive it with an in-memory store; the runner commits its changes in Kafka transactions.
import type {
  ExperimentDefined,
  LabelReceived,
  PosteriorPublished,
  PredictionMade,
  RewardResolved,
} from '../../lib/contracts/events.ts';
import { servedRequestIdsOf, shadowRequestId } from '../../lib/contracts/experiment-defaults.ts';
import {
  checkHeaders,
  checkKey,
  checkLabelFields,
  checkLabelRecord,
  checkPredictionFields,
} from '../../lib/contracts/record-limits.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import { decodeLabel, recordEventTime } from '../../lib/codec/json-ingress.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { DynabError, toDynabError } from '../../lib/errors/catalogue.ts';
import type { LogBatch, LogRecord, OutRecord } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { KeyValueStore, StoreOperation } from '../../lib/store/key-value-store.ts';
import { buildDeadLetter, warnDeadLettered } from '../../lib/stream/processor-runner.ts';
import type { StateChange, StatefulProcessor } from '../../lib/stream/stateful-runner.ts';
import {
  applyJoinEvent,
  EMPTY_SLOT,
  expireSlot,
  labelExpiry,
  predictionExpiry,
  purgeTime,
  type ExpiryOutcome,
  type JoinEvent,
  type JoinOutcome,
  type JoinSlot,
  type WindowRule,
} from './core/join.ts';
import { checkLabelEventTime } from './core/event-time.ts';
import { applyFallbackEvent, isFallbackPrediction } from './core/fallback.ts';
import {
  emptyCounts,
  foldOutcome,
  type CountedOutcome,
  type ExperimentCounts,
} from './core/variant-counts.ts';
import {
  decodeCounts,
  decodeStoredSlot,
  encodeCounts,
  encodeSlot,
  storedSlotExpiry,
  stateKeys,
  type SlotCodec,
} from './partition-state.ts';

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
  snapshotsPublished: number;
  /** Times a partition's watermark advanced because its labels stream was idle. */
  idleAdvances: number;
  /** Predictions served by the endpoint's own weights (the router's fallback); not folded. */
  fallback: number;
  /** Requests of those that got a label (the first one each); not folded either. */
  fallbackLabels: number;
  /** Resolved join slots forgotten after their orphan horizon (state stays bounded). */
  purged: number;
  /**
   * Labels that arrived on a partition other than their request id's and were written to the
   * repartition topic, on the right partition, instead of being joined where they were.
   */
  forwarded: number;
}

export interface AggregatorProcessorDeps {
  /** Read only: the runner writes the committed changes. */
  readonly store: KeyValueStore;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly logger: Logger;
  readonly now: () => number;
  /** The experiment's current definition, if known. */
  readonly experiment: (name: string) => ExperimentDefined | undefined;
  /** A label still without a prediction this long (event time) after it is an orphan. */
  readonly orphanAfterMs: number;
  /**
   * How far a label's event time may lie beyond its record's broker timestamp; a label beyond
   * it is dead-lettered (see core/event-time.ts).
   */
  readonly eventTimeAllowanceMs: number;
  /**
   * The partition number of a request id, as the producers of predictions choose it (murmur2 of
   * the key, as Kafka's default partitioner). A label on the `labels` topic whose request id
   * belongs to another partition is forwarded there through the repartition topic. Absent: every
   * label is joined on the partition it arrived on.
   */
  readonly partitionOf?: (requestId: string) => number;
  /** Called once per reward whose change is committed (the per-variant reward series). */
  readonly onRewardCommitted?: (reward: RewardResolved) => void;
}

export interface AggregatorProcessor extends StatefulProcessor {
  readonly stats: AggregatorStats;
  /** Snapshots of the committed counts that changed since the last call. */
  takeSnapshots(): PosteriorPublished[];
  /** Marks snapshots taken but not published (a failed send) as changed again. */
  retrySnapshots(snapshots: readonly PosteriorPublished[]): void;
  /** Whether some partition has due windows left after a change closed one chunk. */
  hasLeftovers(): boolean;
  /** Closes one more chunk of due windows per partition that has some left. */
  closeLeftovers(): Promise<Map<number, StateChange>>;
  /** The idle rule: advances the watermark of partitions without a label for idleCloseMs. */
  closeIdleWindows(idleCloseMs: number): Promise<Map<number, StateChange>>;
  /** Join slots waiting for their other half, over the owned partitions (committed state). */
  pendingJoins(): number;
}

/** How many window-index entries one change closes; more wait for the next punctuation. */
const EXPIRY_CHUNK = 2_000;
/** Store operations per local write while rebuilding a window index. */
const REBUILD_WRITE_CHUNK = 5_000;
/** The value of a window-index key (the key says everything). */
const EMPTY_VALUE = new Uint8Array(0);

/** The stats a change counts; they are added once the change is committed. */
const TALLIED = [
  'predictions',
  'labels',
  'rewards',
  'implicit',
  'dropped',
  'late',
  'orphaned',
  'duplicates',
  'deadLettered',
  'fallback',
  'fallbackLabels',
  'purged',
  'forwarded',
] as const satisfies readonly (keyof AggregatorStats)[];

type Tally = Pick<AggregatorStats, (typeof TALLIED)[number]>;

const emptyTally = (): Tally =>
  Object.fromEntries(TALLIED.map((name) => [name, 0])) as Record<keyof Tally, number>;

/** The work of one committed change for one partition number. */
interface PartitionChange {
  readonly p: number;
  readonly slots: Map<string, JoinSlot>;
  readonly changedSlots: Set<string>;
  /** Resolved slots this change forgets (deleted from the store and the changelog). */
  readonly purged: Set<string>;
  /** The rule each slot's prediction arrived under (null or absent: the current definition). */
  readonly rules: Map<string, WindowRule | null>;
  readonly counts: Map<string, ExperimentCounts>;
  readonly changedCounts: Set<string>;
  readonly operations: StoreOperation[];
  /**
   * Window index writes by key (the last write of a key wins): local only, derived from the
   * slots' stored expiries.
   */
  readonly localOperations: Map<string, StoreOperation>;
  /**
   * Slots this change found absent from the store: no window-index key of theirs is stored, so a
   * key this change put for one and then drops never reaches the store at all.
   */
  readonly unstored: Set<string>;
  /** The window expiry of each changed slot (null: it has no index entry), stored with it. */
  readonly expiries: Map<string, number | null>;
  readonly outputs: OutRecord[];
  /** What this change counts, added to the stats once it is committed (never twice on a retry). */
  readonly tally: Tally;
  /** Window-index keys this change writes (not in the store yet), for closing in the same change. */
  readonly windowPuts: Set<string>;
  /** The earliest window expiry this change indexes, if any. */
  lowestExpiry: number;
  /** The partition's watermark once this change is committed. */
  watermark: number | undefined;
  /** Pending joins this change opens (positive) or resolves (negative). */
  pendingDelta: number;
  /** Rewards this change folds in, reported once it is committed. */
  readonly rewarded: RewardResolved[];
  /** The window floor once this change is committed (set when it closed windows). */
  floor: string | undefined;
}

/** A slot that waits for its other half (or its window): open, with a prediction or a label. */
type DecodedRecord =
  | { readonly record: LogRecord; readonly event: JoinEvent; readonly error: null }
  | {
      readonly record: LogRecord;
      readonly event: null;
      readonly error: null;
      /** The partition the label belongs to, where it is forwarded. */
      readonly target: number;
    }
  | { readonly record: LogRecord; readonly event: null; readonly error: DynabError };

function requestIdOf(event: JoinEvent): string {
  return event.kind === 'prediction' ? event.prediction.requestId : event.label.requestId;
}

function isPending(slot: JoinSlot): boolean {
  return slot.state === 'open' && (slot.prediction !== null || slot.label !== null);
}

export function createAggregatorProcessor(deps: AggregatorProcessorDeps): AggregatorProcessor {
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
    snapshotsPublished: 0,
    idleAdvances: 0,
    fallback: 0,
    fallbackLabels: 0,
    purged: 0,
    forwarded: 0,
  };
  const slotCodec: SlotCodec = {
    encodePrediction: (p) => codecs.prediction.encode(p),
    decodePrediction: (b) => codecs.prediction.decode(b),
    encodeLabel: (l) => codecs.label.encode(l),
    decodeLabel: (b) => codecs.label.decode(b),
  };
  const experiments = { get: deps.experiment };
  const ruleFor = (experiment: string): WindowRule | null => experiments.get(experiment) ?? null;

  /** Counts per partition number, mirrored from the store for the partitions this instance owns. */
  const countsByPartition = new Map<number, Map<string, ExperimentCounts>>();
  const watermarks = new Map<number, number>();
  /**
   * Pending joins per owned partition, kept in the store (n/<p>) with every change that moves
   * it, so the count travels with the partition. State written before the key existed starts
   * it at 0 and counts from then on.
   */
  const pendingByPartition = new Map<number, number>();
  /**
   * Per owned partition, a window key with no window entry below it. Closing scans start here, so
   * they never walk the tombstones of windows already closed; a change that indexes an earlier
   * window moves it down to that window's expiry.
   */
  const windowFloors = new Map<number, string>();
  /**
   * Per owned partition, its watermark when a label last arrived and the processing time then:
   * the base from which an idle labels stream advances the watermark (deps.idleCloseMs).
   */
  const idleBase = new Map<number, { readonly watermark: number; readonly at: number }>();
  /** Partitions with due windows left over after a change closed its chunk. */
  const moreDue = new Set<number>();
  const dirty = new Set<string>();

  /**
   * Rebuilds partition p's window index from its slots, each of which stores the expiry it was
   * indexed under: the index is kept locally only, and a restore that read the changelog may
   * have changed slots without it.
   */
  const rebuildWindowIndex = async (p: number): Promise<void> => {
    const operations: StoreOperation[] = [];
    const flush = async (): Promise<void> => {
      if (operations.length >= REBUILD_WRITE_CHUNK) await store.write(operations.splice(0));
    };
    for await (const [key] of store.entries(stateKeys.windowPrefix(p))) {
      operations.push({ type: 'del', key });
      await flush();
    }
    const slotPrefix = stateKeys.slotPrefix(p);
    for await (const [key, value] of store.entries(slotPrefix)) {
      const expiry = storedSlotExpiry(value);
      if (expiry === null) continue;
      const window = stateKeys.window(p, expiry, key.slice(slotPrefix.length));
      operations.push({ type: 'put', key: window, value: EMPTY_VALUE });
      await flush();
    }
    await store.write(operations);
  };

  const loadPartition = async (p: number, restored: boolean): Promise<void> => {
    if (restored) await rebuildWindowIndex(p);
    const counts = new Map<string, ExperimentCounts>();
    for await (const [, value] of store.entries(stateKeys.countsPrefix(p))) {
      const decoded = decodeCounts(value);
      counts.set(decoded.experiment, decoded);
    }
    countsByPartition.set(p, counts);
    // Marked only now: a publication running while the entries are read would find no counts
    // for these keys yet and drop them.
    for (const experiment of counts.keys()) dirty.add(`${experiment}\u0000${p}`);
    windowFloors.set(p, stateKeys.windowPrefix(p));
    const pending = await store.get(stateKeys.pendingJoins(p));
    pendingByPartition.set(p, pending === undefined ? 0 : Number(pending.toString()));
    const watermark = await store.get(stateKeys.watermark(p));
    if (watermark === undefined) {
      watermarks.delete(p);
      idleBase.delete(p);
    } else {
      watermarks.set(p, Number(watermark.toString()));
      idleBase.set(p, { watermark: Number(watermark.toString()), at: deps.now() });
    }
    // Windows the watermark has passed may be left from before (a change that closed one
    // chunk only): the next punctuation closes them.
    moreDue.add(p);
  };

  const unloadPartition = (p: number): void => {
    countsByPartition.delete(p);
    pendingByPartition.delete(p);
    watermarks.delete(p);
    windowFloors.delete(p);
    idleBase.delete(p);
    moreDue.delete(p);
  };

  const takeSnapshots = (): PosteriorPublished[] => {
    const snapshots: PosteriorPublished[] = [];
    for (const entry of dirty) {
      const [experiment = '', partitionText = '0'] = entry.split('\u0000');
      const p = Number(partitionText);
      const counts = countsByPartition.get(p)?.get(experiment);
      if (counts === undefined) continue;
      snapshots.push({
        experiment,
        partition: p,
        variants: counts.variants,
        version: counts.version,
        publishedAt: deps.now(),
        decayedAt: counts.decayedAt,
        shadowVariants: counts.shadowVariants,
      });
    }
    dirty.clear();
    return snapshots;
  };

  const decodeEvent = (record: LogRecord): JoinEvent => {
    if (record.value === null) throw new DynabError('MALFORMED_MESSAGE', 'record has no value');
    if (record.topic === topics.predictions) {
      checkKey(record.key);
      checkHeaders(record.headers);
      const prediction: PredictionMade = codecs.prediction.decode(record.value);
      checkPredictionFields(prediction);
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
    checkLabelRecord({ key: record.key, value: record.value, headers: record.headers });
    const brokerTime = recordEventTime(record, deps.now);
    const label: LabelReceived = decodeLabel(record.value, record.headers, codecs, brokerTime);
    checkLabelFields(label);
    checkLabelEventTime(label, brokerTime, deps.eventTimeAllowanceMs);
    if (label.reward !== null && !Number.isFinite(label.reward)) {
      throw new DynabError(
        'INVALID_FIELD',
        `reward ${label.reward} of request ${label.requestId} is not a finite number`,
      );
    }
    return { kind: 'label', label };
  };

  /** The rule a slot's prediction is judged by: the one pinned when it arrived, else today's. */
  const ruleOf = (
    change: PartitionChange,
    requestId: string,
    prediction: PredictionMade,
  ): WindowRule | null => change.rules.get(requestId) ?? ruleFor(prediction.experiment);

  const newChange = (p: number): PartitionChange => ({
    p,
    slots: new Map(),
    changedSlots: new Set(),
    purged: new Set(),
    rules: new Map(),
    counts: new Map(countsByPartition.get(p) ?? []),
    changedCounts: new Set(),
    operations: [],
    localOperations: new Map(),
    unstored: new Set(),
    expiries: new Map(),
    outputs: [],
    tally: emptyTally(),
    windowPuts: new Set(),
    lowestExpiry: Number.POSITIVE_INFINITY,
    watermark: watermarks.get(p),
    pendingDelta: 0,
    rewarded: [],
    floor: undefined,
  });

  const loadSlots = async (
    change: PartitionChange,
    requestIds: readonly string[],
  ): Promise<void> => {
    const missing = [...new Set(requestIds)].filter((id) => !change.slots.has(id));
    const stored = await store.getMany(missing.map((id) => stateKeys.slot(change.p, id)));
    missing.forEach((id, i) => {
      const bytes = stored[i];
      if (bytes === undefined) {
        change.slots.set(id, EMPTY_SLOT);
        change.unstored.add(id);
        return;
      }
      const { slot, rule } = decodeStoredSlot(bytes, slotCodec);
      change.slots.set(id, slot);
      change.rules.set(id, rule);
    });
  };

  const deadLetter = (change: PartitionChange, record: LogRecord, error: DynabError): void => {
    change.tally.deadLettered++;
    warnDeadLettered(logger, record, error);
    change.outputs.push(
      buildDeadLetter(record, error, 'aggregator', topics.deadLetters, deps.now(), (l) =>
        codecs['dead-letter'].encode(l),
      ),
    );
  };

  /**
   * A label the store held, as a record for its dead letter: the original record is long
   * committed, so source offset -1 says the bytes are the label as stored.
   */
  const heldLabelRecord = (change: PartitionChange, label: LabelReceived): LogRecord => ({
    topic: topics.labels,
    partition: change.p,
    offset: '-1',
    key: Buffer.from(label.requestId),
    value: codecs.label.encode(label),
    headers: {},
    timestamp: label.eventTime,
  });

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
   * and join the shadow predictions like any label, committed with the change that made them.
   */
  const labelShadows = (
    change: PartitionChange,
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
      change.outputs.push({
        topic: topics.labels,
        key: prediction.requestId,
        value: codecs.label.encode(copy),
      });
    }
  };

  /** When an open slot's window index entry falls due (null: it has none). */
  const openExpiry = (
    change: PartitionChange,
    requestId: string,
    slot: JoinSlot,
  ): number | null => {
    if (slot.state !== 'open') return null;
    if (slot.prediction !== null) {
      const rule = ruleOf(change, requestId, slot.prediction);
      return rule === null ? null : predictionExpiry(slot.prediction, rule);
    }
    return slot.label === null ? null : labelExpiry(slot.label, deps.orphanAfterMs);
  };

  /** When a request whose prediction is this one can be forgotten once resolved. */
  const forgetAt = (
    change: PartitionChange,
    requestId: string,
    prediction: PredictionMade,
  ): number =>
    purgeTime(
      { state: 'joined', prediction, label: null, lateSeen: false },
      ruleOf(change, requestId, prediction),
      deps.orphanAfterMs,
    ) ?? prediction.requestTime + deps.orphanAfterMs;

  /**
   * Stores the slot and indexes when it next has to be looked at: while it is open, when its
   * window can close; once resolved, when it can be forgotten (purgeTime, or `purgeAt` for a
   * resolved slot that keeps no prediction). A slot that stops being open drops its window
   * entry, so a resolved slot has exactly one entry: the one that forgets it.
   */
  const setSlot = (
    change: PartitionChange,
    requestId: string,
    slot: JoinSlot,
    purgeAt: number | null = null,
  ): void => {
    const previous = change.slots.get(requestId) ?? EMPTY_SLOT;
    change.pendingDelta += Number(isPending(slot)) - Number(isPending(previous));
    const before = openExpiry(change, requestId, previous);
    change.slots.set(requestId, slot);
    change.changedSlots.add(requestId);
    change.purged.delete(requestId);
    let expiry: number | null;
    if (slot.state !== 'open') {
      expiry =
        slot.prediction === null
          ? purgeAt
          : purgeTime(slot, ruleOf(change, requestId, slot.prediction), deps.orphanAfterMs);
      if (before !== null) {
        const stale = stateKeys.window(change.p, before, requestId);
        // Put by this change for a slot the store never had: the put is dropped, not undone.
        if (change.windowPuts.delete(stale) && change.unstored.has(requestId))
          change.localOperations.delete(stale);
        else change.localOperations.set(stale, { type: 'del', key: stale });
      }
    } else {
      expiry = openExpiry(change, requestId, slot);
    }
    change.expiries.set(requestId, expiry);
    if (expiry !== null) {
      const key = stateKeys.window(change.p, expiry, requestId);
      change.lowestExpiry = Math.min(change.lowestExpiry, expiry);
      change.windowPuts.add(key);
      change.localOperations.set(key, { type: 'put', key, value: EMPTY_VALUE });
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
    const shadow = joined.prediction !== null && joined.prediction.shadowOf !== null;
    const purgeAt =
      joined.prediction === null ? null : forgetAt(change, requestId, joined.prediction);
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
      labelShadows(change, joined.prediction, joined.label);
    }
    switch (outcome.kind) {
      case 'duplicate':
        change.tally.duplicates++;
        return;
      case 'pending':
        setSlot(change, requestId, outcome.slot, purgeAt);
        return;
      case 'unscorable':
        setSlot(change, requestId, outcome.slot, purgeAt);
        // With a prediction coming in, the label that cannot be scored is the held one.
        deadLetter(
          change,
          incoming.kind === 'prediction' && joined.label !== null
            ? heldLabelRecord(change, joined.label)
            : record,
          outcome.error,
        );
        return;
      case 'replayed': {
        const { prediction } = incoming.kind === 'prediction' ? incoming : joined;
        if (prediction === null) return;
        setSlot(
          change,
          requestId,
          { state: 'open', prediction, label: null, lateSeen: outcome.slot.lateSeen },
          purgeAt,
        );
        for (const step of outcome.steps) {
          applyOutcome(
            change,
            heldLabelRecord(change, step.label),
            requestId,
            step.outcome,
            { prediction, label: step.label },
            { kind: 'label', label: step.label },
          );
        }
        return;
      }
      case 'rejected':
        deadLetter(change, record, outcome.error);
        return;
      case 'late':
        setSlot(change, requestId, outcome.slot, purgeAt);
        change.tally.late++;
        count(change, outcome.late.experiment, outcome.late.variant, { kind: 'late' }, shadow);
        change.outputs.push({
          topic: topics.lateLabels,
          key: requestId,
          value: codecs.reward.encode(outcome.late),
        });
        return;
      case 'resolved': {
        setSlot(change, requestId, outcome.slot, purgeAt);
        const { reward } = outcome;
        change.tally.rewards++;
        change.rewarded.push(reward);
        countReward(change, reward, shadow, false);
        change.outputs.push({
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
    switch (outcome.kind) {
      case 'not-due':
        return;
      case 'implicit': {
        setSlot(change, requestId, outcome.slot);
        const { reward } = outcome;
        change.tally.implicit++;
        change.rewarded.push(reward);
        countReward(
          change,
          reward,
          slotPrediction !== null && slotPrediction.shadowOf !== null,
          true,
        );
        change.outputs.push({
          topic: topics.rewards,
          key: requestId,
          value: codecs.reward.encode(reward),
        });
        return;
      }
      case 'dropped': {
        setSlot(change, requestId, outcome.slot);
        change.tally.dropped++;
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
        setSlot(
          change,
          requestId,
          outcome.slot,
          labelExpiry(outcome.label, deps.orphanAfterMs) + deps.orphanAfterMs,
        );
        change.tally.orphaned++;
        for (const label of [outcome.label, ...outcome.heldLabels])
          deadLetter(change, heldLabelRecord(change, label), outcome.error);
        return;
      }
    }
  };

  /** The committed form of a change: its store operations, then its mirror in memory. */
  const toStateChange = (change: PartitionChange): StateChange => {
    for (const id of change.purged)
      change.operations.push({ type: 'del', key: stateKeys.slot(change.p, id) });
    for (const id of change.changedSlots) {
      const slot = change.slots.get(id) ?? EMPTY_SLOT;
      change.operations.push({
        type: 'put',
        key: stateKeys.slot(change.p, id),
        value: encodeSlot(
          slot,
          slotCodec,
          slot.prediction === null ? null : (change.rules.get(id) ?? null),
          change.expiries.get(id) ?? null,
        ),
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
    const { p } = change;
    const pending = (pendingByPartition.get(p) ?? 0) + change.pendingDelta;
    if (change.pendingDelta !== 0)
      change.operations.push({
        type: 'put',
        key: stateKeys.pendingJoins(p),
        value: Buffer.from(String(Math.max(0, pending))),
      });
    if (change.watermark !== undefined && change.watermark !== watermarks.get(p))
      change.operations.push({
        type: 'put',
        key: stateKeys.watermark(p),
        value: Buffer.from(String(change.watermark)),
      });
    return {
      outputs: change.outputs,
      operations: change.operations,
      localOperations: [...change.localOperations.values()],
      afterCommit: () => {
        for (const name of TALLIED) stats[name] += change.tally[name];
        if (deps.onRewardCommitted !== undefined)
          for (const reward of change.rewarded) deps.onRewardCommitted(reward);
        if (pendingByPartition.has(p)) pendingByPartition.set(p, Math.max(0, pending));
        countsByPartition.set(p, change.counts);
        if (change.watermark !== undefined) watermarks.set(p, change.watermark);
        if (change.floor !== undefined) windowFloors.set(p, change.floor);
        if (Number.isFinite(change.lowestExpiry)) {
          const key = stateKeys.windowsBefore(p, change.lowestExpiry);
          const floor = windowFloors.get(p);
          if (floor === undefined || key < floor) windowFloors.set(p, key);
        }
        for (const experiment of change.changedCounts) dirty.add(`${experiment}\u0000${p}`);
      },
    };
  };

  /**
   * Closes, within the change, up to EXPIRY_CHUNK windows of its partition that the change's
   * watermark has passed: the stored window index from the floor up, plus the windows the
   * change itself indexed. Returns true when more may be due (a full chunk was read).
   */
  const closeDueWindows = async (change: PartitionChange): Promise<boolean> => {
    const { p, watermark } = change;
    if (watermark === undefined) return false;
    const bound = stateKeys.windowsBefore(p, watermark);
    const floor = windowFloors.get(p) ?? stateKeys.windowPrefix(p);
    const stored = floor < bound ? await store.range(floor, bound, EXPIRY_CHUNK) : [];
    const keys = new Set(stored.map(([key]) => key));
    for (const key of change.windowPuts) if (key < bound) keys.add(key);
    if (keys.size === 0) {
      if (floor < bound) change.floor = bound;
      return false;
    }
    const due = [...keys].sort();
    const requestIds = due.map((key) => stateKeys.requestIdOfWindow(p, key));
    await loadSlots(change, requestIds);
    for (const key of due) {
      change.windowPuts.delete(key);
      change.localOperations.set(key, { type: 'del', key });
    }
    for (const requestId of requestIds) {
      const slot = change.slots.get(requestId) ?? EMPTY_SLOT;
      const rule = slot.prediction === null ? null : ruleOf(change, requestId, slot.prediction);
      if (slot.state !== 'open') {
        // A resolved slot has one entry, the one that forgets it: due now for a slot without
        // its prediction, at purgeTime for one with it.
        const purge = purgeTime(slot, rule, deps.orphanAfterMs);
        if (purge === null || purge < watermark) {
          change.slots.set(requestId, EMPTY_SLOT);
          change.changedSlots.delete(requestId);
          change.purged.add(requestId);
          change.tally.purged++;
        }
        continue;
      }
      applyExpiry(
        change,
        requestId,
        expireSlot(slot, rule, watermark, deps.orphanAfterMs, deps.now()),
        slot.prediction,
      );
    }
    const full = stored.length >= EXPIRY_CHUNK;
    const last = stored[stored.length - 1];
    // Everything up to the last stored key read is gone once this commits (or, when the chunk
    // was not full, up to the bound); a window indexed again lies above the watermark.
    change.floor = full && last !== undefined ? `${last[0]}\u0000` : bound;
    return full;
  };

  /**
   * Where a label read from the `labels` topic on partition p belongs, when that is not p: its
   * request id's partition. A shadow copy of a label (`shadowRequestId`) is keyed by the served
   * request's id, so it is in place on that id's partition too. Labels read from the repartition
   * topic are in place by construction and never move again.
   */
  const forwardTarget = (record: LogRecord, label: LabelReceived, p: number): number | null => {
    const { partitionOf } = deps;
    if (partitionOf === undefined || record.topic !== topics.labels) return null;
    const own = partitionOf(label.requestId);
    if (own === p) return null;
    return servedRequestIdsOf(label.requestId).some((id) => partitionOf(id) === p) ? null : own;
  };

  /** An input record decoded: its event, where it must be forwarded, or why it is refused. */
  const decodeRecord = (record: LogRecord, p: number): DecodedRecord => {
    try {
      const event = decodeEvent(record);
      const target = event.kind === 'label' ? forwardTarget(record, event.label, p) : null;
      return target === null
        ? { record, event, error: null }
        : { record, event: null, error: null, target };
    } catch (error) {
      return { record, event: null, error: toDynabError(error, 'MALFORMED_MESSAGE') };
    }
  };

  /**
   * Folds the batches of partition number p (predictions and labels, co-partitioned) into one
   * change, and closes the windows its labels' event times passed.
   */
  const processPartition = async (
    p: number,
    batches: readonly LogBatch[],
  ): Promise<StateChange> => {
    const change = newChange(p);
    // Loops, not callbacks made per run: such a callback dies with the run, and its optimised
    // code with it at the next full collection (V8 keeps that code only weakly).
    const decoded: DecodedRecord[] = [];
    const ids: string[] = [];
    for (const batch of batches) {
      for (const record of batch.records) {
        const d = decodeRecord(record, p);
        decoded.push(d);
        if (d.event !== null) ids.push(requestIdOf(d.event));
      }
    }
    await loadSlots(change, ids);

    let watermark = change.watermark ?? Number.NEGATIVE_INFINITY;
    let sawLabel = false;
    for (const d of decoded) {
      const { record } = d;
      if ('target' in d) {
        // The same bytes, headers and timestamp: decoded there, the label is the same label.
        change.tally.forwarded++;
        change.outputs.push({
          topic: topics.labelsRepartition,
          partition: d.target,
          key: record.key,
          value: record.value,
          headers: record.headers,
          timestamp: record.timestamp,
        });
        continue;
      }
      if (d.event === null) {
        deadLetter(change, record, d.error);
        continue;
      }
      const { event } = d;
      const requestId = requestIdOf(event);
      const slot = change.slots.get(requestId) ?? EMPTY_SLOT;
      let rule: WindowRule | null;
      if (event.kind === 'prediction') {
        // A request already past its dedup horizon (window end + grace + orphan horizon) when its
        // prediction first shows up could have been counted and forgotten before: counting it
        // would make a replayed or re-sent old prediction count twice. It is refused, every time
        // alike, once the partition has a watermark, also when labels for it are held (a replay
        // may bring the label first; they stay held until they are orphaned). Before its first
        // label a partition has none, and such a prediction is counted: nothing there can have
        // been closed or forgotten yet, so it cannot count twice.
        if (
          slot.state === 'open' &&
          slot.prediction === null &&
          forgetAt(change, requestId, event.prediction) < watermark
        ) {
          deadLetter(
            change,
            record,
            new DynabError(
              'INVALID_FIELD',
              `prediction ${requestId} (request time ${event.prediction.requestTime}) is older than the dedup horizon: the watermark ${watermark} passed its window, grace and orphan horizon`,
            ),
          );
          continue;
        }
        change.tally.predictions++;
        rule = ruleOf(change, requestId, event.prediction);
        // Pinned for the life of the slot: a later change of the definition does not move its
        // window or its reward rule, and a restore judges it the same way.
        if (slot.prediction === null) change.rules.set(requestId, rule);
      } else {
        change.tally.labels++;
        sawLabel = true;
        rule = slot.prediction === null ? null : ruleOf(change, requestId, slot.prediction);
        // The watermark is the latest label event time: windows wait for the labels stream. A
        // label counts for it no later than its own record's timestamp: an honest label is
        // written after its event, so a later event time (a wrong clock, a flipped bit, within
        // the event-time allowance) can place that label but cannot close anyone's window.
        watermark = Math.max(watermark, Math.min(event.label.eventTime, record.timestamp));
      }
      const fallback = applyFallbackEvent(slot, event);
      if (fallback !== null) {
        change.tally.fallback += fallback.served;
        change.tally.fallbackLabels += fallback.labelled;
        if (fallback.slot === null) change.tally.duplicates++;
        else
          setSlot(
            change,
            requestId,
            fallback.slot,
            fallback.slot.prediction === null
              ? null
              : forgetAt(change, requestId, fallback.slot.prediction),
          );
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
    if (Number.isFinite(watermark)) change.watermark = watermark;
    // A prediction that arrives after the watermark passed its window closes in this change too.
    if (await closeDueWindows(change)) moreDue.add(p);
    const state = toStateChange(change);
    return {
      ...state,
      afterCommit: () => {
        state.afterCommit?.();
        if (sawLabel && change.watermark !== undefined)
          idleBase.set(p, { watermark: change.watermark, at: deps.now() });
      },
    };
  };

  /** Closes the windows left due after a chunk, one chunk per partition and punctuation. */
  const closeLeftovers = async (): Promise<Map<number, StateChange>> => {
    const changes = new Map<number, StateChange>();
    for (const p of [...moreDue]) {
      moreDue.delete(p);
      if (!countsByPartition.has(p)) continue;
      const change = newChange(p);
      if (await closeDueWindows(change)) moreDue.add(p);
      changes.set(p, toStateChange(change));
    }
    return changes;
  };

  /**
   * The idle rule (deps.idleCloseMs): a partition that has had no label for idleCloseMs of
   * processing time moves its watermark on at the pace of processing time from then on (the
   * watermark when its last label arrived, plus the time since, minus idleCloseMs), and closes
   * the windows it passed. A label that arrives later takes the watermark on from there.
   */
  const closeIdleWindows = async (idleCloseMs: number): Promise<Map<number, StateChange>> => {
    const now = deps.now();
    const changes = new Map<number, StateChange>();
    for (const [p, base] of idleBase) {
      if (!countsByPartition.has(p)) continue;
      const target = Math.floor(base.watermark + (now - base.at - idleCloseMs));
      if (!(target > (watermarks.get(p) ?? Number.NEGATIVE_INFINITY))) continue;
      const change = newChange(p);
      change.watermark = target;
      if (await closeDueWindows(change)) moreDue.add(p);
      const state = toStateChange(change);
      changes.set(p, {
        ...state,
        afterCommit: () => {
          state.afterCommit?.();
          stats.idleAdvances++;
        },
      });
    }
    return changes;
  };

  return {
    stats,
    stateKeyPrefixes: (p) => [
      stateKeys.slotPrefix(p),
      stateKeys.countsPrefix(p),
      stateKeys.windowPrefix(p),
      stateKeys.watermark(p),
      stateKeys.pendingJoins(p),
    ],
    load: loadPartition,
    unload: unloadPartition,
    pendingJoins: () => {
      let total = 0;
      for (const pending of pendingByPartition.values()) total += pending;
      return total;
    },
    process: processPartition,
    takeSnapshots,
    retrySnapshots: (snapshots) => {
      for (const s of snapshots) dirty.add(`${s.experiment}\u0000${s.partition}`);
    },
    hasLeftovers: () => moreDue.size > 0,
    closeLeftovers,
    closeIdleWindows,
  };
}
