import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RESTART_POLICY,
  decideRestart,
} from '../../../../services/launcher/core/restart-policy.ts';

const policy = { maxRestarts: 3, windowMs: 60_000, baseDelayMs: 500, maxDelayMs: 1_500 };

describe('decideRestart', () => {
  it('restarts with a doubling delay, capped', () => {
    expect(decideRestart(policy, [], 0)).toEqual({ kind: 'restart', delayMs: 500, attempt: 1 });
    expect(decideRestart(policy, [0], 10)).toEqual({ kind: 'restart', delayMs: 1_000, attempt: 2 });
    expect(decideRestart(policy, [0, 5], 10)).toEqual({
      kind: 'restart',
      delayMs: 1_500,
      attempt: 3,
    });
  });

  it('gives up after maxRestarts within the window', () => {
    expect(decideRestart(policy, [0, 5, 9], 10)).toEqual({ kind: 'give-up', restartsInWindow: 3 });
  });

  it('forgets restarts older than the window', () => {
    expect(decideRestart(policy, [0, 5, 9], 60_009)).toEqual({
      kind: 'restart',
      delayMs: 500,
      attempt: 1,
    });
  });

  it('has a default that restarts a few times a minute', () => {
    expect(DEFAULT_RESTART_POLICY.maxRestarts).toBeGreaterThan(1);
    expect(decideRestart(DEFAULT_RESTART_POLICY, [], 0).kind).toBe('restart');
  });
});
