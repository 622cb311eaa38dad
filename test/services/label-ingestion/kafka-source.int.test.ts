// Label ingestion from a raw Kafka topic of application logs, on the real broker: JSON lines and
// Avro records become labels keyed by request id; unmatched records are counted; malformed ones
// are dead-lettered with the reason; a restart of the same group resumes where the committed
// transaction left off, with no label lost or written twice; the labels resolve predictions in
// the aggregator.
import { describe, expect, it, onTestFinished } from 'vitest';
import { encodeAppLogAvro } from '../../../lib/codec/app-log-avro.ts';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import {
  startLabelIngestion,
  type RunningLabelIngestion,
} from '../../../services/label-ingestion/build-label-ingestion.ts';
import { kafkaLabelSource } from '../../../services/label-ingestion/kafka-source.ts';
import { LABEL_RULE_HEADER } from '../../../services/label-ingestion/label-handler.ts';
import { checkMapping } from '../../../services/label-ingestion/load-mapping.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  openPipeline,
  predictionFixture,
  startTestAggregator,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

const JSON_MAPPING = {
  version: 1,
  source: 'app-log:mail',
  requestId: '$.rid',
  eventTime: { path: '$.ts', format: 'epoch-ms' },
  rules: [
    { name: 'spam', when: [{ path: '$.event', equals: 'mark_spam' }], truth: 'spam' },
    { name: 'ham', when: [{ path: '$.event', equals: 'not_spam' }], truth: 'ham' },
    { name: 'revenue', when: [{ path: '$.event', equals: 'purchase' }], rewardFrom: '$.amount' },
  ],
};

