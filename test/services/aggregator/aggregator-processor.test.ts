// The aggregator's processor without a broker: batches in, a change out (outputs and store
// operations), applied to an in-memory store the way the stateful runner applies a committed one.
import { describe, expect, it } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import type {
  ExperimentDefined,
  LabelReceived,
  PredictionMade,
} from '../../../lib/contracts/events.ts';
import { topicNames } from '../../../lib/contracts/topics.ts';
import type { LogBatch, LogRecord } from '../../../lib/event-log/event-log.ts';
import { createLogger } from '../../../lib/log/logger.ts';
import { MemoryStore } from '../../../lib/store/memory-store.ts';
import type { StateChange } from '../../../lib/stream/stateful-runner.ts';
import {
  createAggregatorProcessor,
  type AggregatorProcessor,
} from '../../../services/aggregator/aggregator-processor.ts';
import {
  decodeCounts,
  decodeStoredSlot,
  stateKeys,
  storedSlotExpiry,
  type SlotCodec,
} from '../../../services/aggregator/partition-state.ts';
import { experimentDefined, labelReceived, predictionMade } from '../../support/fixtures.ts';
import { legacyJsonSlot } from '../../support/legacy-join-slot.ts';

const codecs = loadCodecs();
const topics = topicNames('t.');
const T = 1_700_000_000_000;
const ORPHAN_AFTER_MS = 15_000;
/** Labels may be dated this far beyond their record's timestamp (T unless a test sets it). */
const ALLOWANCE_MS = 60_000;

interface Harness {
  readonly processor: AggregatorProcessor;
  readonly store: MemoryStore;
  readonly experiments: Map<string, ExperimentDefined>;
  /** Every committed store operation, in order: the changelog. */
  readonly changelog: StateChange['operations'][number][];
  /** The local-only operations (window index) of each committed change, in order. */
  readonly localWrites: NonNullable<StateChange['localOperations']>[];
  /** Processes the records as one batch per topic, commits the change; returns its outputs. */
  run(records: readonly LogRecord[]): Promise<StateChange['outputs']>;
}

async function harness(
  now = T + 50_000,
  store = new MemoryStore(),
  partitionOf?: (requestId: string) => number,
  /** The store was restored from a changelog: the processor rebuilds its window index. */
  restored = false,
): Promise<Harness> {
  const experiments = new Map<string, ExperimentDefined>([
    [
      'spam-filter',
      experimentDefined({
        attributionWindowMs: 10_000,
        graceMs: 1_000,
        implicitReward: 0,
      }),
    ],
  ]);
  const processor = createAggregatorProcessor({
    store,
    codecs,
    topics,
    logger: createLogger('test', 'silent'),
    now: () => now,
    experiment: (name) => experiments.get(name),
    orphanAfterMs: ORPHAN_AFTER_MS,
    eventTimeAllowanceMs: ALLOWANCE_MS,
    ...(partitionOf !== undefined ? { partitionOf } : {}),
  });
  await processor.load(0, restored);
  const changelog: StateChange['operations'][number][] = [];
  const localWrites: NonNullable<StateChange['localOperations']>[] = [];
  const commit = async (change: StateChange): Promise<void> => {
    await store.write([...change.operations, ...(change.localOperations ?? [])]);
    changelog.push(...change.operations);
    localWrites.push(change.localOperations ?? []);
    change.afterCommit?.();
  };
  return {
    processor,
    store,
    experiments,
    changelog,
    localWrites,
    async run(records) {
      const batches: LogBatch[] = [topics.predictions, topics.labels, topics.labelsRepartition].map(
        (topic) => ({
          topic,
          partition: 0,
          highWatermark: '0',
          records: records.filter((r) => r.topic === topic),
        }),
      );
      const change = await processor.process(0, batches);
      await commit(change);
      // Leftover chunks of due windows, as the runner's punctuations would close them.
      while (processor.hasLeftovers()) {
        for (const leftover of (await processor.closeLeftovers()).values()) await commit(leftover);
      }
      return change.outputs;
    },
  };
}

