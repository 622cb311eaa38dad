// The router's view of the world: experiments and the partial posteriors published by the
// aggregators, turned into one routing plan per experiment. A plan is rebuilt only when its
// inputs change and replaced in one assignment, so a request always sees a complete plan and
// never waits for the aggregator. Pure: no I/O, no clock, no randomness.
import { decayedBetaCounts } from '../../../lib/bandit/discount.ts';
import {
  applyForcedExploration,
  applyProbabilityFloor,
  planEpsilonGreedy,
  planFromWeights,
  planGaussianThompson,
  planThompsonSampling,
  planTopTwo,
  planUcb1,
  type RewardSums,
  type RoutingPlan,
} from '../../../lib/bandit/policies.ts';
import type {
  ExperimentDefined,
  PolicyName,
  PosteriorPublished,
  VariantConfig,
  VariantProbability,
} from '../../../lib/contracts/events.ts';
import { championOf, isBalancedPair } from '../../../lib/contracts/experiment-defaults.ts';
import { experimentProblems } from '../../../lib/contracts/validate-experiment.ts';
import {
  emptyTotals,
  mergeExperimentTotals,
  type VariantTotals,
} from '../../../lib/contracts/posterior-totals.ts';

export interface ExperimentRoute {
  readonly experiment: ExperimentDefined;
  readonly plan: RoutingPlan;
  readonly policy: PolicyName;
  readonly reason: string;
  /** Sum of the partial versions merged into the plan; -1 when no posterior was used. */
  readonly snapshotVersion: number;
  /** The plan as logged on every decision: each variant with its probability (built once). */
  readonly allocation: readonly VariantProbability[];
}

/** Decides how an experiment routes, given the partial posteriors known for it. */
export function buildExperimentRoute(
  experiment: ExperimentDefined,
  partials: readonly PosteriorPublished[],
): ExperimentRoute {
  const fixed = (
    plan: RoutingPlan,
    reason: string,
    snapshotVersion = -1,
    policy: PolicyName = 'static-weights',
  ): ExperimentRoute => ({
    experiment,
    plan,
    policy,
    reason,
    snapshotVersion,
    allocation: Object.freeze(
      plan.variants.map((variant, i) => ({ variant, probability: plan.probabilities[i] ?? 0 })),
    ),
  });
  const only = (winner: string): RoutingPlan =>
    planFromWeights(
      experiment.variants.map((v) => ({ name: v.name, weight: v.name === winner ? 1 : 0 })),
    );

  switch (experiment.state) {
    case 'promoted': {
      const winner = experiment.winner ?? championOf(experiment);
      return fixed(only(winner), `experiment promoted: all traffic to ${winner}`);
    }
    case 'stopped': {
      const champion = championOf(experiment);
      return fixed(only(champion), `experiment stopped: all traffic to the champion ${champion}`);
    }
    case 'paused':
      return fixed(planFromWeights(experiment.variants), 'experiment paused: configured weights');
    case 'running':
      break;
  }
  if (experiment.canary !== null) {
    const { challenger, share, rolledBackAt } = experiment.canary;
    const champion = championOf(experiment);
    if (rolledBackAt !== null) {
      return fixed(only(champion), `canary rolled back: ${challenger} gets no traffic`);
    }
    const weights: VariantConfig[] = experiment.variants.map((v) => ({
      name: v.name,
      weight: v.name === challenger ? share : v.name === champion ? 1 - share : 0,
    }));
    return fixed(planFromWeights(weights), `canary: ${challenger} at ${formatShare(share)}`);
  }
  const names = experiment.variants.map((v) => v.name);
  const totals = mergeExperimentTotals(partials, experiment.experiment, experiment.halfLifeMs);
  const byVariant = names.map((name) => [name, totals.served.get(name) ?? emptyTotals()] as const);
  const snapshotVersion = totals.version;
  // A stopping rule that needs minRewards per variant also sees to it that each variant gets
  // them: until then, half the traffic goes to the variants behind (applyForcedExploration).
  const { stopping } = experiment;
  const gated = stopping.rule === 'glr' || stopping.rule === 'expected-loss';
  const behind = gated ? byVariant.filter(([, t]) => t.count < stopping.minRewards) : [];
  const routed = (
    plan: RoutingPlan,
    reason: string,
    version: number,
    policy: PolicyName = 'static-weights',
  ): ExperimentRoute => {
    const floored = applyProbabilityFloor(plan, experiment.probabilityFloor);
    if (behind.length === 0) return fixed(floored, reason, version, policy);
    const explored = applyForcedExploration(
      floored,
      behind.map(([name]) => name),
    );
    const counts = behind.map(([name, t]) => `${name} ${t.count}/${stopping.minRewards}`);
    return fixed(
      explored,
      `${reason}; forced exploration: ${counts.join(', ')}`,
      snapshotVersion,
      policy,
    );
  };
  if (experiment.policy === 'static-weights') {
    return routed(planFromWeights(experiment.variants), 'static-weights', -1);
  }
  if (isBalancedPair(experiment)) {
    // Top-two Thompson sampling with β = 1/2 between two variants sends each request to either
    // with probability exactly 1/2, whatever the posterior. Splitting so from the first request
    // (warm-up and minimum sample included: neither variant can starve) is what the decider's
    // exact balanced-pair test needs (lib/stats/balanced-pair-test.ts).
    const even = experiment.variants.map((v) => ({ name: v.name, weight: 0.5 }));
    return fixed(
      planFromWeights(even),
      'decide: even split (top-two with two variants)',
      snapshotVersion,
      experiment.policy,
    );
  }

  const starving = byVariant.filter(([, t]) => t.count < experiment.warmUpRewards);
  if (starving.length > 0) {
    // Warm-up (as in the SageMaker A/B sample and GrowthBook): the posterior of a variant with
    // almost no data is mostly prior, so traffic follows the configured weights until every
    // variant has the minimum number of resolved rewards.
    return routed(
      planFromWeights(experiment.variants),
      `warm-up: ${starving.map(([name, t]) => `${name} ${t.count}/${experiment.warmUpRewards}`).join(', ')}`,
      snapshotVersion,
    );
  }
  // With a half-life the policy sees the discounted sums; without one, all rewards count fully.
  const sums: RewardSums[] = byVariant.map(([variant, t]) => policySums(variant, t, experiment));
  // Goal decide: the Bayesian policies allocate by top-two Thompson sampling, which keeps
  // sampling the runner-up so the GLR test can stop (plain Thompson sampling starves it).
  const topTwo =
    stopping.goal === 'decide' &&
    (experiment.policy === 'thompson-sampling' ||
      experiment.policy === 'gaussian-thompson-sampling');
  const plan = topTwo ? planTopTwo(planFor(experiment, sums)) : planFor(experiment, sums);
  const reason =
    (experiment.halfLifeMs === null ? 'posterior' : 'posterior (discounted)') +
    (topTwo ? ', top-two' : '');
  return routed(plan, reason, snapshotVersion, experiment.policy);
}

