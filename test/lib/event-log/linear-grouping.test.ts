import { describe, expect, it } from 'vitest';
import { groupMessagesPerPartition } from '../../../lib/event-log/linear-grouping.ts';

describe('groupMessagesPerPartition (linear)', () => {
  it('groups messages by their partition, keeping their order within each partition', () => {
    const messages = Array.from({ length: 10_000 }, (_, i) => ({ i, partition: (i * 7) % 5 }));
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [0, 1, 2, 3, 4],
      messages,
      partitioner: ({ message }) => message.partition,
    });
    expect(Object.keys(grouped).sort()).toEqual(['0', '1', '2', '3', '4']);
    for (const [partition, list] of Object.entries(grouped)) {
      expect(list.every((m) => m.partition === Number(partition))).toBe(true);
      expect(list.map((m) => m.i)).toEqual([...list.map((m) => m.i)].sort((a, b) => a - b));
    }
    expect(Object.values(grouped).reduce((n, list) => n + list.length, 0)).toBe(10_000);
  });

  it('returns no partitions when the topic has no partition metadata, as kafkajs does', () => {
    const grouped = groupMessagesPerPartition({
      topic: 't',
      partitionMetadata: [],
      messages: [{ partition: 0 }],
      partitioner: () => 0,
    });
    expect(grouped).toEqual({});
  });
});