let nextOffset = 0;
const record = (
  topic: string,
  requestId: string,
  value: Buffer,
  options: { timestamp?: number; headers?: Record<string, string> } = {},
): LogRecord => ({
  topic,
  partition: 0,
  offset: String(nextOffset++),
  key: Buffer.from(requestId),
  value,
  headers: options.headers ?? {},
  timestamp: options.timestamp ?? T,
});
const prediction = (requestId: string, overrides: Partial<PredictionMade> = {}): LogRecord =>
  record(
    topics.predictions,
    requestId,
    codecs.prediction.encode(
      predictionMade({ requestId, requestTime: T, eventTime: T, ...overrides }),
    ),
  );
const label = (
  requestId: string,
  eventTime: number,
  overrides: Partial<LabelReceived> = {},
): LogRecord =>
  record(
    topics.labels,
    requestId,
    codecs.label.encode(labelReceived({ requestId, eventTime, ...overrides })),
    // An honest producer writes the label at or after its event.
    { timestamp: eventTime },
  );
const rewardsOf = (outputs: StateChange['outputs']) =>
  outputs
    .filter((o) => o.topic === topics.rewards)
    .map((o) => codecs.reward.decode(o.value ?? Buffer.alloc(0)))
    .map((r) => [r.requestId, r.resolution, r.reward])
    .sort();

