// The one-pass produce encoder against kafkajs's own: the same request bytes for the same
// messages, so the broker sees exactly what kafkajs would have sent.
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  crc32c,
  encodeProduceRequestBody,
  type ProduceRequestFields,
  type ProduceTopicData,
} from '../../../lib/event-log/produce-encoding.ts';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import { loadKafkajsOriginal } from '../../support/kafkajs-original.ts';

const require = createRequire(import.meta.url);

/** kafkajs's own Produce v3 request, loaded afresh even where the fast one is installed. */
const kafkajsProduceV3 = (): ((fields: object) => { encode(): Promise<{ buffer: Buffer }> }) =>
  loadKafkajsOriginal('kafkajs/src/protocol/requests/produce/v3/request.js') as (
    fields: object,
  ) => { encode(): Promise<{ buffer: Buffer }> };
const kafkajsCrc32c = require('kafkajs/src/protocol/recordBatch/crc32C/index.js') as (
  b: Buffer,
) => number;
const Long = require('kafkajs/src/utils/long.js') as {
  fromValue(v: number | string): { getHighBits(): number; getLowBits(): number };
};

async function kafkajsBody(fields: ProduceRequestFields): Promise<Buffer> {
  const request = kafkajsProduceV3()({ ...fields, compression: 0 });
  return (await request.encode()).buffer;
}

const random = createSeededRandom(7);
const bytes = (n: number): Buffer =>
  Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('CRC32C', () => {
  it('gives the check value of the Castagnoli polynomial and kafkajs’s result on any length', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    for (const n of [1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 1000, 5421]) {
      const b = bytes(n);
      expect(crc32c(b), `length ${n}`).toBe(kafkajsCrc32c(b));
    }
    const framed = Buffer.concat([bytes(5), Buffer.from('123456789'), bytes(3)]);
    expect(crc32c(framed, 5, 14)).toBe(0xe3069283);
  });

  it('gives the same result at every alignment of the bytes in memory and of the range', () => {
    // Long ranges are read as aligned 32-bit words after up to three single bytes: views at each
    // byte offset of a shared buffer, and ranges starting at each offset within a view.
    const backing = bytes(6000);
    for (const n of [63, 64, 65, 79, 80, 81, 200, 5421]) {
      for (let offset = 0; offset < 4; offset++) {
        const view = new Uint8Array(backing.buffer, backing.byteOffset + offset, n);
        const expected = kafkajsCrc32c(Buffer.from(view));
        expect(crc32c(view), `length ${n}, offset ${offset}`).toBe(expected);
        const wider = new Uint8Array(backing.buffer, backing.byteOffset, n + 7);
        expect(crc32c(wider, offset, offset + n), `range at ${offset}, length ${n}`).toBe(
          kafkajsCrc32c(Buffer.from(wider.subarray(offset, offset + n))),
        );
      }
    }
  });
});

describe('produce request encoding', () => {
  const T = 1_765_000_000_000;
  const topics: ProduceTopicData[] = [
    {
      topic: 'dynab.requests',
      partitions: [
        {
          partition: 0,
          firstSequence: 17,
          messages: [
            { key: 'r1', value: bytes(256), timestamp: T + 5 },
            { key: Buffer.from('r2'), value: null, timestamp: T, headers: { a: 'x' } },
            {
              key: null,
              value: 'plain text value',
              timestamp: String(T + 2),
              headers: { 'content-type': Buffer.from('application/json'), many: ['1', 'two'] },
            },
          ],
        },
        { partition: 3, messages: [{ key: 'big', value: bytes(20_000), timestamp: T + 1 }] },
      ],
    },
    {
      topic: 'dynab.aggregator-changelog',
      partitions: [
        {
          partition: 1,
          messages: Array.from({ length: 300 }, (_, i) => ({
            key: `j/00001/request-${i}`,
            value: i % 10 === 0 ? null : bytes(i),
            timestamp: T + (i % 7),
          })),
        },
      ],
    },
  ];

  it('writes the bytes kafkajs writes, transactional and idempotent', async () => {
    // kafkajs carries the producer id as a number before InitProducerId and as the decoded
    // response's value after it.
    const ids = [
      ['Long', Long.fromValue(4242)],
      ['string', '4242'],
      ['number', 4242],
    ] as const;
    for (const [form, producerId] of ids) {
      const fields: ProduceRequestFields = {
        acks: -1,
        timeout: 30_000,
        transactionalId: 'dynab-aggregator-1',
        producerId,
        producerEpoch: 3,
        topicData: topics,
      };
      const ours = encodeProduceRequestBody(fields);
      expect(ours.equals(await kafkajsBody(fields)), `producer id as a ${form}`).toBe(true);
    }
  });

  it('writes the bytes kafkajs writes without a transaction, and with the clock’s time', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(T + 99);
    const fields: ProduceRequestFields = {
      acks: 1,
      timeout: 1_000,
      transactionalId: null,
      producerId: -1,
      producerEpoch: 0,
      topicData: [
        {
          topic: 't',
          partitions: [
            { partition: 2, messages: [{ key: 'k', value: bytes(10) }, { value: 'v' }] },
          ],
        },
      ],
    };
    const ours = encodeProduceRequestBody(fields, Date.now());
    expect(ours.equals(await kafkajsBody(fields))).toBe(true);
  });

  it('sizes multi-byte varints and checks its own arithmetic', () => {
    const body = encodeProduceRequestBody({
      acks: -1,
      timeout: 1,
      topicData: [
        { topic: 'x', partitions: [{ partition: 0, messages: [{ value: bytes(300_000) }] }] },
      ],
    });
    // Request header fields, one topic "x", one partition, then the batch and its record.
    expect(body.length).toBeGreaterThan(300_000);
    const batchSize = body.readInt32BE(2 + 2 + 4 + 4 + 2 + 1 + 4 + 4);
    expect(body.length - batchSize).toBe(2 + 2 + 4 + 4 + 2 + 1 + 4 + 4 + 4);
  });

  it('refuses a timestamp that is not a whole number', () => {
    expect(() =>
      encodeProduceRequestBody({
        acks: -1,
        timeout: 1,
        topicData: [
          {
            topic: 'x',
            partitions: [{ partition: 0, messages: [{ value: 'v', timestamp: 'soon' }] }],
          },
        ],
      }),
    ).toThrow(/invalid message timestamp/);
  });
});
