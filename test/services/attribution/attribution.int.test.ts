// Attribution by user id on the real broker: labels from app logs that name only a user and an
// experiment are repartitioned by user with the requests, and each is credited to the user's
// latest request at or before it within the experiment's window, whether the label was read
// before or after the request; a label without such a request is dead-lettered as an orphan; the
// credited label joins its prediction in the aggregator.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';
import { ATTRIBUTED_USER_HEADER } from '../../../services/attribution/attribution-processor.ts';
import {
  startAttribution,
  type RunningAttribution,
} from '../../../services/attribution/build-attribution.ts';
import { startLabelIngestion } from '../../../services/label-ingestion/build-label-ingestion.ts';
import { kafkaLabelSource } from '../../../services/label-ingestion/kafka-source.ts';
import { checkMapping } from '../../../services/label-ingestion/load-mapping.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  openPipeline,
  predictionFixture,
  startTestAggregator,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

const MAPPING = {
  version: 1,
  source: 'app-log:mail',
  requestId: '$.rid',
  userId: '$.user',
  experiment: '$.exp',
  eventTime: { path: '$.ts', format: 'epoch-ms' },
  rules: [
    { name: 'spam', when: [{ path: '$.action', equals: 'mark_spam' }], truth: 'spam' },
    { name: 'ham', when: [{ path: '$.action', equals: 'not_spam' }], truth: 'ham' },
  ],
};

interface AttributionIds {
  readonly stateDir: string;
  readonly groupId: string;
  readonly transactionalId: string;
}

