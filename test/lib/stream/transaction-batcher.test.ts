import { describe, expect, it } from 'vitest';
import type {
  LogProducer,
  OutRecord,
  TopicPartitionOffset,
} from '../../../lib/event-log/event-log.ts';
import { createTransactionBatcher, mergeOffsets } from '../../../lib/stream/transaction-batcher.ts';

interface Sent {
  readonly records: readonly OutRecord[];
  readonly offsets: readonly TopicPartitionOffset[];
}

/** A producer whose transactions complete only when the test says so. */
function gatedProducer(): {
  producer: LogProducer;
  sent: Sent[];
  finish: (error?: Error) => void;
  waitForTransactions: (n: number) => Promise<void>;
} {
  const sent: Sent[] = [];
  const gates: ((error?: Error) => void)[] = [];
  const waiters: (() => void)[] = [];
  const producer: LogProducer = {
    send: () => Promise.resolve(),
    sendWithOffsets(records, _groupId, offsets) {
      sent.push({ records, offsets });
      for (const wake of waiters.splice(0)) wake();
      return new Promise<readonly TopicPartitionOffset[]>((resolve, reject) => {
        gates.push((error) => (error === undefined ? resolve([]) : reject(error)));
      });
    },
    close: () => Promise.resolve(),
  };
  return {
    producer,
    sent,
    finish(error) {
      const gate = gates.shift();
      if (gate === undefined) throw new Error('no transaction in flight');
      gate(error);
    },
    async waitForTransactions(n) {
      while (sent.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

const record = (value: string): OutRecord => ({
  topic: 'out',
  key: value,
  value: Buffer.from(value),
});
const offset = (partition: number, next: number): TopicPartitionOffset => ({
  topic: 'in',
  partition,
  offset: String(next),
});

describe('transaction batcher', () => {
  it('puts the batches that are ready together into one transaction', async () => {
    const gate = gatedProducer();
    const batcher = createTransactionBatcher({ producer: gate.producer, groupId: 'g' });
    const done = [
      batcher.submit([record('a')], [offset(0, 10)]),
      batcher.submit([record('b'), record('c')], [offset(1, 5)]),
      batcher.submit([], [offset(2, 7)]),
    ];
    await gate.waitForTransactions(1);
    gate.finish();
    await Promise.all(done);
    expect(gate.sent).toHaveLength(1);
    expect(gate.sent[0]?.records.map((r) => r.key)).toEqual(['a', 'b', 'c']);
    expect(gate.sent[0]?.offsets).toEqual([offset(0, 10), offset(1, 5), offset(2, 7)]);
    expect(batcher.stats).toEqual({ transactions: 1, submissions: 3, records: 3 });
  });

  it('queues what arrives during a transaction for the next one, which starts at once', async () => {
    const gate = gatedProducer();
    const batcher = createTransactionBatcher({ producer: gate.producer, groupId: 'g' });
    let firstDone = false;
    const first = batcher.submit([record('a')], [offset(0, 1)]).then(() => (firstDone = true));
    await gate.waitForTransactions(1);
    const second = batcher.submit([record('b')], [offset(0, 2)]);
    const third = batcher.submit([record('c')], [offset(1, 9)]);
    expect(gate.sent).toHaveLength(1);
    gate.finish();
    await first;
    expect(firstDone).toBe(true);
    await gate.waitForTransactions(2);
    expect(gate.sent[1]?.records.map((r) => r.key)).toEqual(['b', 'c']);
    gate.finish();
    await Promise.all([second, third]);
    expect(batcher.stats.transactions).toBe(2);
  });

  it('rejects every submission of a failed transaction and none of the next one', async () => {
    const gate = gatedProducer();
    const batcher = createTransactionBatcher({ producer: gate.producer, groupId: 'g' });
    const failedA = batcher.submit([record('a')], [offset(0, 1)]);
    const failedB = batcher.submit([record('b')], [offset(1, 1)]);
    await gate.waitForTransactions(1);
    const later = batcher.submit([record('c')], [offset(2, 1)]);
    gate.finish(new Error('fenced'));
    await expect(failedA).rejects.toThrow('fenced');
    await expect(failedB).rejects.toThrow('fenced');
    await gate.waitForTransactions(2);
    gate.finish();
    await expect(later).resolves.toBeUndefined();
    expect(batcher.stats).toEqual({ transactions: 1, submissions: 1, records: 1 });
  });

  it('starts again after going idle', async () => {
    const gate = gatedProducer();
    const batcher = createTransactionBatcher({ producer: gate.producer, groupId: 'g' });
    const first = batcher.submit([record('a')], [offset(0, 1)]);
    await gate.waitForTransactions(1);
    gate.finish();
    await first;
    const second = batcher.submit([record('b')], [offset(0, 2)]);
    await gate.waitForTransactions(2);
    gate.finish();
    await second;
    expect(gate.sent.map((s) => s.offsets)).toEqual([[offset(0, 1)], [offset(0, 2)]]);
  });
});

describe('mergeOffsets', () => {
  it('keeps one entry per topic-partition with the highest next offset', () => {
    expect(
      mergeOffsets([
        offset(0, 5),
        offset(1, 3),
        offset(0, 12),
        offset(0, 7),
        { ...offset(0, 2), topic: 'other' },
      ]),
    ).toEqual([offset(0, 12), offset(1, 3), { ...offset(0, 2), topic: 'other' }]);
  });

  it('compares offsets as 64-bit integers, not strings', () => {
    expect(mergeOffsets([offset(0, 9), offset(0, 10)])).toEqual([offset(0, 10)]);
  });

  it('starts no transaction and rejects its submissions when beforeCommit throws', async () => {
    const { producer, sent } = gatedProducer();
    let member = false;
    const batcher = createTransactionBatcher({
      producer,
      groupId: 'g',
      beforeCommit: () =>
        member ? Promise.resolve() : Promise.reject(new Error('UNKNOWN_MEMBER_ID')),
    });
    await expect(batcher.submit([record('a')], [offset(0, 1)])).rejects.toThrow(
      'UNKNOWN_MEMBER_ID',
    );
    expect(sent).toEqual([]);
    member = true;
    const accepted = batcher.submit([record('b')], [offset(0, 2)]);
    await expect.poll(() => sent.length).toBe(1);
    expect(sent[0]?.records).toEqual([record('b')]);
    void accepted.catch(() => undefined);
  });
});
