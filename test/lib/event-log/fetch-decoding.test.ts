// The number-based record decoder against kafkajs's own, on the same record bytes.
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  decodeRecord,
  type RecordBatchContext,
  type RecordReader,
} from '../../../lib/event-log/fetch-decoding.ts';
import { loadKafkajsOriginal } from '../../support/kafkajs-original.ts';

const require = createRequire(import.meta.url);

type KafkajsRecordDecoder = (decoder: RecordReader, context: RecordBatchContext) => unknown;
const kafkajsDecodeRecord = loadKafkajsOriginal(
  'kafkajs/src/protocol/recordBatch/record/v0/decoder.js',
) as KafkajsRecordDecoder;
const Decoder = require('kafkajs/src/protocol/decoder.js') as new (b: Buffer) => RecordReader & {
  readVarIntBytes(): Buffer;
};
const Record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (fields: {
  offsetDelta: number;
  timestampDelta: number;
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[]>;
}) => { buffer: Buffer };

/** The record's body as kafkajs's batch decoder hands it to the record decoder. */
function recordBody(fields: Parameters<typeof Record>[0]): Buffer {
  return new Decoder(Record(fields).buffer).readVarIntBytes();
}

const context = (overrides: Partial<RecordBatchContext> = {}): RecordBatchContext => ({
  firstOffset: '1234567',
  firstTimestamp: '1765000000000',
  maxTimestamp: '1765000009999',
  magicByte: 2,
  isControlBatch: false,
  timestampType: 0,
  partitionLeaderEpoch: 0,
  inTransaction: true,
  lastOffsetDelta: 10,
  producerId: '4242',
  producerEpoch: 1,
  firstSequence: 0,
  ...overrides,
});

describe('fetched record decoding', () => {
  const records: Parameters<typeof Record>[0][] = [
    { offsetDelta: 0, timestampDelta: 0, key: 'r1', value: Buffer.alloc(256, 7) },
    { offsetDelta: 1, timestampDelta: 5, key: null, value: null },
    {
      offsetDelta: 300,
      timestampDelta: 70_000,
      key: Buffer.from('j/00001/request-1'),
      value: 'text',
      headers: {
        'content-type': 'application/json',
        many: ['1', Buffer.from('two'), 'three'],
        empty: '',
      },
    },
    { offsetDelta: 9, timestampDelta: -20, key: 'k', value: Buffer.alloc(20_000, 1) },
  ];

  it('returns what kafkajs returns, field for field', () => {
    for (const overrides of [
      {},
      { timestampType: 1 },
      { isControlBatch: true },
      { firstOffset: '9007199254740000', firstTimestamp: '99999999999999999' },
    ]) {
      for (const fields of records) {
        const body = recordBody(fields);
        const ours = decodeRecord(new Decoder(body), context(overrides));
        const theirs = kafkajsDecodeRecord(new Decoder(body), context(overrides));
        expect(ours, JSON.stringify({ overrides, offsetDelta: fields.offsetDelta })).toEqual(
          theirs,
        );
      }
    }
  });

  it('adds offsets past 2^53 exactly', () => {
    const body = recordBody({ offsetDelta: 7, timestampDelta: 0, key: 'k', value: 'v' });
    const ours = decodeRecord(new Decoder(body), context({ firstOffset: '9007199254740993' }));
    expect(ours.offset).toBe('9007199254741000');
  });

  it('refuses a record cut inside a field', () => {
    const body = recordBody({ offsetDelta: 0, timestampDelta: 0, key: 'k', value: 'value' });
    expect(() => decodeRecord(new Decoder(body.subarray(0, body.length - 2)), context())).toThrow(
      RangeError,
    );
  });
});
