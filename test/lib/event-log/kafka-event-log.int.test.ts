// Proves kafkajs works against the pinned Kafka 4.x broker: admin, produce, group consume,
// and transactions (read-committed consumers never see aborted records).
import { describe, expect, it, onTestFinished } from 'vitest';
import type { LogRecord } from '../../../lib/event-log/event-log.ts';
import { openTestEventLog, uniqueName, waitFor } from '../../support/kafka-test-kit.ts';

describe('KafkaEventLog against the real broker', () => {
  it('creates topics idempotently, with partitions and compaction', async () => {
    const log = openTestEventLog();
    const table = uniqueName('table');
    const stream = uniqueName('stream');
    const specs = [
      { name: table, partitions: 2, compacted: true },
      { name: stream, partitions: 3, compacted: false },
    ];
    await log.ensureTopics(specs);
    await log.ensureTopics(specs);
    const offsets = await log.fetchOffsets(stream);
    expect(offsets.map((o) => o.partition).sort()).toEqual([0, 1, 2]);
    expect((await log.fetchOffsets(table)).length).toBe(2);
  });

  it('produces and consumes in a group, keyed records staying on one partition', async () => {
    const log = openTestEventLog();
    const topic = uniqueName('events');
    await log.ensureTopics([{ name: topic, partitions: 3, compacted: false }]);
    const producer = await log.createProducer();
    onTestFinished(() => producer.close());
    const records = Array.from({ length: 30 }, (_, i) => ({
      topic,
      key: `k${i % 5}`,
      value: Buffer.from(`v${i}`),
      headers: { 'content-type': 'text/plain' },
    }));
    await producer.send(records);

    const consumer = await log.createConsumer({
      groupId: uniqueName('g'),
      topics: [topic],
      fromBeginning: true,
    });
    onTestFinished(() => consumer.stop());
    const seen: LogRecord[] = [];
    await consumer.run((batch) => {
      seen.push(...batch.records);
    });
    await waitFor('30 records', () => (seen.length >= 30 ? true : undefined));
    expect(seen.map((r) => r.value?.toString()).sort()).toEqual(
      records.map((r) => r.value.toString()).sort(),
    );
    const partitionsByKey = new Map<string, Set<number>>();
    for (const r of seen) {
      const key = r.key?.toString() ?? '';
      partitionsByKey.set(key, (partitionsByKey.get(key) ?? new Set()).add(r.partition));
    }
    for (const partitions of partitionsByKey.values()) expect(partitions.size).toBe(1);
    expect(seen[0]?.headers['content-type']).toBe('text/plain');
  });

  it('commits records and offsets in one transaction; aborted records stay invisible', async () => {
    const log = openTestEventLog();
    const input = uniqueName('in');
    const output = uniqueName('out');
    const group = uniqueName('g');
    await log.ensureTopics([
      { name: input, partitions: 1, compacted: false },
      { name: output, partitions: 1, compacted: false },
    ]);
    const plain = await log.createProducer();
    onTestFinished(() => plain.close());
    await plain.send([{ topic: input, key: 'a', value: Buffer.from('1') }]);

    const txProducer = await log.createProducer({ transactionalId: uniqueName('tx') });
    onTestFinished(() => txProducer.close());
    await txProducer.sendWithOffsets(
      [{ topic: output, key: 'a', value: Buffer.from('committed') }],
      group,
      [{ topic: input, partition: 0, offset: '1' }],
    );

    // A failed transaction: the first record is large enough to go out in its own chunk, so it
    // really is written to the log inside the transaction before the send to a missing topic
    // fails and the transaction is aborted.
    const before = (await log.fetchOffsets(output))[0]?.high;
    await expect(
      txProducer.sendWithOffsets(
        [
          { topic: output, key: 'b', value: Buffer.alloc(600 * 1024, 'a') },
          { topic: uniqueName('missing'), key: 'b', value: Buffer.from('x') },
        ],
        group,
        [],
      ),
    ).rejects.toThrow();
    // The aborted record and the abort marker occupy offsets: it reached the log. The broker
    // writes transaction markers after it answers, so the offsets are waited for, not read once.
    await waitFor('the aborted record in the log', async () => {
      const afterAbort = (await log.fetchOffsets(output))[0]?.high;
      return BigInt(afterAbort ?? '0') > BigInt(before ?? '0') ? true : undefined;
    });

    // A transaction whose check before the commit fails (a member that lost its partitions):
    // its record and its offset were sent, and both are aborted.
    let checked = 0;
    await expect(
      txProducer.sendWithOffsets(
        [{ topic: output, key: 'd', value: Buffer.from('refused') }],
        group,
        [{ topic: input, partition: 0, offset: '2' }],
        {
          beforeCommit: () => {
            checked++;
            return Promise.reject(new Error('no longer a member'));
          },
        },
      ),
    ).rejects.toThrow('no longer a member');
    expect(checked).toBe(1);

    // A later transaction still works after the aborts, and a passing check lets it commit.
    await txProducer.sendWithOffsets(
      [{ topic: output, key: 'c', value: Buffer.from('after') }],
      group,
      [],
      { beforeCommit: () => Promise.resolve() },
    );

    const reader = await log.createConsumer({
      groupId: uniqueName('reader'),
      topics: [output],
      fromBeginning: true,
    });
    onTestFinished(() => reader.stop());
    const seen: string[] = [];
    await reader.run((batch) => {
      seen.push(...batch.records.map((r) => r.value?.toString() ?? ''));
    });
    await waitFor('the committed records', () => (seen.includes('after') ? true : undefined));
    expect(seen).toEqual(['committed', 'after']);

    // The group's offset was committed inside the transaction: a member of that group resumes after it.
    await plain.send([{ topic: input, key: 'a', value: Buffer.from('2') }]);
    const resumed = await log.createConsumer({
      groupId: group,
      topics: [input],
      fromBeginning: true,
    });
    onTestFinished(() => resumed.stop());
    const resumedSeen: string[] = [];
    await resumed.run((batch) => {
      resumedSeen.push(...batch.records.map((r) => r.value?.toString() ?? ''));
    });
    await waitFor('the record after the committed offset', () =>
      resumedSeen.length > 0 ? true : undefined,
    );
    expect(resumedSeen).toEqual(['2']);
  });
});

