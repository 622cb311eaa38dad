// The generic runner against the real broker: every assigned partition consumed at once, the
// batches that are ready together committed in one transaction, each input record's outputs
// published exactly once, and per-record dead letters from a batch processor.
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';
import type { LogRecord, OutRecord } from '../../../lib/event-log/event-log.ts';
import { createLogger } from '../../../lib/log/logger.ts';
import {
  startProcessorRunner,
  type Processor,
  type RunningProcessor,
} from '../../../lib/stream/processor-runner.ts';
import {
  collectTopic,
  openTestEventLog,
  uniqueName,
  waitFor,
} from '../../support/kafka-test-kit.ts';

const PARTITIONS = 6;

async function setUp(records: number): Promise<{
  input: string;
  output: string;
  deadLetters: string;
  /** Starts a runner; runners given the same group id share the input's partitions. */
  start: (processor: Processor, groupId?: string) => Promise<RunningProcessor>;
  collect: (topic: string) => Promise<LogRecord[]>;
  /** Appends `count` more records (values from `from` on) to the input. */
  append: (from: number, count: number) => Promise<void>;
}> {
  const log = openTestEventLog();
  const input = uniqueName('in');
  const output = uniqueName('out');
  const deadLetters = uniqueName('dlq');
  await log.ensureTopics([
    { name: input, partitions: PARTITIONS, compacted: false },
    { name: output, partitions: PARTITIONS, compacted: false },
    { name: deadLetters, partitions: 1, compacted: false },
  ]);
  const producer = await log.createProducer();
  onTestFinished(() => producer.close());
  const append = (from: number, count: number): Promise<void> =>
    producer.send(
      Array.from({ length: count }, (_, k) => from + k).map((i) => ({
        topic: input,
        key: `k${i}`,
        value: Buffer.from(String(i)),
      })),
    );
  // The whole backlog is there before the runner starts, so its first fetch spans partitions.
  await append(0, records);
  const codecs = loadCodecs();
  return {
    input,
    output,
    deadLetters,
    append,
    async start(processor, groupId = uniqueName('g')) {
      const running = await startProcessorRunner(
        {
          service: 'test',
          eventLog: log,
          groupId,
          topics: [input],
          deadLetterTopic: deadLetters,
          transactionalId: uniqueName('tx'),
          concurrency: 4,
          maxAttempts: 2,
          encodeDeadLetter: (letter) => codecs['dead-letter'].encode(letter),
          logger: createLogger('test', 'silent'),
          now: Date.now,
          sleep: () => Promise.resolve(),
        },
        processor,
      );
      onTestFinished(() => running.stop());
      return running;
    },
    collect: (topic) => collectTopic(log, topic),
  };
}

const doubled =
  (output: string) =>
  (record: LogRecord): OutRecord[] => [
    { topic: output, key: record.key, value: Buffer.from(String(2 * Number(record.value))) },
  ];

