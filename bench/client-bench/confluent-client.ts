// The benchmark workloads on @confluentinc/kafka-javascript (librdkafka), through its
// KafkaJS-style promise API. Only the calls used here are declared.
import type { OutRecord } from '../../lib/event-log/event-log.ts';
import { within, type BenchClient, type BenchProducer, type Tally } from './bench-client.ts';
import { importOptional, type Loaded } from './optional-module.ts';

interface ConfluentMessage {
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string | Buffer>;
}

interface ReceivedMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly offset: string;
  readonly headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

interface ConfluentProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(record: { topic: string; messages: ConfluentMessage[] }): Promise<unknown>;
  transaction(): Promise<ConfluentProducer>;
  sendOffsets(args: {
    consumer: ConfluentConsumer;
    topics: { topic: string; partitions: { partition: number; offset: string }[] }[];
  }): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

interface EachBatchPayload {
  readonly batch: {
    readonly topic: string;
    readonly partition: number;
    readonly messages: readonly ReceivedMessage[];
  };
}

interface ConfluentConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(subscription: { topics: string[] }): Promise<void>;
  run(config: {
    partitionsConsumedConcurrently: number;
    eachBatchAutoResolve: boolean;
    eachBatch: (payload: EachBatchPayload) => Promise<void>;
  }): Promise<void>;
}

interface ConfluentKafka {
  producer(config: Record<string, unknown>): ConfluentProducer;
  consumer(config: Record<string, unknown>): ConfluentConsumer;
}

interface ConfluentModule {
  KafkaJS: { Kafka: new (config: Record<string, unknown>) => ConfluentKafka };
}

const RUN_TIMEOUT_MS = 300_000;
const LOG_LEVEL_ERROR = 1;
/** librdkafka's RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS, the code of a rebalance that assigns. */
const ASSIGN_PARTITIONS = -175;

function toMessage(record: Pick<OutRecord, 'key' | 'value' | 'headers'>): ConfluentMessage {
  const message: ConfluentMessage = { key: record.key, value: record.value };
  if (record.headers !== undefined) message.headers = { ...record.headers };
  return message;
}

function firstHeaders(headers: ReceivedMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[key] = first.toString();
  }
  return out;
}

export async function loadConfluent(brokers: readonly string[]): Promise<Loaded<BenchClient>> {
  const loaded = await importOptional<ConfluentModule>('@confluentinc/kafka-javascript');
  if (!loaded.ok) return loaded;
  const kafka = new loaded.module.KafkaJS.Kafka({
    kafkaJS: { brokers: [...brokers], clientId: 'bench', logLevel: LOG_LEVEL_ERROR },
  });
  return { ok: true, from: loaded.from, module: new ConfluentBenchClient(kafka) };
}

class ConfluentBenchClient implements BenchClient {
  readonly name = '@confluentinc/kafka-javascript';

  constructor(private readonly kafka: ConfluentKafka) {}

  private consumerConfig(
    groupId: string,
    readCommitted: boolean,
    tally: Tally,
  ): Record<string, unknown> {
    return {
      rebalance_cb: (error: { code?: number }, assignment: readonly unknown[]) => {
        if (error.code === ASSIGN_PARTITIONS && assignment.length > 0) tally.start();
      },
      kafkaJS: {
        groupId,
        fromBeginning: true,
        autoCommit: false,
        readUncommitted: !readCommitted,
        maxWaitTimeInMs: 100,
        maxBytesPerPartition: 1_048_576,
      },
      // The KafkaJS layer hands over at most 32 messages per eachBatch call by default; the
      // event-log port's batches are whatever one fetch brought for the partition.
      'js.consumer.max.batch.size': -1,
    };
  }

  async openProducer(): Promise<BenchProducer> {
    const producer = this.kafka.producer({
      kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 5 },
    });
    await producer.connect();
    return {
      send: async (records: readonly OutRecord[]) => {
        const byTopic = new Map<string, ConfluentMessage[]>();
        for (const r of records) {
          const list = byTopic.get(r.topic) ?? [];
          list.push(toMessage(r));
          byTopic.set(r.topic, list);
        }
        await Promise.all(
          [...byTopic].map(([topic, messages]) => producer.send({ topic, messages })),
        );
      },
      close: () => producer.disconnect(),
    };
  }

  async consume(topic: string, groupId: string, tally: Tally): Promise<void> {
    const consumer = this.kafka.consumer(this.consumerConfig(groupId, false, tally));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [topic] });
      await consumer.run({
        partitionsConsumedConcurrently: 1,
        eachBatchAutoResolve: true,
        eachBatch: ({ batch }) => {
          const first = batch.messages[0];
          const last = batch.messages.at(-1);
          if (first !== undefined && last !== undefined)
            tally.add(
              batch.partition,
              Number(first.offset),
              Number(last.offset),
              batch.messages.length,
            );
          return Promise.resolve();
        },
      });
      await within(`consuming ${topic}`, RUN_TIMEOUT_MS, tally.done);
    } finally {
      await consumer.disconnect();
    }
  }

  async relay(
    input: string,
    output: string,
    groupId: string,
    transactionalId: string,
    tally: Tally,
  ): Promise<void> {
    const producer = this.kafka.producer({
      kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 1, transactionalId },
    });
    await producer.connect();
    const consumer = this.kafka.consumer(this.consumerConfig(groupId, true, tally));
    await consumer.connect();
    try {
      await consumer.subscribe({ topics: [input] });
      await consumer.run({
        partitionsConsumedConcurrently: 1,
        eachBatchAutoResolve: true,
        eachBatch: async ({ batch }) => {
          const first = batch.messages[0];
          const last = batch.messages.at(-1);
          if (first === undefined || last === undefined) return;
          const transaction = await producer.transaction();
          try {
            await transaction.send({
              topic: output,
              messages: batch.messages.map((m) =>
                toMessage({ key: m.key, value: m.value, headers: firstHeaders(m.headers) }),
              ),
            });
            await transaction.sendOffsets({
              consumer,
              topics: [
                {
                  topic: batch.topic,
                  partitions: [
                    { partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
                  ],
                },
              ],
            });
            await transaction.commit();
          } catch (error) {
            await transaction.abort().catch(() => undefined);
            tally.fail(error);
            throw error;
          }
          tally.add(
            batch.partition,
            Number(first.offset),
            Number(last.offset),
            batch.messages.length,
          );
        },
      });
      await within(`relaying ${input}`, RUN_TIMEOUT_MS, tally.done);
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
    }
  }

  async close(): Promise<void> {
    // Every run closes its own clients.
  }
}
