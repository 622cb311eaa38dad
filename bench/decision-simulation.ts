// A seeded simulation of one experiment through dynab's own decision code: the router's plan
// per posterior snapshot (buildExperimentRoute: warm-up, policy, top-two, floor, forced
// exploration), one alias draw per request (decide), Bernoulli rewards that resolve a fixed
// number of snapshots after their request (delayed labels), and the decider's evaluation
// (evaluateExperiment) at every snapshot, stopping at the first decision. No broker, no clock,
// no Math.random: the run is a function of its case and its seed, so the error rates that the
// unit tests and the decision-quality scorecard report can be reproduced exactly.
import { decide } from '../lib/bandit/policies.ts';
import { createSeededRandom } from '../lib/bandit/random.ts';
import type {
  DecisionMade,
  ExperimentDefined,
  PosteriorPublished,
  VariantCounts,
} from '../lib/contracts/events.ts';
import { mergeExperimentTotals } from '../lib/contracts/posterior-totals.ts';
import { evaluateExperiment } from '../services/decider/core/evaluate.ts';
import { buildExperimentRoute } from '../services/router/core/routing-table.ts';

export interface SimulationCase {
  /** The definition under test: policy, goal, rule, minimum sample, floor, warm-up. */
  readonly experiment: ExperimentDefined;
  /** True success rate of each variant, in the order of `experiment.variants`. */
  readonly rates: readonly number[];
  /** Requests in a run, unless a decision comes first. */
  readonly horizon: number;
  /** Requests between two posterior snapshots (the router's plan is fixed in between). */
  readonly snapshotEvery: number;
  /** A request's reward is folded into the snapshot this many snapshots later (≥ 1). */
  readonly delaySnapshots: number;
}

export interface RunOutcome {
  /** The decision that ended the run, or null when the horizon came first. */
  readonly decision: DecisionMade | null;
  /** Index of the decided variant, or null. */
  readonly chosen: number | null;
  /** Requests routed when the decision was made (the horizon when none was). */
  readonly requests: number;
  /** Rewards folded in when the decision was made (the horizon's when none was). */
  readonly rewards: number;
  /** Σ over requests of (best rate − rate of the routed variant). */
  readonly regret: number;
  /** The leader's reported P(best) at the decision, or null. */
  readonly probabilityBestAtStop: number | null;
  /** Whether the reported P(best) of some variant reached 0.95 at some snapshot. */
  readonly probabilityBestCrossed95: boolean;
  /** Rewards per variant at the end. */
  readonly counts: readonly number[];
  /**
   * The leader (highest reported P(best), first on ties) and its reported P(best) at every
   * snapshot the decider evaluated, in order; the last entry is the stop when there is one.
   */
  readonly leaders: readonly LeaderReport[];
}

export interface LeaderReport {
  /** Index of the leading variant. */
  readonly leader: number;
  /** Its reported P(best). */
  readonly probabilityBest: number;
}

const EPOCH = 1_700_000_000_000;

