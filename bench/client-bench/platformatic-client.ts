// The benchmark workloads on @platformatic/kafka (1.x: the line that runs on Node 20), through
// its own API. Only the calls used here are declared.
import type { OutRecord } from '../../lib/event-log/event-log.ts';
import {
  chunkByBytes,
  within,
  type BenchClient,
  type BenchProducer,
  type Tally,
} from './bench-client.ts';
import { importOptional, type Loaded } from './optional-module.ts';

interface PlatformaticMessage {
  readonly key?: Buffer;
  readonly value?: Buffer;
  readonly headers: Map<Buffer, Buffer>;
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
}

interface OutgoingMessage {
  topic: string;
  key?: Buffer;
  value?: Buffer;
  headers?: Map<Buffer, Buffer>;
}

interface PlatformaticTransaction {
  send(options: { messages: OutgoingMessage[] }): Promise<unknown>;
  addConsumer(consumer: PlatformaticConsumer): Promise<void>;
  addOffset(message: PlatformaticMessage): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

interface PlatformaticProducer {
  send(options: { messages: OutgoingMessage[] }): Promise<unknown>;
  beginTransaction(): Promise<PlatformaticTransaction>;
  close(force?: boolean): Promise<void>;
}

interface MessagesStream {
  read(): PlatformaticMessage | null;
  on(event: 'data', listener: (message: PlatformaticMessage) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'readable', listener: () => void): this;
  close(): Promise<void>;
}

interface PlatformaticConsumer {
  on(event: 'consumer:group:join', listener: () => void): this;
  consume(options: Record<string, unknown>): Promise<MessagesStream>;
  close(force?: boolean): Promise<void>;
}

interface PlatformaticModule {
  Producer: new (options: Record<string, unknown>) => PlatformaticProducer;
  Consumer: new (options: Record<string, unknown>) => PlatformaticConsumer;
}

const RUN_TIMEOUT_MS = 300_000;
// Same bound as the event-log port: one request carries one record batch per partition, and
// the broker rejects a batch above max.message.bytes.
const MAX_CALL_BYTES = 512 * 1024;
const READ_COMMITTED = 1;

function toMessage(
  topic: string,
  record: Pick<OutRecord, 'key' | 'value' | 'headers'>,
): OutgoingMessage {
  const message: OutgoingMessage = { topic };
  if (record.key !== null)
    message.key = Buffer.isBuffer(record.key) ? record.key : Buffer.from(record.key);
  if (record.value !== null) message.value = record.value;
  if (record.headers !== undefined) {
    message.headers = new Map(
      Object.entries(record.headers).map(([k, v]) => [Buffer.from(k), Buffer.from(v)]),
    );
  }
  return message;
}

export async function loadPlatformatic(brokers: readonly string[]): Promise<Loaded<BenchClient>> {
  const loaded = await importOptional<PlatformaticModule>('@platformatic/kafka');
  if (!loaded.ok) return loaded;
  return {
    ok: true,
    from: loaded.from,
    module: new PlatformaticBenchClient(loaded.module, brokers),
  };
}

class PlatformaticBenchClient implements BenchClient {
  readonly name = '@platformatic/kafka';

  constructor(
    private readonly kafka: PlatformaticModule,
    private readonly brokers: readonly string[],
  ) {}

  private base(clientId: string): Record<string, unknown> {
    return {
      clientId,
      bootstrapBrokers: [...this.brokers],
      retries: 8,
      // The default is a flat 1 s. Right after a commit the broker answers the next transaction's
      // AddPartitionsToTxn with CONCURRENT_TRANSACTIONS until the commit markers are written, and
      // with the default about a third of the relay's transactions waited a full second. Back
      // off from 20 ms instead, as kafkajs (from 100 ms) and the Java client (20 ms) do.
      retryDelay: (_client: unknown, _operation: string, attempt: number) =>
        Math.min(1_000, 20 * 2 ** attempt),
    };
  }

