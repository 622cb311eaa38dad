import { describe, expect, it } from 'vitest';
import { chunkRecords } from '../../../lib/event-log/kafka-event-log.ts';

describe('chunkRecords', () => {
  it('splits by cumulative size, keeps order, and never leaves a record out', () => {
    const records = Array.from({ length: 10 }, (_, i) => ({
      topic: 't',
      key: `k${i}`,
      value: Buffer.alloc(300),
    }));
    const chunks = chunkRecords(records, 1000);
    expect(chunks.flat()).toEqual(records);
    expect(chunks.map((c) => c.length)).toEqual([2, 2, 2, 2, 2]);
  });

  it('puts a record larger than the limit in a chunk of its own', () => {
    const records = [
      { topic: 't', key: null, value: Buffer.alloc(10) },
      { topic: 't', key: null, value: Buffer.alloc(5000) },
      { topic: 't', key: null, value: Buffer.alloc(10) },
    ];
    expect(chunkRecords(records, 1000).map((c) => c.length)).toEqual([1, 1, 1]);
  });

  it('returns no chunk for no records', () => {
    expect(chunkRecords([])).toEqual([]);
  });
});
