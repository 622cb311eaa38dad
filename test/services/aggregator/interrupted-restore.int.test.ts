// An aggregator that dies after its restore read the whole changelog but before it finished
// loading the partition (rebuilding its local window index), on the real broker. The next start
// finds its checkpoint at the changelog's end and reads nothing; it must still rebuild the index,
// or the requests restored in between never close: no implicit reward for the prediction that
// never got a label, and resolved slots kept for ever. `npm run chaos` (seed 69) lost 167
// implicit rewards this way: SIGKILLed two seconds after a kill that deleted its state directory.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import type { KeyValueStore } from '../../../lib/store/key-value-store.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';
import {
  startAggregator,
  type RunningAggregator,
} from '../../../services/aggregator/build-aggregator.ts';
import { stateKeys } from '../../../services/aggregator/partition-state.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  openPipeline,
  predictionFixture,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

const T = 1_700_000_000_000;

/** The store, except that its first write of window-index keys fails: the process died there. */
function dyingAtIndexRebuild(store: KeyValueStore): {
  store: KeyValueStore;
  readonly died: boolean;
} {
  let died = false;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'write') {
        return async (operations: Parameters<KeyValueStore['write']>[0]) => {
          if (!died && operations.some((op) => op.key.startsWith(stateKeys.windowPrefix(0)))) {
            died = true;
            throw new Error('simulated: the process died while rebuilding its window index');
          }
          return target.write(operations);
        };
      }
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
  return {
    store: proxy,
    get died() {
      return died;
    },
  };
}

describe('aggregator restarted after a restore whose load never completed', () => {
  it('rebuilds the window index, so the restored requests still close', async () => {
    const pipeline: Pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(
      experimentFixture({ attributionWindowMs: 10_000, graceMs: 1_000, implicitReward: 0 }),
    );
    const groupId = uniqueName('agg');
    const start = async (store: KeyValueStore, onFatal?: () => void): Promise<RunningAggregator> =>
      startAggregator({
        eventLog: pipeline.eventLog,
        store,
        codecs,
        topics,
        groupId,
        transactionalId: uniqueName('agg-tx'),
        logger: pipeline.logger,
        now: () => T + 50_000,
        snapshotIntervalMs: 0,
        orphanAfterMs: 15_000,
        ...(onFatal === undefined ? {} : { onFatal }),
      });
    const rewards = await pipeline.collect(topics.rewards);
    const prediction = (id: string): OutRecord => ({
      topic: topics.predictions,
      key: id,
      value: codecs.prediction.encode(predictionFixture(id, { requestTime: T })),
    });

    // Three open requests, in the changelog.
    const first = await openRocksDbStore(await pipeline.tempDir());
    const before = await start(first);
    await pipeline.send([prediction('a'), prediction('b'), prediction('c')]);
    await waitFor('the predictions stored', () =>
      before.stats.predictions === 3 ? true : undefined,
    );
    await before.stop();
    await first.close();

    // A new disk: the restore reads the whole changelog, then the process dies in the load.
    const disk = await openRocksDbStore(await pipeline.tempDir());
    onTestFinished(() => disk.close());
    const dying = dyingAtIndexRebuild(disk);
    let fatal = false;
    const doomed = await start(dying.store, () => {
      fatal = true;
    });
    await waitFor('the simulated death', () => (fatal && dying.died ? true : undefined));
    await doomed.stop().catch(() => undefined);

    // Restarted on that disk: nothing new in the changelog, and yet the requests must close.
    const restarted = await start(disk);
    onTestFinished(() => restarted.stop());
    await pipeline.send([
      {
        topic: topics.labels,
        key: 'tick',
        value: codecs.label.encode(labelFixture('tick', { eventTime: T + 20_000 })),
      },
    ]);
    await waitFor('the windows to close', () =>
      restarted.stats.implicit === 3 ? true : undefined,
    );
    const closed = rewards
      .map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)))
      .map((r) => [r.requestId, r.resolution])
      .sort();
    expect(closed).toEqual([
      ['a', 'implicit'],
      ['b', 'implicit'],
      ['c', 'implicit'],
    ]);
  });
});