async function startAttributionOnly(
  pipeline: Pipeline,
  ids: AttributionIds,
): Promise<RunningAttribution> {
  const store = await openRocksDbStore(ids.stateDir);
  const attribution = await startAttribution({
    eventLog: pipeline.eventLog,
    store,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId: ids.groupId,
    transactionalId: ids.transactionalId,
    graceMs: 1_000,
    maxPayloadBytes: 1024,
    logger: pipeline.logger,
    now: Date.now,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await attribution.stop();
    await store.close();
  };
  onTestFinished(stop);
  return {
    get stats() {
      return attribution.stats;
    },
    stop,
  };
}

async function startIngestionOnly(pipeline: Pipeline): Promise<void> {
  const ingestion = await startLabelIngestion({
    source: kafkaLabelSource({
      eventLog: pipeline.eventLog,
      codecs: pipeline.codecs,
      topic: pipeline.topics.appLogs,
      groupId: uniqueName('ingest'),
      transactionalId: uniqueName('ingest-tx'),
      deadLetterTopic: pipeline.topics.deadLetters,
      logger: pipeline.logger,
      now: Date.now,
    }),
    loaded: checkMapping(MAPPING, 'test'),
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    maxRecordBytes: 4096,
    logger: pipeline.logger,
    now: Date.now,
  });
  onTestFinished(() => ingestion.stop());
}

async function startServices(pipeline: Pipeline): Promise<RunningAttribution> {
  const attribution = await startAttributionOnly(pipeline, {
    stateDir: await pipeline.tempDir(),
    groupId: uniqueName('attribution'),
    transactionalId: uniqueName('attribution-tx'),
  });
  await startIngestionOnly(pipeline);
  return attribution;
}

const request = (
  pipeline: Pipeline,
  requestId: string,
  userId: string,
  eventTime: number,
): OutRecord => ({
  topic: pipeline.topics.requests,
  key: requestId,
  value: Buffer.from(
    JSON.stringify({ requestId, experiment: 'spam-filter', payload: 'x', userId, eventTime }),
  ),
  headers: { 'content-type': 'application/json' },
});

const feedback = (pipeline: Pipeline, fields: Record<string, unknown>): OutRecord => ({
  topic: pipeline.topics.appLogs,
  key: null,
  value: Buffer.from(JSON.stringify(fields)),
});

describe('attribution by user id', () => {
  it('credits each user label to the latest request in the window, in any order', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture({ attributionWindowMs: 10_000 }));
    const labels = await pipeline.collect(topics.labels);
    const letters = await pipeline.collect(topics.deadLetters);
    const attribution = await startServices(pipeline);

    // u2's label is read before its request.
    await pipeline.send([
      feedback(pipeline, { user: 'u2', exp: 'spam-filter', action: 'mark_spam', ts: 3_000 }),
    ]);
    await waitFor('the early label', () => (attribution.stats.userLabels === 1 ? true : undefined));
    await pipeline.send([
      request(pipeline, 'r1', 'u1', 1_000),
      request(pipeline, 'r2', 'u1', 5_000),
      request(pipeline, 'r3', 'u2', 2_000),
      request(pipeline, 'r4', 'u3', 1_000),
      request(pipeline, 'r5', 'u1', 7_000),
    ]);
    await pipeline.send([
      feedback(pipeline, { user: 'u1', exp: 'spam-filter', action: 'not_spam', ts: 6_000 }),
      feedback(pipeline, { user: 'u3', exp: 'spam-filter', action: 'not_spam', ts: 20_000 }),
      feedback(pipeline, { user: 'u1', exp: 'other', action: 'not_spam', ts: 6_000 }),
      // A request id wins over the user: joined directly.
      feedback(pipeline, { rid: 'r1', user: 'u1', exp: 'spam-filter', action: 'mark_spam' }),
    ]);
    // A label is decided once a request past its time plus the grace (1,000) was seen: r2 (5,000)
    // and r5 (7,000) pass u2's label (3,000) and both of u1's (6,000), so these are decided as soon
    // as they and the requests reach attribution, in whichever order, and possibly before the
    // direct label is collected. (r3 is 3,000 behind r2, more than the grace: it is credited
    // because both came in one send, so one batch.) Once every record sent so far is processed,
    // only u3's label (20,000) still waits.
    await waitFor('every request and label sent so far processed', () =>
      attribution.stats.requests === 5 && attribution.stats.userLabels === 4 ? true : undefined,
    );
    expect(attribution.stats).toMatchObject({ credited: 2, unattributed: 1 });
    await pipeline.send([request(pipeline, 'r-clock', 'someone', 40_000)]);
    // The stats are updated after the commit, so they may lag what the collectors read.
    await waitFor('3 labels, 2 orphans and the clock processed', () =>
      labels.length === 3 && letters.length === 2 && attribution.stats.requests === 6
        ? true
        : undefined,
    );
    // A request id wins over the user: r1's label is joined directly, not attributed.
    expect(
      labels
        .filter((r) => r.headers[ATTRIBUTED_USER_HEADER] === undefined)
        .map((r) => [r.key?.toString(), codecs.label.decode(r.value!).label]),
    ).toEqual([['r1', 'spam']]);
    const credited = labels
      .filter((r) => r.headers[ATTRIBUTED_USER_HEADER] !== undefined)
      .map((r) => {
        const label = codecs.label.decode(r.value!);
        return [
          r.key?.toString(),
          r.headers[ATTRIBUTED_USER_HEADER],
          label.label,
          label.eventTime,
          label.source,
        ];
      })
      .sort();
    expect(credited).toEqual([
      ['r2', 'u1', 'ham', 6_000, 'last-touch/app-log:mail'],
      ['r3', 'u2', 'spam', 3_000, 'last-touch/app-log:mail'],
    ]);
    const orphans = letters
      .map((r) => codecs['dead-letter'].decode(r.value!))
      .map((l) => [l.errorCode, l.service, l.reason.slice(0, 41)])
      .sort();
    expect(orphans).toEqual([
      ['ORPHAN_LABEL', 'attribution', 'no request of user "u1" in experiment "ot'],
      ['ORPHAN_LABEL', 'attribution', 'no request of user "u3" in experiment "sp'],
    ]);
    expect(attribution.stats).toMatchObject({ credited: 2, unattributed: 2, userLabels: 4 });
  });

  it('keeps waiting labels across a restart and a lost disk, and credits each once', async () => {
    const pipeline = await openPipeline(1);
    const { topics } = pipeline;
    await pipeline.defineExperiment(experimentFixture({ attributionWindowMs: 10_000 }));
    const labels = await pipeline.collect(topics.labels);
    await startIngestionOnly(pipeline);
    const ids = {
      stateDir: await pipeline.tempDir(),
      groupId: uniqueName('attribution'),
      transactionalId: uniqueName('attribution-tx'),
    };
    const first = await startAttributionOnly(pipeline, ids);
    await pipeline.send([
      request(pipeline, 'a1', 'ann', 1_000),
      feedback(pipeline, { user: 'ann', exp: 'spam-filter', action: 'not_spam', ts: 2_000 }),
    ]);
    await waitFor('the waiting label', () =>
      first.stats.userLabels === 1 && first.stats.requests === 1 ? true : undefined,
    );
    await first.stop();

    // Same disk: the waiting label is still there.
    const second = await startAttributionOnly(pipeline, ids);
    await pipeline.send([
      request(pipeline, 'b1', 'bob', 3_000),
      feedback(pipeline, { user: 'bob', exp: 'spam-filter', action: 'mark_spam', ts: 4_000 }),
    ]);
    await waitFor('the second label waiting', () =>
      second.stats.userLabels === 1 ? true : undefined,
    );
    await second.stop();

    // An empty disk: the state comes back from the changelog.
    const third = await startAttributionOnly(pipeline, {
      ...ids,
      stateDir: await pipeline.tempDir(),
    });
    await pipeline.send([request(pipeline, 'clock', 'someone', 60_000)]);
    // b1 (at 3,000) moved the watermark past ann's label (2,000) + grace: the second instance
    // credited it; bob's label waited for the clock, through the lost disk.
    await waitFor('both labels credited', () =>
      first.stats.credited + second.stats.credited + third.stats.credited === 2 ? true : undefined,
    );
    expect([first.stats.credited, second.stats.credited, third.stats.credited]).toEqual([0, 1, 1]);
    await waitFor('both labels on the topic', () => (labels.length === 2 ? true : undefined));
    expect(labels.map((r) => r.key?.toString()).sort()).toEqual(['a1', 'b1']);
  });

  it('credited labels join their predictions in the aggregator', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const rewards = await pipeline.collect(topics.rewards);
    await startTestAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'), {
      now: 1_700_000_000_000,
      snapshotIntervalMs: 0,
    });
    await startServices(pipeline);
    const t = 1_700_000_000_000;
    await pipeline.send([
      {
        topic: topics.predictions,
        key: 'q1',
        value: codecs.prediction.encode(predictionFixture('q1', { requestTime: t })),
      },
      {
        topic: topics.predictions,
        key: 'q2',
        value: codecs.prediction.encode(predictionFixture('q2', { requestTime: t })),
      },
    ]);
    await pipeline.send([
      request(pipeline, 'q1', 'alice', t),
      request(pipeline, 'q2', 'bob', t),
      {
        ...feedback(pipeline, {
          user: 'alice',
          exp: 'spam-filter',
          action: 'mark_spam',
          ts: t + 10,
        }),
        timestamp: t + 10,
      },
      {
        ...feedback(pipeline, { user: 'bob', exp: 'spam-filter', action: 'not_spam', ts: t + 10 }),
        timestamp: t + 10,
      },
    ]);
    // Requests on every partition past the labels' times, so both partitions decide.
    await pipeline.send(
      Array.from({ length: 20 }, (_, i) =>
        request(pipeline, `clock-${i}`, `clock-${i}`, t + 60_000),
      ),
    );
    await waitFor('two rewards', () => (rewards.length === 2 ? true : undefined));
    expect(
      rewards
        .map((r) => codecs.reward.decode(r.value!))
        .map((r) => [r.requestId, r.resolution, r.reward, r.labelSource])
        .sort(),
    ).toEqual([
      // The reward names the request credited and, by the source, that last touch found it.
      ['q1', 'label', 1, 'last-touch/app-log:mail'],
      ['q2', 'label', 0, 'last-touch/app-log:mail'],
    ]);
  });
});
