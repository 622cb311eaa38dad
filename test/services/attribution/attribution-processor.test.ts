import { describe, expect, it } from 'vitest';
import { RECORD_LIMITS, utf8Length } from '../../../lib/contracts/record-limits.ts';
import { lastTouchSource } from '../../../services/attribution/attribution-processor.ts';

describe('lastTouchSource', () => {
  it('prefixes the source, and cuts a long one to the label limit', () => {
    expect(lastTouchSource('app-log:mail')).toBe('last-touch/app-log:mail');
    const long = lastTouchSource('é'.repeat(RECORD_LIMITS.sourceBytes));
    expect(long.startsWith('last-touch/é')).toBe(true);
    expect(utf8Length(long)).toBeLessThanOrEqual(RECORD_LIMITS.sourceBytes);
  });
});