/** One seeded run of the case (see the header). */
export function simulateRun(sim: SimulationCase, seed: number): RunOutcome {
  const { experiment, rates } = sim;
  const names = experiment.variants.map((v) => v.name);
  if (rates.length !== names.length) throw new RangeError('one rate per variant is needed');
  if (!(sim.delaySnapshots >= 1 && sim.snapshotEvery >= 1)) {
    throw new RangeError('delaySnapshots and snapshotEvery must be ≥ 1');
  }
  const random = createSeededRandom(seed);
  const best = Math.max(...rates);
  const index = new Map(names.map((name, i) => [name, i]));
  const successes = names.map(() => 0);
  const failures = names.map(() => 0);
  const assigned = names.map(() => 0);
  const expected = names.map(() => 0);
  // Rewards routed in one snapshot interval, folded in `delaySnapshots` intervals later.
  const pending: { successes: number[]; failures: number[] }[] = [];
  let requests = 0;
  let regret = 0;
  let crossed = false;
  const leaders: LeaderReport[] = [];
  let snapshot = 0;
  let route = buildExperimentRoute(experiment, []);

  while (requests < sim.horizon) {
    const batch = { successes: names.map(() => 0), failures: names.map(() => 0) };
    const size = Math.min(sim.snapshotEvery, sim.horizon - requests);
    for (let r = 0; r < size; r++) {
      const { variant } = decide(route.plan, random);
      const k = index.get(variant) ?? 0;
      const rate = rates[k] ?? 0;
      assigned[k] = (assigned[k] ?? 0) + 1;
      regret += best - rate;
      if (random() < rate) batch.successes[k] = (batch.successes[k] ?? 0) + 1;
      else batch.failures[k] = (batch.failures[k] ?? 0) + 1;
    }
    route.plan.probabilities.forEach((p, k) => {
      expected[k] = (expected[k] ?? 0) + p * size;
    });
    requests += size;
    pending.push(batch);
    snapshot++;
    if (pending.length >= sim.delaySnapshots) {
      const due = pending.shift();
      due?.successes.forEach((s, k) => (successes[k] = (successes[k] ?? 0) + s));
      due?.failures.forEach((f, k) => (failures[k] = (failures[k] ?? 0) + f));
    }
    const partial = publishedCounts(experiment.experiment, names, snapshot, {
      successes,
      failures,
      assigned,
      expected,
    });
    const now = EPOCH + snapshot * 1_000;
    const totals = mergeExperimentTotals([partial], experiment.experiment, null);
    const { statistics, decision } = evaluateExperiment(experiment, totals, now);
    const pBest = statistics.variants.map((v) => v.probabilityBest);
    const leader = leaderOf(pBest);
    leaders.push({ leader, probabilityBest: pBest[leader] ?? 0 });
    if ((pBest[leader] ?? 0) >= 0.95) crossed = true;
    const counts = names.map((_, k) => (successes[k] ?? 0) + (failures[k] ?? 0));
    if (decision !== null) {
      const chosen = index.get(decision.variant) ?? null;
      return {
        decision,
        chosen,
        requests,
        rewards: counts.reduce((a, b) => a + b, 0),
        regret,
        probabilityBestAtStop: chosen === null ? null : (pBest[chosen] ?? null),
        probabilityBestCrossed95: crossed,
        counts,
        leaders,
      };
    }
    route = buildExperimentRoute(experiment, [partial]);
  }
  const counts = names.map((_, k) => (successes[k] ?? 0) + (failures[k] ?? 0));
  return {
    decision: null,
    chosen: null,
    requests,
    rewards: counts.reduce((a, b) => a + b, 0),
    regret,
    probabilityBestAtStop: null,
    probabilityBestCrossed95: crossed,
    counts,
    leaders,
  };
}

/** Index of the largest value, the first one on ties. */
function leaderOf(values: readonly number[]): number {
  let best = 0;
  values.forEach((v, k) => {
    if (v > (values[best] ?? -Infinity)) best = k;
  });
  return best;
}

/** `runs` runs of the case with seeds firstSeed, firstSeed + 1, …. */
export function simulateRuns(sim: SimulationCase, runs: number, firstSeed: number): RunOutcome[] {
  return Array.from({ length: runs }, (_, i) => simulateRun(sim, firstSeed + i));
}

interface Tallies {
  readonly successes: readonly number[];
  readonly failures: readonly number[];
  readonly assigned: readonly number[];
  readonly expected: readonly number[];
}

/** The aggregator's partial posterior for the counts so far (one partition, no decay). */
function publishedCounts(
  experiment: string,
  names: readonly string[],
  version: number,
  tallies: Tallies,
): PosteriorPublished {
  const variants: VariantCounts[] = names.map((variant, k) => {
    const s = tallies.successes[k] ?? 0;
    const count = s + (tallies.failures[k] ?? 0);
    return {
      variant,
      successes: s,
      failures: tallies.failures[k] ?? 0,
      count,
      implicit: 0,
      dropped: 0,
      late: 0,
      rewardSum: s,
      rewardSumSquares: s,
      assigned: tallies.assigned[k] ?? 0,
      expectedAssigned: tallies.expected[k] ?? 0,
      decayed: { weight: count, rewardSum: s, rewardSumSquares: s },
    };
  });
  return {
    experiment,
    partition: 0,
    variants,
    version,
    publishedAt: EPOCH + version * 1_000,
    decayedAt: 0,
    shadowVariants: [],
  };
}
