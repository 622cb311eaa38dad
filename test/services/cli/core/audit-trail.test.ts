import { describe, expect, it } from 'vitest';
import type { DeadLettered, RewardResolved } from '../../../../lib/contracts/events.ts';
import {
  buildAuditTrail,
  formatAuditTrail,
  type AuditInput,
  type Found,
} from '../../../../services/cli/core/audit-trail.ts';
import { parsePosition, parseTime } from '../../../../services/cli/core/time-range.ts';
import { labelReceived, predictionMade } from '../../../support/fixtures.ts';

const T = 1_700_000_000_000;
const found = <T>(topic: string, offset: number, value: T): Found<T> => ({
  topic,
  partition: 1,
  offset: String(offset),
  timestamp: T + offset,
  value,
});
const reward = (overrides: Partial<RewardResolved> = {}): RewardResolved => ({
  requestId: 'req-1',
  experiment: 'spam-filter',
  variant: 'model-a',
  reward: 1,
  propensity: 0.25,
  resolution: 'label',
  predictionTime: T,
  labelTime: T + 5_000,
  labelSource: 'app',
  resolvedAt: T + 6_000,
  policy: 'thompson-sampling',
  snapshotVersion: 7,
  experimentRevision: 1,
  ...overrides,
});
const input = (overrides: Partial<AuditInput> = {}): AuditInput => ({
  requestId: 'req-1',
  partition: 1,
  partitions: 4,
  sliceStart: T - 3_600_000,
  sliceEnd: T + 3_600_000,
  slices: [{ topic: 'rewards', partition: 1, from: '0', until: '9', low: '0' }],
  requests: [],
  assignments: [],
  predictions: [],
  labels: [],
  rewards: [],
  lateLabels: [],
  deadLetters: [],
  unreadable: [],
  ...overrides,
});

describe('audit trail', () => {
  it('resolves by label, and notes a later late label', () => {
    const trail = buildAuditTrail(
      input({
        predictions: [found('predictions', 3, predictionMade())],
        labels: [found('labels', 4, labelReceived())],
        rewards: [found('rewards', 5, reward())],
        lateLabels: [found('late-labels', 6, reward({ resolution: 'late', reward: 0 }))],
      }),
    );
    expect(trail.outcome).toBe('label');
    expect(trail.explanation).toContain('1 later label(s) came after the window');
    expect(trail.warnings).toEqual([]);
    expect(formatAuditTrail(trail)).toContain(
      'decided under policy thompson-sampling, experiment revision 1, snapshot version 7',
    );
  });

  it('names implicit, late-only, orphan, failed and not-found outcomes', () => {
    expect(
      buildAuditTrail(input({ rewards: [found('rewards', 1, reward({ resolution: 'implicit' }))] }))
        .outcome,
    ).toBe('implicit');
    expect(
      buildAuditTrail(input({ lateLabels: [found('late', 1, reward({ resolution: 'late' }))] }))
        .outcome,
    ).toBe('late');
    const orphan: DeadLettered = {
      sourceTopic: 'labels',
      sourcePartition: 1,
      sourceOffset: '4',
      key: null,
      value: null,
      errorCode: 'ORPHAN_LABEL',
      reason: 'no prediction',
      service: 'aggregator',
      failedAt: T,
    };
    expect(buildAuditTrail(input({ deadLetters: [found('dead', 0, orphan)] })).outcome).toBe(
      'orphan',
    );
    const failed = predictionMade({ error: { code: 'MODEL_ERROR', message: 'boom' } });
    expect(buildAuditTrail(input({ predictions: [found('p', 0, failed)] })).outcome).toBe('failed');
    expect(buildAuditTrail(input()).outcome).toBe('not-found');
  });

  it('says what retention removed when the slice starts at the log start', () => {
    const trail = buildAuditTrail(
      input({
        slices: [{ topic: 'requests', partition: 1, from: '120', until: '130', low: '120' }],
      }),
    );
    expect(trail.retention).toEqual([
      'requests partition 1: the log now starts at offset 120; the 120 records before it were removed (retention), so part of the slice may be missing',
    ]);
    expect(trail.explanation).toContain('retention has removed part of it');
    expect(buildAuditTrail(input()).retention).toEqual([]);
  });

  it('warns when the reward names another decision than the prediction', () => {
    const trail = buildAuditTrail(
      input({
        predictions: [found('predictions', 3, predictionMade())],
        rewards: [found('rewards', 5, reward({ variant: 'model-b' }))],
      }),
    );
    expect(trail.warnings).toEqual([
      'reward at offset 5 credits model-b, the prediction was answered by model-a',
    ]);
  });
});

describe('times and positions', () => {
  it('reads ISO, epoch ms, now and durations before now', () => {
    expect(parseTime('2023-11-14T22:13:20Z', 0)).toBe(T);
    expect(parseTime(String(T), 0)).toBe(T);
    expect(parseTime('now', T)).toBe(T);
    expect(parseTime('-2h', T)).toBe(T - 7_200_000);
    expect(() => parseTime('yesterday', T)).toThrow(/not a time/);
    expect(parsePosition('offset:42', T)).toEqual({ kind: 'offset', offset: 42n });
    expect(parsePosition('-1h', T)).toEqual({ kind: 'time', time: T - 3_600_000 });
  });
});
