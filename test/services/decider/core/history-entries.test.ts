import { describe, expect, it } from 'vitest';
import type { ExperimentStatistics } from '../../../../lib/contracts/events.ts';
import {
  foldHistory,
  historyEntries,
  type HistoryInputs,
} from '../../../../services/decider/core/history-entries.ts';
import { experimentDefined } from '../../../support/fixtures.ts';

const T = 1_700_000_000_000;
const statistics = {
  variants: [],
  stopping: { rule: 'none', detail: '' },
} as unknown as ExperimentStatistics;
const even = [
  { variant: 'model-a', probability: 0.5 },
  { variant: 'model-b', probability: 0.5 },
];
const inputs = (overrides: Partial<HistoryInputs> = {}): HistoryInputs => ({
  experiment: experimentDefined(),
  statistics,
  posteriorVersion: 10,
  plan: { policy: 'thompson-sampling', reason: 'posterior', allocation: even },
  decision: null,
  now: T,
  minIntervalMs: 60_000,
  ...overrides,
});

describe('experiment history entries', () => {
  it('records the first revision, posterior and plan, then only what changed, at most once per interval', () => {
    const first = historyEntries(undefined, inputs());
    expect(first.entries.map((e) => e.kind)).toEqual(['revision', 'posterior', 'plan']);
    // Nothing changed: nothing new.
    expect(historyEntries(first.cursor, inputs({ now: T + 120_000 })).entries).toEqual([]);
    // A newer posterior and another allocation within the interval wait; after it, they go.
    const moved = { allocation: [even[0]!, { variant: 'model-b', probability: 0.5000001 }] };
    const soon = inputs({
      now: T + 1_000,
      posteriorVersion: 11,
      plan: { ...inputs().plan, ...moved },
    });
    const held = historyEntries(first.cursor, soon);
    expect(held.entries).toEqual([]);
    // ...and say when they are due, so the decider looks again then.
    expect(held.retryAt).toBe(T + 60_000);
    expect(first.retryAt).toBeNull();
    const later = historyEntries(first.cursor, { ...soon, now: T + 60_000 });
    expect(later.entries.map((e) => e.kind)).toEqual(['posterior', 'plan']);
  });

  it('always records a revision or a decision, with the posterior and plan beside it', () => {
    const first = historyEntries(undefined, inputs());
    const revised = historyEntries(
      first.cursor,
      inputs({ now: T + 1, posteriorVersion: 12, experiment: experimentDefined({ revision: 2 }) }),
    );
    expect(revised.entries.map((e) => [e.kind, e.revision])).toEqual([
      ['revision', 2],
      ['posterior', 2],
    ]);
  });

  it('rebuilds the cursor from the entries read back', () => {
    const { entries, cursor } = historyEntries(undefined, inputs());
    expect(entries.reduce(foldHistory, undefined)).toEqual(cursor);
  });
});
