// The adapter's framing of kafkajs's requests against kafkajs's own: the same bytes for the same
// request, whether the body has room in front of it or not.
import { describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import '../../../lib/event-log/kafka-event-log.ts';
import { encodeProduceRequestBody } from '../../../lib/event-log/produce-encoding.ts';
import { requireKafkajs } from '../../../lib/event-log/kafkajs-modules.ts';
import { frameRequest, kafkajsEncoderOf } from '../../../lib/event-log/request-framing.ts';
import { loadKafkajsOriginal } from '../../support/kafkajs-original.ts';

type CreateRequest = (args: {
  correlationId: number;
  clientId: string | null | undefined;
  request: { apiKey: number; apiVersion: number; encode: () => Promise<unknown> };
}) => Promise<{ buffer: Buffer }>;

/** kafkajs's own request.js, loaded afresh beside the installed framing. */
const kafkajsFraming = loadKafkajsOriginal('kafkajs/src/protocol/request.js') as CreateRequest;
/** The framing the adapter installed in kafkajs's module cache. */
const installedFraming = requireKafkajs('kafkajs/src/protocol/request.js') as CreateRequest;
const Encoder = requireKafkajs('kafkajs/src/protocol/encoder.js') as new () => {
  writeBytes(b: Buffer): unknown;
};

const random = createSeededRandom(21);
const bytes = (n: number): Buffer =>
  Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));

describe('request framing', () => {
  it('gives kafkajs’s bytes for every client id and body size, with or without headroom', async () => {
    expect(installedFraming).not.toBe(kafkajsFraming);
    for (const clientId of ['dynab-router', 'dynab-ü-✓', '', null, undefined]) {
      for (const size of [0, 1, 100, 70_000]) {
        const body = bytes(size);
        const fields = { apiKey: 0, apiVersion: 7, correlationId: 1_234_567 + size };
        const want = (
          await kafkajsFraming({
            ...fields,
            clientId,
            request: { ...fields, encode: () => Promise.resolve(kafkajsEncoderOf(body)) },
          })
        ).buffer;
        // The header takes 14 bytes plus the client id's: room of 0, too little and enough.
        for (const headroom of [0, 13, 64]) {
          const room = Buffer.alloc(headroom + size, 0xee);
          body.copy(room, headroom);
          const got = frameRequest(
            { ...fields, clientId: clientId ?? null },
            room.subarray(headroom),
            headroom,
          );
          expect(got.equals(want), `${String(clientId)}, ${size} B, room ${headroom}`).toBe(true);
        }
        const installed = await installedFraming({
          ...fields,
          clientId,
          request: {
            ...fields,
            encode: () => Promise.resolve(kafkajsEncoderOf(body)),
          },
        });
        expect(installed.buffer.equals(want)).toBe(true);
      }
    }
  });

  it('frames kafkajs’s own encoders, and a Produce body in its own headroom without a copy', async () => {
    const fields = { apiKey: 3, apiVersion: 1, correlationId: 9 };
    const encoder = new Encoder();
    encoder.writeBytes(bytes(300));
    const request = { ...fields, encode: () => Promise.resolve(encoder) };
    const want = (await kafkajsFraming({ ...fields, clientId: 'c', request })).buffer;
    expect((await installedFraming({ ...fields, clientId: 'c', request })).buffer).toEqual(want);

    const produce = encodeProduceRequestBody(
      {
        acks: -1,
        timeout: 30_000,
        topicData: [{ topic: 't', partitions: [{ partition: 0, messages: [{ value: 'v' }] }] }],
      },
      1_700_000_000_000,
      128,
    );
    const framed = frameRequest({ ...fields, clientId: 'dynab' }, produce, 128);
    // Written in place: the framed request ends where the body ends, in the same memory.
    expect(framed.buffer).toBe(produce.buffer);
    expect(framed.byteOffset + framed.length).toBe(produce.byteOffset + produce.length);
    expect(framed.subarray(framed.length - produce.length).equals(produce)).toBe(true);
  });
});