  openProducer(): Promise<BenchProducer> {
    const producer = new this.kafka.Producer({
      ...this.base('bench-producer'),
      idempotent: true,
      acks: -1,
      autocreateTopics: false,
    });
    return Promise.resolve({
      send: async (records: readonly OutRecord[]) => {
        for (const chunk of chunkByBytes(records, MAX_CALL_BYTES)) {
          await producer.send({ messages: chunk.map((r) => toMessage(r.topic, r)) });
        }
      },
      close: () => producer.close(),
    });
  }

  async consume(topic: string, groupId: string, tally: Tally): Promise<void> {
    const consumer = new this.kafka.Consumer({
      ...this.base('bench-consumer'),
      groupId,
      maxWaitTime: 100,
      maxBytesPerPartition: 1_048_576,
      autocommit: false,
    });
    consumer.on('consumer:group:join', () => tally.start());
    try {
      const stream = await consumer.consume({
        topics: [topic],
        mode: 'earliest',
        autocommit: false,
      });
      stream.on('error', (error) => tally.fail(error));
      stream.on('data', (message) => {
        const offset = Number(message.offset);
        tally.add(message.partition, offset, offset, 1);
      });
      await within(`consuming ${topic}`, RUN_TIMEOUT_MS, tally.done);
      await stream.close();
    } finally {
      await consumer.close(true);
    }
  }

  async relay(
    input: string,
    output: string,
    groupId: string,
    transactionalId: string,
    tally: Tally,
  ): Promise<void> {
    const producer = new this.kafka.Producer({
      ...this.base('bench-relay-producer'),
      idempotent: true,
      acks: -1,
      transactionalId,
      autocreateTopics: false,
    });
    const consumer = new this.kafka.Consumer({
      ...this.base('bench-relay-consumer'),
      groupId,
      maxWaitTime: 100,
      maxBytesPerPartition: 1_048_576,
      autocommit: false,
      isolationLevel: READ_COMMITTED,
    });
    consumer.on('consumer:group:join', () => tally.start());
    try {
      const stream = await consumer.consume({
        topics: [input],
        mode: 'committed',
        fallbackMode: 'earliest',
        autocommit: false,
        isolationLevel: READ_COMMITTED,
      });
      stream.on('error', (error) => tally.fail(error));
      // A 'readable' listener stays registered for the whole run: the stream fetches only while
      // someone reads, and an intermittent `once('readable')` left it idle after a drain.
      let wake: () => void = () => undefined;
      stream.on('readable', () => wake());
      const loop = async (): Promise<void> => {
        while (!tally.complete) {
          // Everything the stream holds now (one or more fetches), split by partition: one
          // transaction per partition batch, as the event-log port's consumers deliver them.
          const byPartition = new Map<number, PlatformaticMessage[]>();
          for (let m = stream.read(); m !== null; m = stream.read()) {
            const list = byPartition.get(m.partition) ?? [];
            list.push(m);
            byPartition.set(m.partition, list);
          }
          if (byPartition.size === 0) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            continue;
          }
          for (const [partition, messages] of byPartition) {
            const first = messages[0];
            const last = messages.at(-1);
            if (first === undefined || last === undefined) continue;
            const transaction = await producer.beginTransaction();
            try {
              for (const chunk of chunkByBytes(
                messages.map((m) => ({
                  topic: output,
                  key: m.key ?? null,
                  value: m.value ?? null,
                  headers: Object.fromEntries(
                    [...m.headers].map(([k, v]) => [k.toString(), v.toString()]),
                  ),
                })),
                MAX_CALL_BYTES,
              )) {
                await transaction.send({ messages: chunk.map((r) => toMessage(output, r)) });
              }
              await transaction.addConsumer(consumer);
              await transaction.addOffset(last);
              await transaction.commit();
            } catch (error) {
              await transaction.abort().catch(() => undefined);
              throw error;
            }
            tally.add(partition, Number(first.offset), Number(last.offset), messages.length);
          }
        }
      };
      await within(`relaying ${input}`, RUN_TIMEOUT_MS, Promise.race([loop(), tally.done]));
      await stream.close();
    } finally {
      await consumer.close(true);
      await producer.close(true);
    }
  }

  async close(): Promise<void> {
    // Every run closes its own clients.
  }
}
