// The table reader on the real broker: it catches up on compacted topics whose last offset is a
// transaction marker, which a read-committed consumer never sees as a record.
import { describe, expect, it, onTestFinished } from 'vitest';
import { startTableReader } from '../../../lib/stream/table-reader.ts';
import { openTestEventLog, uniqueName, waitFor } from '../../support/kafka-test-kit.ts';

describe('table reader', () => {
  it('catches up on a topic that ends in a commit marker', async () => {
    const log = openTestEventLog();
    onTestFinished(() => log.close());
    const topic = uniqueName('table');
    await log.ensureTopics([{ name: topic, partitions: 1, compacted: true }]);
    const producer = await log.createProducer({ transactionalId: uniqueName('tx') });
    onTestFinished(() => producer.close());
    await producer.sendWithOffsets(
      [
        { topic, key: 'a', value: Buffer.from('1') },
        { topic, key: 'b', value: Buffer.from('2') },
      ],
      uniqueName('group'),
      [],
    );
    // Two records and their commit marker: the end offset is 3, the last record is at 1.
    // The broker writes the marker after answering the commit.
    await waitFor('the commit marker', async () =>
      (await log.fetchOffsets(topic))[0]?.high === '3' ? true : undefined,
    );

    const reader = await startTableReader({
      eventLog: log,
      topic,
      decode: (r) => r.value?.toString() ?? '',
      groupPrefix: uniqueName('reader'),
    });
    onTestFinished(() => reader.stop());
    await reader.waitForCatchUp(10_000);
    expect([...reader.values()]).toEqual(['1', '2']);
  });
});
