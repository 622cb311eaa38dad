// Dead letters on the real broker are valid Avro whatever the failed record held: a reason that
// quotes an id with a lone surrogate (which Avro's string encoding would write as bytes that are
// not UTF-8) and a reason that quotes a giant input are both written as readable letters.
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';
import { createLogger } from '../../../lib/log/logger.ts';
import { startProcessorRunner } from '../../../lib/stream/processor-runner.ts';
import {
  collectTopic,
  openTestEventLog,
  uniqueName,
  waitFor,
} from '../../support/kafka-test-kit.ts';

describe('dead letters', () => {
  it('are valid Avro, with a bounded reason, whatever the failure quoted', async () => {
    const log = openTestEventLog();
    const input = uniqueName('in');
    const deadLetters = uniqueName('dlq');
    await log.ensureTopics([
      { name: input, partitions: 1, compacted: false },
      { name: deadLetters, partitions: 1, compacted: false },
    ]);
    const codecs = loadCodecs();
    const codec = codecs['dead-letter'];
    const running = await startProcessorRunner(
      {
        service: 'test',
        eventLog: log,
        groupId: uniqueName('g'),
        topics: [input],
        deadLetterTopic: deadLetters,
        transactionalId: uniqueName('tx'),
        concurrency: 1,
        maxAttempts: 1,
        encodeDeadLetter: (letter) => codec.encode(letter),
        logger: createLogger('test', 'silent'),
        now: Date.now,
      },
      {
        process(record) {
          // Errors quote ids the way the services' errors do.
          const id = record.key?.toString() === 'lone' ? 'a\ud800b' : 'x'.repeat(100_000);
          throw new DynabError('INVALID_FIELD', `bad id ${id}`);
        },
      },
    );
    onTestFinished(() => running.stop());
    const letters = await collectTopic(log, deadLetters);
    const producer = await log.createProducer();
    onTestFinished(() => producer.close());
    await producer.send([
      { topic: input, key: 'lone', value: Buffer.from('1') },
      { topic: input, key: 'long', value: Buffer.from('2') },
    ]);
    await waitFor('2 dead letters', () => (letters.length === 2 ? true : undefined));
    const reasons = letters.map((record) => {
      const bytes = record.value ?? Buffer.alloc(0);
      // Bytes that are not UTF-8 decode to U+FFFD and encode back differently.
      expect(Buffer.from(codec.encode(codec.decode(bytes))).equals(bytes)).toBe(true);
      return codec.decode(bytes).reason;
    });
    expect(reasons[0]).toBe('bad id a\ufffdb');
    expect(reasons[1]?.length).toBeLessThanOrEqual(4096);
    expect(reasons[1]).toMatch(/^bad id x+… \(\d+ characters cut\)$/);
  });

  it('fit the dead-letters topic whatever the size of the failed record', async () => {
    const log = openTestEventLog();
    const input = uniqueName('in');
    const deadLetters = uniqueName('dlq');
    // An input topic that takes larger records than the dead letters (4 MiB, as declared).
    await log.ensureTopics([
      {
        name: input,
        partitions: 1,
        compacted: false,
        config: { 'max.message.bytes': String(8 * 1024 * 1024) },
      },
      {
        name: deadLetters,
        partitions: 1,
        compacted: false,
        config: { 'max.message.bytes': String(4 * 1024 * 1024) },
      },
    ]);
    const codec = loadCodecs()['dead-letter'];
    const running = await startProcessorRunner(
      {
        service: 'test',
        eventLog: log,
        groupId: uniqueName('g'),
        topics: [input],
        deadLetterTopic: deadLetters,
        transactionalId: uniqueName('tx'),
        concurrency: 1,
        maxAttempts: 1,
        encodeDeadLetter: (letter) => codec.encode(letter),
        logger: createLogger('test', 'silent'),
        now: Date.now,
      },
      {
        process() {
          throw new DynabError('PAYLOAD_TOO_LARGE', 'too large');
        },
      },
    );
    onTestFinished(() => running.stop());
    const letters = await collectTopic(log, deadLetters);
    const producer = await log.createProducer();
    onTestFinished(() => producer.close());
    await producer.send([
      { topic: input, key: 'k'.repeat(300_000), value: Buffer.alloc(5_000_000, 1) },
      { topic: input, key: 'small', value: Buffer.from('2') },
    ]);
    await waitFor('2 dead letters', () => (letters.length === 2 ? true : undefined), 20_000);
    const [big, small] = letters.map((r) => codec.decode(r.value ?? Buffer.alloc(0)));
    expect(big?.reason).toBe(
      'too large (key of 300000 and value of 5000000 bytes cut to 65536 and 3014656)',
    );
    expect(big?.value?.byteLength).toBe(3_014_656);
    expect(small).toMatchObject({ reason: 'too large' });
    expect(Buffer.from(small?.key ?? []).toString()).toBe('small');
  });
});
