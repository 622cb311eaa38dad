// Label ingestion from Kinesis, on the kinesalite emulator and the real broker: several shards,
// a split and a merge while records arrive (parents drained before their children, so the
// labels of one partition key keep their order), a restart that resumes from the checkpoints in
// Kafka with no gap and no duplicate, malformed and unmatched records, expired iterators and
// throttling, and two instances sharing the shards without reading one twice.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { LogRecord } from '../../../lib/event-log/event-log.ts';
import {
  startLabelIngestion,
  type RunningLabelIngestion,
} from '../../../services/label-ingestion/build-label-ingestion.ts';
import { checkMapping } from '../../../services/label-ingestion/load-mapping.ts';
import {
  createKinesisClient,
  kinesisShardReader,
} from '../../../services/label-ingestion/kinesis/kinesis-shard-reader.ts';
import {
  ShardReadError,
  type ShardReader,
} from '../../../services/label-ingestion/kinesis/shard-reader.ts';
import {
  kinesisLabelSource,
  type RunningKinesisSource,
} from '../../../services/label-ingestion/kinesis-source.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  EMULATOR_CREDENTIALS,
  startKinesisEmulator,
  type KinesisEmulator,
} from '../../support/kinesis-emulator.ts';
import { openPipeline, type Pipeline } from '../../support/pipeline-harness.ts';

const MAPPING = {
  version: 1,
  source: 'app-log:kinesis',
  requestId: '$.rid',
  rules: [{ name: 'click', when: [{ path: '$.event', equals: 'click' }], reward: 1 }],
};

interface Instance {
  readonly ingestion: RunningLabelIngestion;
  readonly source: RunningKinesisSource;
  stop(): Promise<void>;
}

