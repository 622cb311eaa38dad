import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { keyHashPartitioner } from '../../../lib/event-log/kafka-event-log.ts';
import { murmur2, partitionForKey } from '../../../lib/event-log/murmur2.ts';
import { createSeededRandom } from '../../../lib/bandit/random.ts';

// kafkajs's own murmur2 (BigInt longs): the oracle for short keys.
const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer | string,
) => number;

describe('murmur2', () => {
  it("matches the hashes of Kafka's Java client for its reference strings", () => {
    // Values from the Java client's own unit test of Utils.murmur2.
    const reference: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [text, hash] of reference) expect(murmur2(Buffer.from(text)), text).toBe(hash);
  });

  it("agrees with kafkajs's default partitioner on random keys of every length remainder", () => {
    const random = createSeededRandom(17);
    for (let n = 0; n < 400; n++) {
      const bytes = Buffer.alloc(Math.floor(random() * 90));
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
      expect(murmur2(bytes)).toBe(kafkajsMurmur2(bytes));
    }
  });

  it('hashes a key of a few hundred KB in linear time (no BigInt growth)', () => {
    const key = Buffer.alloc(600_000, 0x61);
    const hash = murmur2(key);
    expect(Number.isInteger(hash) && hash >= -(2 ** 31) && hash < 2 ** 31).toBe(true);
    // Same bytes, same hash; one byte changed, another hash.
    expect(murmur2(Buffer.from(key))).toBe(hash);
    key[299_999] = 0x62;
    expect(murmur2(key)).not.toBe(hash);
  });

  it('maps a key to a partition the way the default partitioner does', () => {
    for (const key of ['req-1', 'req-2', 'user/42', 'ünïcode']) {
      const expected = (kafkajsMurmur2(Buffer.from(key)) & 0x7fffffff) % 12;
      expect(partitionForKey(key, 12)).toBe(expected);
      expect(partitionForKey(Buffer.from(key), 12)).toBe(expected);
    }
  });
});

describe('keyHashPartitioner', () => {
  const metadata = (leaders: number[]) =>
    leaders.map((leader, partitionId) => ({
      partitionId,
      leader,
      partitionErrorCode: 0,
      replicas: [],
      isr: [],
    }));

  it('keeps an explicit partition, hashes a key, and rotates keyless records over live leaders', () => {
    const partition = keyHashPartitioner();
    const partitionMetadata = metadata([1, -1, 1, 1]);
    const at = (message: { key?: string | null; partition?: number }) =>
      partition({ topic: 't', partitionMetadata, message: { value: null, ...message } });
    expect(at({ key: 'req-1', partition: 1 })).toBe(1);
    expect(at({ key: 'req-1' })).toBe(partitionForKey('req-1', 4));
    const keyless = Array.from({ length: 6 }, () => at({ key: null }));
    expect(new Set(keyless)).toEqual(new Set([0, 2, 3]));
  });
});
