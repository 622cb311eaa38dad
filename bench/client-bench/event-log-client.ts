// The benchmark workloads through the event-log port, so the project's own adapter (kafkajs
// today) is measured exactly as the services use it.
import type {
  ConsumerHooks,
  EventLog,
  LogBatch,
  LogConsumer,
  OutRecord,
} from '../../lib/event-log/event-log.ts';
import { within, type BenchClient, type BenchProducer, type Tally } from './bench-client.ts';

const RUN_TIMEOUT_MS = 300_000;

/** Counts a delivered batch (offset range and size) into the tally. */
function countBatch(tally: Tally, batch: LogBatch): void {
  const first = batch.records[0];
  const last = batch.records.at(-1);
  if (first === undefined || last === undefined) return;
  tally.add(batch.partition, Number(first.offset), Number(last.offset), batch.records.length);
}

/** The clock starts when the group assigned partitions; a crash fails the run. */
const tallyHooks = (tally: Tally): ConsumerHooks => ({
  onAssigned: (assignment) => {
    if (assignment.length > 0) tally.start();
  },
  onCrash: (error) => tally.fail(error),
});

export class EventLogBenchClient implements BenchClient {
  constructor(
    readonly name: string,
    private readonly log: EventLog,
  ) {}

  async openProducer(): Promise<BenchProducer> {
    const producer = await this.log.createProducer();
    return {
      send: (records: readonly OutRecord[]) => producer.send(records),
      close: () => producer.close(),
    };
  }

  async consume(topic: string, groupId: string, tally: Tally): Promise<void> {
    const consumer = await this.log.createConsumer({
      groupId,
      topics: [topic],
      fromBeginning: true,
      maxWaitTimeMs: 100,
    });
    try {
      await consumer.run((batch) => countBatch(tally, batch), tallyHooks(tally));
      await within(`consuming ${topic}`, RUN_TIMEOUT_MS, tally.done);
    } finally {
      await consumer.stop();
    }
  }

  async relay(
    input: string,
    output: string,
    groupId: string,
    transactionalId: string,
    tally: Tally,
  ): Promise<void> {
    const producer = await this.log.createProducer({ transactionalId });
    let consumer: LogConsumer | undefined;
    try {
      consumer = await this.log.createConsumer({
        groupId,
        topics: [input],
        fromBeginning: true,
        maxWaitTimeMs: 100,
      });
      await consumer.run(async (batch) => {
        const first = batch.records[0];
        const last = batch.records.at(-1);
        if (first === undefined || last === undefined) return;
        await producer.sendWithOffsets(
          batch.records.map((r) => ({
            topic: output,
            key: r.key,
            value: r.value,
            headers: r.headers,
          })),
          groupId,
          [
            {
              topic: input,
              partition: batch.partition,
              offset: (BigInt(last.offset) + 1n).toString(),
            },
          ],
        );
        countBatch(tally, batch);
      }, tallyHooks(tally));
      await within(`relaying ${input}`, RUN_TIMEOUT_MS, tally.done);
    } finally {
      await consumer?.stop();
      await producer.close();
    }
  }

  async close(): Promise<void> {
    await this.log.close();
  }
}
