// The adapter's membership check before a transaction (KafkaLogConsumer.confirmMembership),
// against a stand-in for kafkajs's consumer that behaves as kafkajs does around heartbeats:
// kafkajs emits HEARTBEAT only for a heartbeat the coordinator answered, and skips the call
// without an error while it has no member id (evicted, not yet joined again).
import type { Consumer, EachBatchPayload } from 'kafkajs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { KafkaLogConsumer } from '../../../lib/event-log/kafka-event-log.ts';

type Heartbeat = 'answered' | 'skipped' | 'failed';

/** A consumer whose next heartbeats behave as `beats` says, and whose events can be emitted. */
function standIn() {
  const listeners = new Map<string, (() => void)[]>();
  const emit = (event: string): void => {
    for (const listener of listeners.get(event) ?? []) listener();
  };
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  let next: Heartbeat = 'answered';
  const consumer = {
    events: { HEARTBEAT: 'heartbeat', GROUP_JOIN: 'group_join', CRASH: 'crash' },
    on(event: string, listener: () => void) {
      listeners.set(event, [...(listeners.get(event) ?? []), listener]);
      return () => undefined;
    },
    subscribe: () => Promise.resolve(),
    run(options: { eachBatch: (payload: EachBatchPayload) => Promise<void> }) {
      eachBatch = options.eachBatch;
      return Promise.resolve();
    },
  };
  const heartbeat = (): Promise<void> => {
    if (next === 'failed') return Promise.reject(new Error('UNKNOWN_MEMBER_ID'));
    if (next === 'answered') emit('heartbeat');
    return Promise.resolve();
  };
  return {
    consumer: consumer as unknown as Consumer,
    emit,
    beats(how: Heartbeat) {
      next = how;
    },
    /** Delivers one batch, so the adapter holds the group's heartbeat. */
    async deliver(): Promise<void> {
      if (eachBatch === undefined) throw new Error('not running');
      await eachBatch({
        batch: {
          topic: 't',
          partition: 0,
          highWatermark: '1',
          messages: [{ offset: '0', key: null, value: null, headers: {}, timestamp: '0' }],
        },
        isRunning: () => true,
        isStale: () => false,
        heartbeat,
      } as unknown as EachBatchPayload);
    },
  };
}

describe('membership confirmation', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function running() {
    const kafka = standIn();
    const adapter = new KafkaLogConsumer(kafka.consumer, {
      groupId: 'g',
      topics: ['t'],
      fromBeginning: true,
    });
    await adapter.run(() => undefined);
    kafka.emit('group_join');
    await kafka.deliver();
    return { kafka, adapter };
  }

  it('is confirmed by a join or an answered heartbeat within the interval', async () => {
    const { kafka, adapter } = await running();
    kafka.beats('skipped');
    await expect(adapter.confirmMembership()).resolves.toBeUndefined();
    vi.advanceTimersByTime(5_000);
    kafka.beats('answered');
    await expect(adapter.confirmMembership()).resolves.toBeUndefined();
  });

  it('is refused when kafkajs skipped the heartbeat and none was answered within the interval', async () => {
    const { kafka, adapter } = await running();
    // Evicted: kafkajs cleared its member id and skips heartbeats without an error.
    vi.advanceTimersByTime(14_000);
    kafka.beats('skipped');
    await expect(adapter.confirmMembership()).rejects.toThrow(/membership not confirmed/);
  });

  it('is refused after a failed heartbeat until one is answered again', async () => {
    const { kafka, adapter } = await running();
    kafka.beats('failed');
    vi.advanceTimersByTime(100);
    await expect(adapter.confirmMembership()).rejects.toThrow(/UNKNOWN_MEMBER_ID/);
    // Within the interval of the last answer, but after the failure.
    vi.advanceTimersByTime(100);
    kafka.beats('skipped');
    await expect(adapter.confirmMembership()).rejects.toThrow(/membership not confirmed/);
    kafka.beats('answered');
    await expect(adapter.confirmMembership()).resolves.toBeUndefined();
  });
});
