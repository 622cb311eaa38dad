import { describe, expect, it } from 'vitest';
import { isRetriedConcurrentTransaction } from '../../../lib/event-log/kafka-event-log.ts';

describe('isRetriedConcurrentTransaction', () => {
  const text =
    'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';

  it("drops kafkajs's two lines for a retried CONCURRENT_TRANSACTIONS answer", () => {
    expect(isRetriedConcurrentTransaction({ message: `Failed to send messages: ${text}` })).toBe(
      true,
    );
    expect(
      isRetriedConcurrentTransaction({ message: 'Response AddPartitionsToTxn', error: text }),
    ).toBe(true);
  });

  it('keeps every other kafkajs line', () => {
    expect(isRetriedConcurrentTransaction({ message: 'Connection error: ECONNREFUSED' })).toBe(
      false,
    );
    expect(
      isRetriedConcurrentTransaction({
        message: 'Response Produce',
        error: 'Not leader for partition',
      }),
    ).toBe(false);
  });
});