function policySums(variant: string, t: VariantTotals, experiment: ExperimentDefined): RewardSums {
  if (experiment.halfLifeMs === null) {
    // For rewards in [0, 1] the sum is taken from `successes`, which partials written before
    // Σr existed (schema history) also carry.
    return {
      variant,
      weight: t.count,
      rewardSum: experiment.rewardKind === 'unit-interval' ? t.successes : t.rewardSum,
      rewardSumSquares: t.rewardSumSquares,
    };
  }
  return { variant, ...t.decayed };
}

function planFor(experiment: ExperimentDefined, sums: readonly RewardSums[]): RoutingPlan {
  switch (experiment.policy) {
    case 'thompson-sampling':
      return planThompsonSampling(
        sums.map((s) => ({ variant: s.variant, ...decayedBetaCounts(s), count: s.weight })),
        { alpha: experiment.priorAlpha, beta: experiment.priorBeta },
      );
    case 'gaussian-thompson-sampling':
      return planGaussianThompson(sums, {
        mean: experiment.priorMean,
        variance: experiment.priorVariance,
        strength: experiment.priorStrength,
      });
    case 'epsilon-greedy':
      return planEpsilonGreedy(sums, experiment.epsilon);
    case 'ucb1':
      return planUcb1(sums, experiment.ucbExploration);
    case 'static-weights':
      return planFromWeights(experiment.variants);
  }
}

function formatShare(share: number): string {
  return `${(share * 100).toFixed(share < 0.01 ? 2 : 1)}%`;
}

/** Holds the latest route per experiment; updates replace whole routes atomically. */
export class RoutingTable {
  private readonly experiments = new Map<string, ExperimentDefined>();
  private readonly partials = new Map<string, Map<number, PosteriorPublished>>();
  private readonly routes = new Map<string, ExperimentRoute>();

  route(experiment: string): ExperimentRoute | undefined {
    return this.routes.get(experiment);
  }

  experimentNames(): string[] {
    return [...this.experiments.keys()];
  }

  /**
   * Applies a new definition (null deletes the experiment). A definition that breaks the rules
   * of `experimentProblems` is not applied: the previous one keeps routing, and the problems
   * are returned for the caller to report.
   */
  applyExperiment(name: string, definition: ExperimentDefined | null): string[] {
    if (definition === null) {
      this.experiments.delete(name);
      this.routes.delete(name);
      return [];
    }
    const problems = experimentProblems(definition);
    if (problems.length > 0) return problems;
    this.experiments.set(name, definition);
    this.rebuild(name);
    return [];
  }

  applyPosterior(partial: PosteriorPublished): void {
    let byPartition = this.partials.get(partial.experiment);
    if (byPartition === undefined) {
      byPartition = new Map();
      this.partials.set(partial.experiment, byPartition);
    }
    const known = byPartition.get(partial.partition);
    // Versions only grow per (experiment, partition); an older snapshot read late is ignored.
    if (known !== undefined && known.version > partial.version) return;
    byPartition.set(partial.partition, partial);
    this.rebuild(partial.experiment);
  }

  private rebuild(name: string): void {
    const experiment = this.experiments.get(name);
    if (experiment === undefined) return;
    const partials = [...(this.partials.get(name)?.values() ?? [])];
    this.routes.set(name, buildExperimentRoute(experiment, partials));
  }
}