async function startIngestion(
  pipeline: Pipeline,
  mapping: unknown,
  ids: { groupId: string; transactionalId: string },
  topic = pipeline.topics.appLogs,
): Promise<RunningLabelIngestion> {
  const ingestion = await startLabelIngestion({
    source: kafkaLabelSource({
      eventLog: pipeline.eventLog,
      codecs: pipeline.codecs,
      topic,
      ...ids,
      deadLetterTopic: pipeline.topics.deadLetters,
      logger: pipeline.logger,
      now: Date.now,
    }),
    loaded: checkMapping(mapping, 'test'),
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    maxRecordBytes: 4096,
    logger: pipeline.logger,
    now: Date.now,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await ingestion.stop();
  };
  onTestFinished(stop);
  return {
    get stats() {
      return ingestion.stats;
    },
    stop,
  };
}

const appLog = (pipeline: Pipeline, key: string, lines: readonly unknown[]): OutRecord => ({
  topic: pipeline.topics.appLogs,
  key,
  value: Buffer.from(
    lines.map((line) => (typeof line === 'string' ? line : JSON.stringify(line))).join('\n'),
  ),
});

describe('label ingestion from a Kafka topic', () => {
  it('maps JSON lines to labels, counts unmatched records, dead-letters malformed ones, and resumes exactly once', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    const labels = await pipeline.collect(topics.labels);
    const letters = await pipeline.collect(topics.deadLetters);
    const ids = { groupId: uniqueName('ingest'), transactionalId: uniqueName('ingest-tx') };
    const first = await startIngestion(pipeline, JSON_MAPPING, ids);

    await pipeline.send([
      appLog(pipeline, 'a', [
        { rid: 'r-1', event: 'mark_spam', ts: 1_000 },
        { rid: 'r-1', event: 'scroll', ts: 1_001 },
        { rid: 'r-2', event: 'not_spam', ts: 1_002 },
      ]),
      appLog(pipeline, 'b', [{ rid: 'r-3', event: 'purchase', amount: 0.5, ts: 1_003 }]),
      appLog(pipeline, 'c', [{ event: 'view' }]),
      appLog(pipeline, 'd', [
        '{"rid":"r-4","event":"mark_spam"',
        { rid: 'r-5', event: 'not_spam' },
      ]),
      appLog(pipeline, 'e', [{ rid: 'r-6', event: 'purchase', amount: 'lots' }]),
      appLog(pipeline, 'f', [{ event: 'mark_spam' }]),
      { topic: topics.appLogs, key: 'g', value: Buffer.alloc(5000, 0x20) },
    ]);
    await waitFor('3 labels and 4 dead letters', () =>
      labels.length === 3 && letters.length === 4 ? true : undefined,
    );
    const decoded = () =>
      labels
        .map((r) => ({
          key: r.key?.toString(),
          rule: r.headers[LABEL_RULE_HEADER],
          ...codecs.label.decode(r.value!),
        }))
        .sort((x, y) => x.requestId.localeCompare(y.requestId));
    expect(decoded()).toEqual([
      {
        key: 'r-1',
        rule: 'spam',
        requestId: 'r-1',
        reward: null,
        label: 'spam',
        eventTime: 1_000,
        source: 'app-log:mail',
      },
      {
        key: 'r-2',
        rule: 'ham',
        requestId: 'r-2',
        reward: null,
        label: 'ham',
        eventTime: 1_002,
        source: 'app-log:mail',
      },
      {
        key: 'r-3',
        rule: 'revenue',
        requestId: 'r-3',
        reward: 0.5,
        label: null,
        eventTime: 1_003,
        source: 'app-log:mail',
      },
    ]);
    const reasons = letters
      .map((r) => codecs['dead-letter'].decode(r.value!))
      .map((l) => [
        l.value === null ? '' : Buffer.from(l.value).toString().slice(0, 1),
        l.errorCode,
        l.reason,
        l.service,
        l.sourceTopic,
      ])
      .sort((x, y) => String(x[2]).localeCompare(String(y[2])));
    expect(reasons).toEqual(
      [
        [
          ' ',
          'PAYLOAD_TOO_LARGE',
          'app-log record is 5000 bytes; the limit is 4096',
          'label-ingestion',
          topics.appLogs,
        ],
        [
          '{',
          'MALFORMED_MESSAGE',
          'app-log record is not JSON (line 1)',
          'label-ingestion',
          topics.appLogs,
        ],
        [
          '{',
          'INVALID_FIELD',
          'no request id (nor a user id with an experiment) at $.rid',
          'label-ingestion',
          topics.appLogs,
        ],
        [
          '{',
          'INVALID_FIELD',
          'rule revenue: reward at $.amount must be a finite number',
          'label-ingestion',
          topics.appLogs,
        ],
      ].sort((x, y) => String(x[2]).localeCompare(String(y[2]))),
    );
    expect(first.stats).toMatchObject({ labels: 3, unmatched: 2, deadLettered: 4, records: 7 });
    await first.stop();

    // Written while no instance runs; the next one (same group) starts after the committed
    // offsets: the new record only, nothing of the first round again.
    await pipeline.send([appLog(pipeline, 'h', [{ rid: 'r-7', event: 'not_spam', ts: 2_000 }])]);
    const second = await startIngestion(pipeline, JSON_MAPPING, ids);
    await waitFor('the label of the new record', () => (labels.length === 4 ? true : undefined));
    await waitFor('the second instance to catch up', () =>
      second.stats.records === 1 ? true : undefined,
    );
    expect(decoded().map((l) => l.requestId)).toEqual(['r-1', 'r-2', 'r-3', 'r-7']);
    expect(letters).toHaveLength(4);
  });

  it('reads Avro app logs with the schema of the mapping and rejects another writer', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    const schema = {
      type: 'record',
      name: 'Feedback',
      namespace: 'shop.logs',
      fields: [
        { name: 'requestId', type: ['null', 'string'], default: null },
        { name: 'action', type: 'string' },
        { name: 'at', type: 'long' },
      ],
    };
    const mapping = {
      version: 1,
      source: 'app-log:avro',
      format: 'avro',
      avro: { schema },
      requestId: '$.requestId',
      eventTime: { path: '$.at', format: 'epoch-ms' },
      rules: [{ name: 'click', when: [{ path: '$.action', equals: 'click' }], reward: 1 }],
    };
    const labels = await pipeline.collect(topics.labels);
    const letters = await pipeline.collect(topics.deadLetters);
    const ingestion = await startIngestion(pipeline, mapping, {
      groupId: uniqueName('ingest'),
      transactionalId: uniqueName('ingest-tx'),
    });
    const other = { ...schema, name: 'Other' };
    await pipeline.send([
      {
        topic: topics.appLogs,
        key: null,
        value: encodeAppLogAvro(schema, { requestId: 'r-1', action: 'click', at: 5 }),
      },
      {
        topic: topics.appLogs,
        key: null,
        value: encodeAppLogAvro(schema, { requestId: 'r-2', action: 'view', at: 6 }),
      },
      {
        topic: topics.appLogs,
        key: null,
        value: encodeAppLogAvro(other, { requestId: 'r-3', action: 'click', at: 7 }),
      },
      { topic: topics.appLogs, key: null, value: Buffer.from('{"requestId":"r-4"}') },
    ]);
    await waitFor('a label and 2 dead letters', () =>
      labels.length === 1 && letters.length === 2 ? true : undefined,
    );
    expect(codecs.label.decode(labels[0]!.value!)).toEqual({
      requestId: 'r-1',
      reward: 1,
      label: null,
      eventTime: 5,
      source: 'app-log:avro',
    });
    expect(letters.map((r) => codecs['dead-letter'].decode(r.value!).errorCode).sort()).toEqual([
      'MALFORMED_MESSAGE',
      'UNKNOWN_SCHEMA',
    ]);
    expect(ingestion.stats.unmatched).toBe(1);
  });

  it('makes labels that the aggregator joins with their predictions', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const rewards = await pipeline.collect(topics.rewards);
    await startTestAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'), {
      now: 1_700_000_000_000,
      snapshotIntervalMs: 0,
    });
    await startIngestion(pipeline, JSON_MAPPING, {
      groupId: uniqueName('ingest'),
      transactionalId: uniqueName('ingest-tx'),
    });
    const time = 1_700_000_001_000;
    await pipeline.send(
      ['p-1', 'p-2'].map((id) => ({
        topic: topics.predictions,
        key: id,
        value: codecs.prediction.encode(predictionFixture(id)),
      })),
    );
    await pipeline.send([
      {
        ...appLog(pipeline, 'x', [
          { rid: 'p-1', event: 'mark_spam', ts: time },
          { rid: 'p-2', event: 'not_spam', ts: time },
        ]),
        timestamp: time,
      },
    ]);
    await waitFor('two rewards', () => (rewards.length === 2 ? true : undefined));
    expect(
      rewards
        .map((r) => codecs.reward.decode(r.value!))
        .map((r) => [r.requestId, r.resolution, r.reward])
        .sort(),
    ).toEqual([
      ['p-1', 'label', 1],
      ['p-2', 'label', 0],
    ]);
  });
});