describe('processor runner on the real broker', () => {
  it('consumes all partitions at once and shares transactions between their batches', async () => {
    const total = 600;
    const env = await setUp(total);
    const running = await env.start({ process: doubled(env.output) });
    const outputs = await env.collect(env.output);
    await waitFor('every output', () => (outputs.length >= total ? true : undefined), 60_000);
    await waitFor('stats', () => (running.stats.processed >= total ? true : undefined));

    const values = outputs.map((r) => Number(r.value)).sort((a, b) => a - b);
    expect(values).toEqual(Array.from({ length: total }, (_, i) => 2 * i));
    // Six partitions' backlogs arrive in few fetches: transactions carry several batches each.
    expect(running.stats.batches).toBeGreaterThanOrEqual(PARTITIONS);
    expect(running.stats.transactions).toBeLessThan(running.stats.batches);
  });

  it('dead-letters the records a batch processor rejects, and publishes the others once', async () => {
    const total = 120;
    const env = await setUp(total);
    const batchSizes: number[] = [];
    const running = await env.start({
      process: () => {
        throw new Error('the batch path must be used');
      },
      processBatch(records) {
        batchSizes.push(records.length);
        return Promise.resolve(
          records.map((record) =>
            Number(record.value) % 10 === 3
              ? new DynabError('INVALID_FIELD', `value ${String(record.value)} ends in 3`)
              : doubled(env.output)(record),
          ),
        );
      },
    });
    const outputs = await env.collect(env.output);
    const letters = await env.collect(env.deadLetters);
    await waitFor('outputs and dead letters', () =>
      outputs.length >= total - total / 10 && letters.length >= total / 10 ? true : undefined,
    );
    await waitFor('stats', () => (running.stats.processed >= total ? true : undefined));
    expect(outputs).toHaveLength(total - total / 10);
    expect(letters).toHaveLength(total / 10);
    expect(letters.map((l) => l.headers['dynab-error-code'])).toEqual(
      Array.from({ length: total / 10 }, () => 'INVALID_FIELD'),
    );
    expect(running.stats.deadLettered).toBe(total / 10);
    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(total);
  });

  it('dead-letters each bad record once across rebalances and a restart', async () => {
    const wave = 240;
    const env = await setUp(wave);
    const codecs = loadCodecs();
    const groupId = uniqueName('g');
    // Every third record is bad; the others are doubled. A short pause per record keeps batches
    // in flight while members join and leave.
    const processor: Processor = {
      async process(record) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (Number(record.value) % 3 === 0)
          throw new DynabError('INVALID_FIELD', `value ${String(record.value)} is a multiple of 3`);
        return doubled(env.output)(record);
      },
    };
    const outputs = await env.collect(env.output);
    const letters = await env.collect(env.deadLetters);
    const sent = { total: wave };
    const settled = async (what: string): Promise<void> => {
      const bad = Math.ceil(sent.total / 3);
      await waitFor(
        what,
        () => (outputs.length >= sent.total - bad && letters.length >= bad ? true : undefined),
        60_000,
      );
    };

    const a = await env.start(processor, groupId);
    const b = await env.start(processor, groupId); // joins while a works: a rebalance
    await env.append(sent.total, wave);
    sent.total += wave;
    await settled('two members');
    await a.stop(); // leaves: another rebalance
    await env.append(sent.total, wave);
    sent.total += wave;
    await settled('one member left');
    await b.stop();
    await env.start(processor, groupId); // a restart: resumes from the committed offsets
    await env.append(sent.total, wave);
    sent.total += wave;
    await settled('after the restart');

    const sources = letters.map((l) => {
      const letter = codecs['dead-letter'].decode(l.value ?? Buffer.alloc(0));
      return `${letter.sourcePartition}/${letter.sourceOffset}`;
    });
    expect(new Set(sources).size).toBe(sources.length);
    expect(sources).toHaveLength(Math.ceil(sent.total / 3));
    const values = outputs.map((r) => Number(r.value));
    expect(new Set(values).size).toBe(values.length);
    expect(values).toHaveLength(sent.total - Math.ceil(sent.total / 3));
  });

  it('dead-letters a record once when the member that held it was evicted mid-batch', async () => {
    const total = 60;
    const env = await setUp(total);
    const codecs = loadCodecs();
    const groupId = uniqueName('g');
    const bad = (record: LogRecord): DynabError =>
      new DynabError('INVALID_FIELD', `value ${String(record.value)} is bad`);
    let stalled = false;
    // The first member stalls on the bad record past the session timeout (10 s): the group
    // evicts it and the second member processes that partition again from its committed offset.
    const a = await env.start(
      {
        async process(record) {
          if (String(record.value) !== '7') return doubled(env.output)(record);
          stalled = true;
          await new Promise((resolve) => setTimeout(resolve, 14_000));
          throw bad(record);
        },
      },
      groupId,
    );
    await waitFor('the stall', () => (stalled ? true : undefined));
    await env.start(
      {
        process(record) {
          if (String(record.value) === '7') throw bad(record);
          return doubled(env.output)(record);
        },
      },
      groupId,
    );
    const letters = await env.collect(env.deadLetters);
    const outputs = await env.collect(env.output);
    await waitFor(
      'the first member to finish its stalled batch',
      () => (a.stats.deadLettered > 0 ? true : undefined),
      60_000,
    );
    await waitFor('every output', () => (outputs.length >= total - 1 ? true : undefined), 60_000);
    // Whatever the evicted member does after its batch, it must not publish again.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const sources = letters.map((l) => {
      const letter = codecs['dead-letter'].decode(l.value ?? Buffer.alloc(0));
      return `${letter.sourcePartition}/${letter.sourceOffset}`;
    });
    expect(sources).toHaveLength(1);
    const values = outputs.map((r) => Number(r.value));
    expect(new Set(values).size).toBe(values.length);
  }, 120_000);
});