describe('offsets by timestamp', () => {
  it('finds the first record at or after a time, and the end offset past the last one', async () => {
    const log = openTestEventLog();
    const topic = uniqueName('timed');
    await log.ensureTopics([{ name: topic, partitions: 1, compacted: false }]);
    const producer = await log.createProducer();
    onTestFinished(() => producer.close());
    const T = 1_700_000_000_000;
    await producer.send(
      [0, 10, 20, 30].map((dt) => ({
        topic,
        partition: 0,
        key: 'k',
        value: Buffer.from(String(dt)),
        timestamp: T + dt,
      })),
    );
    expect(await log.offsetsForTime(topic, T - 1)).toEqual([{ partition: 0, offset: '0' }]);
    expect(await log.offsetsForTime(topic, T + 15)).toEqual([{ partition: 0, offset: '2' }]);
    expect(await log.offsetsForTime(topic, T + 20)).toEqual([{ partition: 0, offset: '2' }]);
    expect(await log.offsetsForTime(topic, T + 31)).toEqual([{ partition: 0, offset: '4' }]);
  });
});

describe('large batches', () => {
  it('produces more than max.message.bytes in one call, plainly and in a transaction', async () => {
    const log = openTestEventLog();
    const topic = uniqueName('big');
    await log.ensureTopics([{ name: topic, partitions: 1, compacted: false }]);
    // 40 records of 100 KiB on one partition: 4 MiB, four times the broker's batch limit.
    const records = Array.from({ length: 40 }, (_, i) => ({
      topic,
      key: 'same-key',
      value: Buffer.alloc(100 * 1024, i),
    }));
    const plain = await log.createProducer();
    onTestFinished(() => plain.close());
    await plain.send(records);
    const tx = await log.createProducer({ transactionalId: uniqueName('tx') });
    onTestFinished(() => tx.close());
    await tx.sendWithOffsets(records, uniqueName('g'), []);
    // 80 records plus one transaction marker (written by the broker after it answers the commit).
    const high = await waitFor('80 records and the commit marker', async () => {
      const offsets = await log.fetchOffsets(topic);
      return offsets[0]?.high === '81' ? offsets[0].high : undefined;
    });
    expect(high).toBe('81');
  });
});