describe('aggregator processor', () => {
  it('joins in either order and counts only what was committed', async () => {
    const h = await harness();
    const outputs = await h.run([prediction('a'), label('b', T + 2_000)]);
    expect(rewardsOf(outputs)).toEqual([]);
    expect(rewardsOf(await h.run([label('a', T + 1_000), prediction('b')]))).toEqual([
      ['a', 'label', 1],
      ['b', 'label', 1],
    ]);
    // A change that is never committed (its transaction failed) counts nothing.
    const uncommitted = await h.processor.process(0, [
      { topic: topics.predictions, partition: 0, highWatermark: '0', records: [prediction('c')] },
    ]);
    expect(uncommitted.operations.length).toBeGreaterThan(0);
    expect(h.processor.stats).toMatchObject({ predictions: 2, labels: 2, rewards: 2 });
    const [snapshot] = h.processor.takeSnapshots();
    expect(snapshot?.variants.find((v) => v.variant === 'model-a')).toMatchObject({
      successes: 2,
      count: 2,
      assigned: 2,
    });
  });

  it('counts pending joins in the partition state, so the count travels with the partition', async () => {
    const h = await harness();
    await h.run([prediction('a'), label('b', T + 1_000), prediction('c')]);
    expect(h.processor.pendingJoins()).toBe(3);
    // A never-committed change moves nothing.
    await h.processor.process(0, [
      { topic: topics.predictions, partition: 0, highWatermark: '0', records: [prediction('d')] },
    ]);
    expect(h.processor.pendingJoins()).toBe(3);
    // a and b resolve by label; c by its window (implicit reward), moved past by a label on z.
    await h.run([label('a', T + 2_000), prediction('b')]);
    expect(h.processor.pendingJoins()).toBe(1);
    await h.run([label('z', T + 12_000)]);
    expect(h.processor.pendingJoins()).toBe(1); // z's label waits for its prediction
    expect((await h.store.get(stateKeys.pendingJoins(0)))?.toString()).toBe('1');
    // Another instance that loads the partition from the same state sees the same count.
    const other = await harness(T + 50_000, h.store);
    expect(other.processor.pendingJoins()).toBe(1);
    other.processor.unload(0);
    expect(other.processor.pendingJoins()).toBe(0);
  });

  it('judges a pending request by the rule in force when its prediction arrived', async () => {
    const h = await harness();
    await h.run([prediction('a')]);
    const current = h.experiments.get('spam-filter');
    if (current === undefined) throw new Error('fixture missing');
    // The window shrinks to 1 s afterwards: a's label 5 s after its request still counts.
    h.experiments.set('spam-filter', { ...current, attributionWindowMs: 1_000 });
    expect(rewardsOf(await h.run([label('a', T + 5_000)]))).toEqual([['a', 'label', 1]]);
    // A request that arrives after the change gets the new window: 5 s is late now.
    await h.run([prediction('b')]);
    const outputs = await h.run([label('b', T + 5_000)]);
    expect(outputs.filter((o) => o.topic === topics.lateLabels)).toHaveLength(1);
  });

  it('forgets resolved slots after the orphan horizon, with deletions on the changelog', async () => {
    const h = await harness();
    await h.run([prediction('a'), prediction('b'), label('a', T + 1_000)]);
    // The watermark passes b's window: implicit reward; both slots are still kept.
    expect(rewardsOf(await h.run([label('tick', T + 12_000)]))).toEqual([['b', 'implicit', 0]]);
    expect(await h.store.get(stateKeys.slot(0, 'a'))).toBeDefined();
    expect(await h.store.get(stateKeys.slot(0, 'b'))).toBeDefined();
    // Past window end + grace + orphan horizon (T + 26 s): both go.
    await h.run([label('tock', T + 27_000)]);
    expect(h.processor.stats.purged).toBe(2);
    expect(await h.store.get(stateKeys.slot(0, 'a'))).toBeUndefined();
    expect(await h.store.get(stateKeys.slot(0, 'b'))).toBeUndefined();
    expect(h.changelog).toContainEqual({ type: 'del', key: stateKeys.slot(0, 'a') });
    // Nothing of a or b is left in the window index either.
    const windows = h.store.dump().filter(([key]) => key.startsWith(stateKeys.windowPrefix(0)));
    expect(windows.map(([key]) => stateKeys.requestIdOfWindow(0, key)).sort()).toEqual([
      'tick',
      'tock',
    ]);
  });

  it('writes a request joined within one change to the window index once, and moves a stored entry with one deletion', async () => {
    const h = await harness();
    const windowOps = (ops: readonly StateChange['operations'][number][], id: string) =>
      ops
        .filter((op) => op.key.startsWith(stateKeys.windowPrefix(0)))
        .filter((op) => stateKeys.requestIdOfWindow(0, op.key) === id)
        .map((op) => op.type);
    const stored = (id: string) =>
      h.store
        .dump()
        .filter(([key]) => key.startsWith(stateKeys.windowPrefix(0)))
        .filter(([key]) => stateKeys.requestIdOfWindow(0, key) === id);
    /** The local operations of the batch's own change (punctuations may follow it). */
    const runLocal = async (records: LogRecord[]) => {
      const before = h.localWrites.length;
      await h.run(records);
      return h.localWrites[before] ?? [];
    };
    // Opened and resolved in one change: only the entry that forgets it is written.
    expect(windowOps(await runLocal([prediction('a'), label('a', T + 1_000)]), 'a')).toEqual([
      'put',
    ]);
    expect(stored('a')).toHaveLength(1);
    // Opened in one change, resolved in the next: the stored open entry is deleted.
    await h.run([prediction('b')]);
    const open = stored('b');
    expect(open).toHaveLength(1);
    await h.run([label('b', T + 1_000)]);
    const ops = (h.localWrites.at(-1) ?? []).filter((op) =>
      op.key.startsWith(stateKeys.windowPrefix(0)),
    );
    expect(ops.filter((op) => stateKeys.requestIdOfWindow(0, op.key) === 'b')).toEqual([
      { type: 'del', key: open[0]?.[0] },
      expect.objectContaining({ type: 'put' }),
    ]);
    expect(stored('b')).toHaveLength(1);
    expect(stored('b')[0]?.[0]).not.toBe(open[0]?.[0]);
    // Both forgotten in time, nothing left behind.
    await h.run([label('tock', T + 40_000)]);
    expect(stored('a')).toEqual([]);
    expect(stored('b')).toEqual([]);
  });

  it('rebuilds the same state from the same records at another time, and from its changelog', async () => {
    const records = (): LogRecord[] => {
      nextOffset = 0;
      return [
        prediction('x/1'),
        prediction('y'),
        // A JSON label without eventTime takes the record's timestamp, not the clock.
        record(
          topics.labels,
          'x/1',
          Buffer.from(JSON.stringify({ requestId: 'x/1', label: 'spam' })),
          {
            timestamp: T + 3_000,
            headers: { 'content-type': 'application/json' },
          },
        ),
        label('z', T + 30_000),
      ];
    };
    const today = await harness(T + 50_000);
    await today.run(records());
    const tomorrow = await harness(T + 86_400_000);
    await tomorrow.run(records());
    expect(tomorrow.store.dump()).toEqual(today.store.dump());
    expect(today.processor.stats.rewards).toBe(1);

    // Applying the changelog to an empty store gives the same state and the same counts; the
    // window index is not on the changelog, and loading the restored partition rebuilds it.
    const restored = new MemoryStore();
    await restored.write(today.changelog);
    const windowKeys = (store: MemoryStore) =>
      store
        .dump()
        .map(([key]) => key)
        .filter((key) => key.startsWith(stateKeys.windowPrefix(0)));
    expect(windowKeys(today.store).length).toBeGreaterThan(0);
    expect(windowKeys(restored)).toEqual([]);
    expect(today.changelog.some((op) => op.key.startsWith(stateKeys.windowPrefix(0)))).toBe(false);
    const again = await harness(T + 50_000, restored, undefined, true);
    expect(restored.dump()).toEqual(today.store.dump());
    const expected = today.processor.takeSnapshots();
    expect(expected.length).toBeGreaterThan(0);
    expect(again.processor.takeSnapshots()).toEqual(expected);
  });

  it('carries on from the JSON slots of an earlier version as from its own', async () => {
    const slotCodec: SlotCodec = {
      encodePrediction: (p) => codecs.prediction.encode(p),
      decodePrediction: (b) => codecs.prediction.decode(b),
      encodeLabel: (l) => codecs.label.encode(l),
      decodeLabel: (b) => codecs.label.decode(b),
    };
    const current = await harness();
    // Pending: a and b with their predictions (b has seen a late label, within the grace), c
    // with two labels waiting for its prediction.
    await current.run([
      prediction('a'),
      prediction('b'),
      label('b', T + 10_500),
      label('c', T + 1_000),
      label('c', T + 500, { label: 'ham' }),
    ]);
    // The same state as an earlier version wrote it: every slot in JSON, and restored from the
    // changelog, so the window index is rebuilt from the expiries in the JSON slots.
    const legacy = new MemoryStore();
    const slotPrefix = stateKeys.slotPrefix(0);
    let slots = 0;
    for await (const [key, value] of current.store.entries('')) {
      if (key.startsWith(stateKeys.windowPrefix(0))) continue;
      if (!key.startsWith(slotPrefix)) {
        await legacy.write([{ type: 'put', key, value }]);
        continue;
      }
      const { slot, rule } = decodeStoredSlot(value, slotCodec);
      const json = legacyJsonSlot(slot, slotCodec, rule, storedSlotExpiry(value));
      expect(json[0]).toBe(0x7b);
      await legacy.write([{ type: 'put', key, value: json }]);
      slots++;
    }
    expect(slots).toBe(3);
    const old = await harness(T + 50_000, legacy, undefined, true);
    expect(old.store.dump().filter(([key]) => !key.startsWith(slotPrefix))).toEqual(
      current.store.dump().filter(([key]) => !key.startsWith(slotPrefix)),
    );
    // a joins, c's prediction meets its held labels, b's second late label is a duplicate and
    // its window closes: the same outputs and, every slot rewritten, the same store.
    const next = (): LogRecord[] => [
      label('a', T + 2_000),
      prediction('c'),
      label('b', T + 10_700),
      label('tick', T + 12_000),
    ];
    const expected = await current.run(next());
    expect(rewardsOf(expected)).toEqual([
      ['a', 'label', 1],
      ['b', 'implicit', 0],
      ['c', 'label', 1],
    ]);
    expect(await old.run(next())).toEqual(expected);
    // Counts compare decoded: loading them from a store orders their keys differently.
    const state = (store: MemoryStore) =>
      store
        .dump()
        .map(([key, value]) =>
          key.startsWith(stateKeys.countsPrefix(0))
            ? [key, decodeCounts(Buffer.from(value, 'base64'))]
            : [key, value],
        );
    expect(state(old.store)).toEqual(state(current.store));
    expect(old.processor.takeSnapshots()).toEqual(current.processor.takeSnapshots());
  });
});

