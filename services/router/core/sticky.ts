// Sticky assignment by user id. Instead of a fresh random draw, a user's position u in [0, 1)
// is a hash of (experiment, user id), and the variant is the one whose slice of the plan's
// cumulative probabilities contains u. The same user therefore gets the same variant for as long
// as the allocation does not move the slice boundary past their position; when the bandit
// shifts traffic, only the users between the old and the new boundary move (the fewest that any
// assignment with these shares can move when slices keep their order). Across users the
// decisions have the plan's distribution, so the logged propensity is still the plan's
// probability of the chosen variant (over users, not over draws). Pure.
import type { Decision, RoutingPlan } from '../../../lib/bandit/policies.ts';

/** The plan's variant for this user: a deterministic function of experiment, user and plan. */
export function stickyDecision(plan: RoutingPlan, experiment: string, userId: string): Decision {
  const u = userPosition(experiment, userId);
  let cumulative = 0;
  let last: Decision | null = null;
  for (let i = 0; i < plan.variants.length; i++) {
    const variant = plan.variants[i];
    const probability = plan.probabilities[i] ?? 0;
    if (variant === undefined || probability <= 0) continue;
    last = { variant, propensity: probability };
    cumulative += probability;
    if (u < cumulative) return last;
  }
  // Rounding can leave the cumulative sum a hair below 1: the last positive slice takes the rest.
  if (last === null) throw new RangeError('routing plan has no variant with positive probability');
  return last;
}

/**
 * A uniform position in [0, 1) from 52 bits of two independent 32-bit FNV-1a hashes (different
 * offsets) of the UTF-16 code units of experiment + NUL + user id.
 */
export function userPosition(experiment: string, userId: string): number {
  const text = `${experiment}\u0000${userId}`;
  let h1 = 0x811c9dc5;
  let h2 = 0x050c5d1f;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193) >>> 0;
  }
  // Final avalanche so nearby ids spread over the whole interval.
  h1 = avalanche(h1);
  h2 = avalanche(h2 ^ h1);
  return (h1 * 2 ** 20 + (h2 >>> 12)) / 2 ** 52;
}

function avalanche(h: number): number {
  let x = h >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}
