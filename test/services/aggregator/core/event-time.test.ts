import { describe, expect, it } from 'vitest';
import { DynabError } from '../../../../lib/errors/catalogue.ts';
import { checkLabelEventTime } from '../../../../services/aggregator/core/event-time.ts';
import { labelReceived } from '../../../support/fixtures.ts';

const BROKER_TIME = 1_700_000_000_000;
const ALLOWANCE_MS = 60_000;

describe('checkLabelEventTime', () => {
  it('accepts event times up to the broker timestamp plus the allowance, and any earlier one', () => {
    for (const eventTime of [
      0,
      BROKER_TIME - 86_400_000,
      BROKER_TIME,
      BROKER_TIME + ALLOWANCE_MS,
    ]) {
      expect(() => {
        checkLabelEventTime(labelReceived({ eventTime }), BROKER_TIME, ALLOWANCE_MS);
      }).not.toThrow();
    }
  });

  it('rejects an event time 1 ms beyond the allowance with INVALID_FIELD and the numbers', () => {
    const label = labelReceived({ eventTime: BROKER_TIME + ALLOWANCE_MS + 1 });
    let thrown: unknown;
    try {
      checkLabelEventTime(label, BROKER_TIME, ALLOWANCE_MS);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DynabError);
    expect((thrown as DynabError).code).toBe('INVALID_FIELD');
    expect((thrown as DynabError).message).toContain(`${ALLOWANCE_MS + 1} ms after`);
    expect((thrown as DynabError).message).toContain(label.requestId);
  });

  it('with no allowance, rejects anything after the broker timestamp', () => {
    expect(() => {
      checkLabelEventTime(labelReceived({ eventTime: BROKER_TIME + 1 }), BROKER_TIME, 0);
    }).toThrow(DynabError);
  });
});
