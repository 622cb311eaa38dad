// The bound on a label's event time. Pure.
//
// A partition's watermark is the latest label event time it has seen, and it closes windows. An
// event time is whatever the producer wrote, so one label dated days ahead would close every
// open window of its partition at once. The broker's timestamp of the record bounds it: a label
// may claim an event time at most `allowanceMs` beyond the moment its record was written (clock
// skew between producers and the broker, buffering in the producer), and no further.
//
// Such a label is rejected (dead-lettered with the reason), not clamped to the bound. Clamping
// would count it with an event time nobody observed, and that time decides whether it lands in
// its window or is late: a label with a wrong clock would silently earn or lose its reward. The
// dead letter tells the producer, and a corrected label can still be sent.
import type { LabelReceived } from '../../../lib/contracts/events.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';

/** Throws INVALID_FIELD when the label's event time lies beyond brokerTime + allowanceMs. */
export function checkLabelEventTime(
  label: LabelReceived,
  brokerTime: number,
  allowanceMs: number,
): void {
  const bound = brokerTime + allowanceMs;
  if (label.eventTime > bound) {
    throw new DynabError(
      'INVALID_FIELD',
      `event time ${label.eventTime} of the label for request ${label.requestId} is ${label.eventTime - brokerTime} ms after its record's broker timestamp ${brokerTime}; at most ${allowanceMs} ms are allowed`,
    );
  }
}