async function startInstance(
  pipeline: Pipeline,
  emulator: KinesisEmulator,
  stream: string,
  ids: { groupId: string; transactionalId: string },
  wrap: (reader: ShardReader) => ShardReader = (reader) => reader,
): Promise<Instance> {
  const client = createKinesisClient({
    region: 'us-east-1',
    endpoint: emulator.endpoint,
    credentials: EMULATOR_CREDENTIALS,
  });
  const kinesis = kinesisLabelSource({
    reader: wrap(kinesisShardReader(client, stream)),
    eventLog: pipeline.eventLog,
    codecs: pipeline.codecs,
    checkpointTopic: pipeline.topics.labelSourceCheckpoints,
    ...ids,
    deadLetterTopic: pipeline.topics.deadLetters,
    logger: pipeline.logger,
    now: Date.now,
    pollIntervalMs: 20,
    maxRecords: 25,
    discoveryIntervalMs: 200,
  });
  let source: RunningKinesisSource | undefined;
  const ingestion = await startLabelIngestion({
    source: {
      name: kinesis.name,
      async start(handle) {
        source = await kinesis.startKinesis(handle);
        return source;
      },
    },
    loaded: checkMapping(MAPPING, 'test'),
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    maxRecordBytes: 64 * 1024,
    logger: pipeline.logger,
    now: Date.now,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await ingestion.stop();
    client.destroy();
  };
  onTestFinished(stop);
  return { ingestion, source: source!, stop };
}

/** Records `k<key>-<n>` for n in [from, to), spread over `keys` partition keys. */
function clicks(keys: number, from: number, to: number) {
  const records: { data: string; key: string }[] = [];
  for (let n = from; n < to; n++) {
    for (let k = 0; k < keys; k++) {
      records.push({ data: JSON.stringify({ rid: `k${k}-${n}`, event: 'click' }), key: `k${k}` });
    }
  }
  return records;
}

const requestIds = (labels: readonly LogRecord[]) =>
  labels.map((record) => record.key?.toString() ?? '');

/** Every label exactly once, and per partition key in the order written. */
function expectExactlyOnceInOrder(labels: readonly LogRecord[], keys: number, count: number) {
  const ids = requestIds(labels);
  expect(new Set(ids).size).toBe(ids.length);
  expect(ids).toHaveLength(keys * count);
  for (let k = 0; k < keys; k++) {
    const sequence = ids
      .filter((id) => id.startsWith(`k${k}-`))
      .map((id) => Number(id.slice(id.indexOf('-') + 1)));
    expect(sequence).toEqual([...Array(count).keys()]);
  }
}

describe('label ingestion from Kinesis', () => {
  it('reads several shards through a split and a merge, resumes from its checkpoints with no gap and no duplicate', async () => {
    // One partition: the labels topic then holds labels in the order they were committed.
    const pipeline = await openPipeline(1);
    const emulator = await startKinesisEmulator();
    const stream = uniqueName('app-logs');
    await emulator.createStream(stream, 3);
    const labels = await pipeline.collect(pipeline.topics.labels);
    const letters = await pipeline.collect(pipeline.topics.deadLetters);
    const ids = { groupId: uniqueName('kinesis'), transactionalId: uniqueName('kinesis-tx') };
    const KEYS = 12;

    const first = await startInstance(pipeline, emulator, stream, ids);
    await emulator.put(stream, clicks(KEYS, 0, 10));
    await emulator.put(stream, [
      { data: 'not json', key: 'k0' },
      { data: JSON.stringify({ rid: 'x', event: 'view' }), key: 'k1' },
    ]);
    await waitFor('the first labels', () => (labels.length >= 40 ? true : undefined));
    const [open0] = await emulator.openShards(stream);
    await emulator.split(stream, open0!);
    await emulator.put(stream, clicks(KEYS, 10, 20));
    await waitFor('labels up to 20 per key', () =>
      labels.length === KEYS * 20 ? true : undefined,
    );
    await first.stop();
    expect(first.ingestion.stats).toMatchObject({ unmatched: 1, deadLettered: 1 });
    expect(first.source.stats.shardsEnded).toBe(1);

    // Written while nothing reads; then a merge of two open shards, and more records.
    await emulator.put(stream, clicks(KEYS, 20, 30));
    const second = await startInstance(pipeline, emulator, stream, ids);
    // The two lowest hash key ranges are adjacent: the children of the split.
    const [low, next] = await emulator.openShards(stream);
    await emulator.merge(stream, low!, next!);
    await emulator.put(stream, clicks(KEYS, 30, 40));
    await waitFor('labels up to 40 per key', () =>
      labels.length === KEYS * 40 ? true : undefined,
    );
    await waitFor('the merged parents drained', () =>
      second.source.stats.shardsEnded === 2 ? true : undefined,
    );
    expectExactlyOnceInOrder(labels, KEYS, 40);
    expect(letters).toHaveLength(1);
    const letter = pipeline.codecs['dead-letter'].decode(letters[0]!.value!);
    expect(letter.errorCode).toBe('MALFORMED_MESSAGE');
    expect(letter.sourceTopic).toMatch(new RegExp(`^kinesis:${stream}/shardId-`));
    expect(Buffer.from(letter.value!).toString()).toBe('not json');
  });

  it('renews expired iterators and backs off when throttled, without losing or repeating a record', async () => {
    const pipeline = await openPipeline(1);
    const emulator = await startKinesisEmulator();
    const stream = uniqueName('app-logs');
    await emulator.createStream(stream, 2);
    const labels = await pipeline.collect(pipeline.topics.labels);
    let calls = 0;
    const flaky = (reader: ShardReader): ShardReader => ({
      ...reader,
      listShards: () => reader.listShards(),
      shardIterator: (shardId, after) => reader.shardIterator(shardId, after),
      async getRecords(iterator, limit) {
        calls++;
        if (calls % 5 === 2) throw new ShardReadError('expired-iterator', 'Iterator expired');
        if (calls % 5 === 4) throw new ShardReadError('throttled', 'Rate exceeded');
        return reader.getRecords(iterator, limit);
      },
    });
    const instance = await startInstance(
      pipeline,
      emulator,
      stream,
      { groupId: uniqueName('kinesis'), transactionalId: uniqueName('kinesis-tx') },
      flaky,
    );
    await emulator.put(stream, clicks(4, 0, 25));
    await waitFor('every label', () => (labels.length === 100 ? true : undefined));
    expectExactlyOnceInOrder(labels, 4, 25);
    expect(instance.source.stats.expiredIterators).toBeGreaterThan(0);
    expect(instance.source.stats.backoffs).toBeGreaterThan(0);
  });

  it('shares the shards between two instances, each shard read by one', async () => {
    const pipeline = await openPipeline(4);
    const emulator = await startKinesisEmulator();
    const stream = uniqueName('app-logs');
    await emulator.createStream(stream, 6);
    const labels = await pipeline.collect(pipeline.topics.labels);
    const groupId = uniqueName('kinesis');
    const a = await startInstance(pipeline, emulator, stream, {
      groupId,
      transactionalId: uniqueName('kinesis-a'),
    });
    await emulator.put(stream, clicks(10, 0, 5));
    await waitFor('labels before the second instance', () =>
      labels.length >= 20 ? true : undefined,
    );
    const b = await startInstance(pipeline, emulator, stream, {
      groupId,
      transactionalId: uniqueName('kinesis-b'),
    });
    // A rebalance: the first instance finishes its batch and gives shards up. On a loaded
    // machine that can take longer than the default wait.
    await waitFor(
      'both instances reading',
      () => (a.source.reading().length > 0 && b.source.reading().length > 0 ? true : undefined),
      90_000,
    );
    const overlap = a.source.reading().filter((id) => b.source.reading().includes(id));
    expect(overlap).toEqual([]);
    expect(a.source.reading().length + b.source.reading().length).toBe(6);
    await emulator.put(stream, clicks(10, 5, 20));
    await waitFor('every label', () => (labels.length === 200 ? true : undefined));
    const ids = requestIds(labels);
    expect(new Set(ids).size).toBe(200);
    expect(a.source.stats.records + b.source.stats.records).toBe(200);
  });
});
