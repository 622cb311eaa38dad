// When a supervised service dies: restart it after a backoff, unless it has died too often
// lately, in which case restarting again would only hide a fault that does not pass (a bad
// configuration, a broker that is gone), and the launcher gives up and says so. Pure: the caller
// passes the times.

export interface RestartPolicy {
  /** Restarts allowed within `windowMs`; one more exit in that window gives up. */
  readonly maxRestarts: number;
  readonly windowMs: number;
  /** Delay before the first restart in a window, doubled for each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  maxRestarts: 5,
  windowMs: 60_000,
  baseDelayMs: 500,
  maxDelayMs: 10_000,
};

export type RestartDecision =
  | { readonly kind: 'restart'; readonly delayMs: number; readonly attempt: number }
  | { readonly kind: 'give-up'; readonly restartsInWindow: number };

/**
 * Decides what to do about an exit at `now`, given the times of the earlier restarts of the same
 * service (any order). Only restarts within the window count, so a service that dies once a day
 * is restarted every time.
 */
export function decideRestart(
  policy: RestartPolicy,
  restartTimes: readonly number[],
  now: number,
): RestartDecision {
  const recent = restartTimes.filter((t) => now - t < policy.windowMs).length;
  if (recent >= policy.maxRestarts) return { kind: 'give-up', restartsInWindow: recent };
  return {
    kind: 'restart',
    delayMs: Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** recent),
    attempt: recent + 1,
  };
}