const deadLettersOf = (outputs: StateChange['outputs']) =>
  outputs
    .filter((o) => o.topic === topics.deadLetters)
    .map((o) => codecs['dead-letter'].decode(o.value ?? Buffer.alloc(0)));

describe('aggregator processor: event time and label order', () => {
  it('dead-letters a label dated beyond its record timestamp plus the allowance, without moving the watermark', async () => {
    const h = await harness();
    await h.run([prediction('a')]);
    const ahead = record(
      topics.labels,
      'unknown',
      codecs.label.encode(labelReceived({ requestId: 'unknown', eventTime: T + 2 * 86_400_000 })),
      { timestamp: T },
    );
    const outputs = await h.run([ahead]);
    const [letter] = deadLettersOf(outputs);
    expect(letter?.errorCode).toBe('INVALID_FIELD');
    expect(letter?.reason).toContain('broker timestamp');
    expect(await h.store.get(stateKeys.watermark(0))).toBeUndefined();
    // a's window is still open: its in-window label counts.
    expect(rewardsOf(await h.run([label('a', T + 1_000)]))).toEqual([['a', 'label', 1]]);
  });

  it('accepts a label dated within the allowance of a later record timestamp', async () => {
    const h = await harness();
    await h.run([prediction('a')]);
    const late = record(
      topics.labels,
      'a',
      codecs.label.encode(labelReceived({ requestId: 'a', eventTime: T + 65_000 })),
      { timestamp: T + 10_000 },
    );
    const outputs = await h.run([late]);
    expect(deadLettersOf(outputs)).toEqual([]);
    expect(outputs.filter((o) => o.topic === topics.lateLabels)).toHaveLength(1);
  });

  it('counts an in-window label after a late one when both came before the prediction', async () => {
    const h = await harness();
    // Window of a: [T, T + 10 s], grace 1 s.
    await h.run([label('a', T + 10_500, { label: 'ham' }), label('a', T + 1_000)]);
    const outputs = await h.run([prediction('a')]);
    expect(rewardsOf(outputs)).toEqual([['a', 'label', 1]]);
    expect(outputs.filter((o) => o.topic === topics.lateLabels)).toHaveLength(1);
  });

  it('keeps the held labels through a restart of the processor on the same store', async () => {
    const store = new MemoryStore();
    const first = await harness(T + 50_000, store);
    await first.run([label('a', T + 10_500, { label: 'ham' }), label('a', T + 1_000)]);
    const second = await harness(T + 50_000, store);
    expect(rewardsOf(await second.run([prediction('a')]))).toEqual([['a', 'label', 1]]);
  });

  it('dead-letters an invalid label held before its prediction, and counts the valid one after it', async () => {
    const h = await harness();
    await h.run([label('a', T + 1_000, { reward: 1.7 }), label('a', T + 2_000, { reward: 1 })]);
    const outputs = await h.run([prediction('a')]);
    expect(rewardsOf(outputs)).toEqual([['a', 'label', 1]]);
    const letters = deadLettersOf(outputs);
    expect(letters).toHaveLength(1);
    expect(letters[0]?.reason).toContain('outside [0, 1]');
    // The dead letter holds the label, not the prediction that met it.
    expect(codecs.label.decode(letters[0]?.value ?? Buffer.alloc(0)).reward).toBe(1.7);
  });

  it('dead-letters an invalid label after the prediction without resolving the request', async () => {
    const h = await harness();
    await h.run([prediction('a')]);
    expect(deadLettersOf(await h.run([label('a', T + 1_000, { reward: 1.7 })]))).toHaveLength(1);
    expect(rewardsOf(await h.run([label('a', T + 2_000, { reward: 1 })]))).toEqual([
      ['a', 'label', 1],
    ]);
  });

  it('lets a label move the watermark no further than its own record timestamp', async () => {
    const h = await harness();
    await h.run([prediction('a')]);
    // Dated after its record was written, inside the event-time allowance: accepted (it joins
    // nothing), and it must not close a's window (end T + 10 s, grace 1 s).
    const ahead = record(
      topics.labels,
      'stranger',
      codecs.label.encode(
        labelReceived({ requestId: 'stranger', eventTime: T + 2_000 + ALLOWANCE_MS }),
      ),
      { timestamp: T + 2_000 },
    );
    const outputs = await h.run([ahead]);
    expect(deadLettersOf(outputs)).toEqual([]);
    expect(rewardsOf(outputs)).toEqual([]);
    expect(rewardsOf(await h.run([label('a', T + 5_000)]))).toEqual([['a', 'label', 1]]);
  });

  it('refuses, every time alike, a prediction that first shows up past its dedup horizon', async () => {
    const h = await harness();
    // The watermark passes T + 10 s window + 1 s grace + 15 s orphan horizon.
    await h.run([label('tick', T + 30_000)]);
    for (let attempt = 0; attempt < 2; attempt++) {
      const outputs = await h.run([prediction('old')]);
      expect(deadLettersOf(outputs).map((l) => l.errorCode)).toEqual(['INVALID_FIELD']);
      expect(rewardsOf(outputs)).toEqual([]);
    }
    expect(h.processor.stats.predictions).toBe(0);
    // Also when a label for it came first and is held: a replay may bring the label first.
    expect(rewardsOf(await h.run([label('replayed', T + 31_000)]))).toEqual([]);
    const refused = await h.run([prediction('replayed')]);
    expect(deadLettersOf(refused).map((l) => l.errorCode)).toEqual(['INVALID_FIELD']);
    expect(rewardsOf(refused)).toEqual([]);
    expect(h.processor.stats.predictions).toBe(0);
    // A prediction within its horizon still counts (its window closes at once: implicit).
    expect(rewardsOf(await h.run([prediction('recent', { requestTime: T + 10_000 })]))).toEqual([
      ['recent', 'implicit', 0],
    ]);
  });

  it('forwards a label whose request id belongs to another partition, bytes and time unchanged', async () => {
    // Request ids ending in '!' belong to partition 1; this instance processes partition 0.
    const h = await harness(T + 50_000, new MemoryStore(), (id) => (id.endsWith('!') ? 1 : 0));
    const stray = record(
      topics.labels,
      'b!',
      codecs.label.encode(labelReceived({ requestId: 'b!', eventTime: T + 40_000 })),
      { timestamp: T + 40_000, headers: { trace: 't1' } },
    );
    const outputs = await h.run([prediction('a'), stray]);
    expect(outputs.filter((o) => o.topic === topics.labelsRepartition)).toEqual([
      {
        topic: topics.labelsRepartition,
        partition: 1,
        key: stray.key,
        value: stray.value,
        headers: { trace: 't1' },
        timestamp: T + 40_000,
      },
    ]);
    // Not joined here: no slot, no orphan, and the watermark did not move (a's window is open).
    expect(await h.store.get(stateKeys.slot(0, 'b!'))).toBeUndefined();
    expect(rewardsOf(outputs)).toEqual([]);
    expect(h.processor.stats).toMatchObject({ forwarded: 1, labels: 0 });

    // A shadow copy keyed by its served request (partition 0) is in place, whatever its own
    // id's partition; a label read from the repartition topic is never moved again; an invalid
    // stray label is dead-lettered where it is, not forwarded.
    const copy = label('a#shadow:v!', T + 1_000);
    const back = { ...label('c!', T + 1_000), topic: topics.labelsRepartition };
    const broken = record(
      topics.labels,
      'd!',
      codecs.label.encode(labelReceived({ requestId: 'd!', eventTime: T, reward: Number.NaN })),
    );
    const more = await h.run([copy, back, broken]);
    expect(more.filter((o) => o.topic === topics.labelsRepartition)).toEqual([]);
    expect(deadLettersOf(more).map((l) => l.errorCode)).toEqual(['INVALID_FIELD']);
    expect(await h.store.get(stateKeys.slot(0, 'a#shadow:v!'))).toBeDefined();
    expect(await h.store.get(stateKeys.slot(0, 'c!'))).toBeDefined();
    expect(h.processor.stats).toMatchObject({ forwarded: 1, labels: 2 });
  });
});
