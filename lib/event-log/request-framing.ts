// Framing of every request kafkajs sends (its protocol/request.js): the size, API key and
// version, correlation id and client id, then the request's body.
//
// kafkajs frames through two growing encoders: the body is copied twice, each time into a
// zero-filled buffer of the next power of two above its size. For a Produce request of a megabyte
// that is two fresh allocations of up to two megabytes (page faults, the kernel clearing pages)
// and two copies, in every producing service. Here the request is framed in one buffer of its
// exact size with one copy; and a body encoded with room in front of it (produce-encoding.ts
// leaves some) gets its header written into that room, with no copy at all.
import { replaceKafkajsModule, requireKafkajs } from './kafkajs-modules.ts';

/** What kafkajs's request encoders return: a buffer and how much of it is written. */
export interface KafkajsEncoder {
  buf: Buffer;
  offset: number;
  /** Bytes in front of `buf`, in the same allocation, that the framing may write (ours only). */
  headroom?: number;
}

export interface RequestHeaderFields {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
}

/** Size prefix, API key, API version, correlation id and the client id's length. */
const FIXED_HEADER_BYTES = 4 + 2 + 2 + 4 + 2;

/**
 * The framed request: the bytes kafkajs's request.js produces for `body`, in `body`'s headroom
 * when it has enough, else in a new buffer of the exact size.
 */
export function frameRequest(fields: RequestHeaderFields, body: Buffer, headroom = 0): Buffer {
  const clientIdBytes = fields.clientId === null ? 0 : Buffer.byteLength(fields.clientId, 'utf8');
  const headerBytes = FIXED_HEADER_BYTES + clientIdBytes;
  const total = headerBytes + body.length;
  let out: Buffer;
  if (headroom >= headerBytes) {
    out = Buffer.from(body.buffer, body.byteOffset - headerBytes, total);
  } else {
    out = Buffer.allocUnsafe(total);
    body.copy(out, headerBytes);
  }
  let o = out.writeInt32BE(total - 4, 0);
  o = out.writeInt16BE(fields.apiKey, o);
  o = out.writeInt16BE(fields.apiVersion, o);
  o = out.writeInt32BE(fields.correlationId, o);
  if (fields.clientId === null) {
    out.writeInt16BE(-1, o);
  } else {
    o = out.writeInt16BE(clientIdBytes, o);
    out.write(fields.clientId, o, clientIdBytes, 'utf8');
  }
  return out;
}

type CreateRequest = (args: {
  correlationId: number;
  /** As configured (kafkajs's default is `kafkajs`); kafkajs writes a missing one as null. */
  clientId: string | null | undefined;
  request: { apiKey: number; apiVersion: number; encode: () => Promise<KafkajsEncoder> };
}) => Promise<KafkajsEncoder>;

let encoderPrototype: object | undefined;

/**
 * A kafkajs encoder holding `buffer` as written, without the 512 zero-filled bytes its
 * constructor allocates first.
 */
export function kafkajsEncoderOf(buffer: Buffer, headroom = 0): KafkajsEncoder {
  // Looked up once: a require() of a loaded module still resolves its path every time (about 3%
  // of the aggregator's CPU when it ran per request).
  encoderPrototype ??= (requireKafkajs('kafkajs/src/protocol/encoder.js') as { prototype: object })
    .prototype;
  const encoder = Object.create(encoderPrototype) as KafkajsEncoder;
  encoder.buf = buffer;
  encoder.offset = buffer.length;
  if (headroom > 0) encoder.headroom = headroom;
  return encoder;
}

/** Puts frameRequest in place of kafkajs's request.js before its connection loads it. */
export function installRequestFraming(): boolean {
  return replaceKafkajsModule(
    'kafkajs/src/protocol/request.js',
    'kafkajs/src/network/connection.js',
    () => {
      const create: CreateRequest = async ({ correlationId, clientId, request }) => {
        const payload = await request.encode();
        const body = payload.buf.subarray(0, payload.offset);
        const fields = {
          apiKey: request.apiKey,
          apiVersion: request.apiVersion,
          correlationId,
          clientId: clientId ?? null,
        };
        return kafkajsEncoderOf(frameRequest(fields, body, payload.headroom ?? 0));
      };
      return create;
    },
  );
}

// DYNAB_KAFKAJS_REQUEST_FRAMING=kafkajs keeps kafkajs's own framing (to compare the two).
if (process.env['DYNAB_KAFKAJS_REQUEST_FRAMING'] !== 'kafkajs') installRequestFraming();
