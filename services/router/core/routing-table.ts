// The router's view of the world: experiments and the partial posteriors published by the
// aggregators, turned into one routing plan per experiment. A plan is rebuilt only when its
// inputs change and replaced in one assignment, so a request always sees a complete plan and
// never waits for the aggregator. Pure: no I/O, no clock, no randomness.
import {
  planFromWeights,
  planThompsonSampling,
  type RoutingPlan,
} from '../../../lib/bandit/policies.ts';
import { mergePartialCounts, type PartialCounts } from '../../../lib/bandit/posterior.ts';
import type {
  ExperimentDefined,
  PolicyName,
  PosteriorPublished,
} from '../../../lib/contracts/events.ts';

export interface ExperimentRoute {
  readonly experiment: ExperimentDefined;
  readonly plan: RoutingPlan;
  readonly policy: PolicyName;
  readonly reason: string;
  /** Sum of the partial versions merged into the plan; -1 when no posterior was used. */
  readonly snapshotVersion: number;
}

/** Decides how an experiment routes, given the partial posteriors known for it. */
export function buildExperimentRoute(
  experiment: ExperimentDefined,
  partials: readonly PosteriorPublished[],
): ExperimentRoute {
  const variants = experiment.variants.map((v) => v.name);
  if (experiment.policy === 'static-weights' || experiment.state !== 'running') {
    return {
      experiment,
      plan: planFromWeights(experiment.variants),
      policy: 'static-weights',
      reason: experiment.state === 'running' ? 'static-weights' : `experiment ${experiment.state}`,
      snapshotVersion: -1,
    };
  }
  const counts = mergePartialCounts(
    partials.map((p): PartialCounts => ({ partition: p.partition, variants: p.variants })),
    variants,
  );
  const snapshotVersion =
    partials.length === 0 ? -1 : partials.reduce((sum, p) => sum + p.version, 0);
  const starving = counts.filter((c) => c.count < experiment.warmUpRewards);
  if (starving.length > 0) {
    // Warm-up (as in the SageMaker A/B sample and GrowthBook): the posterior of a variant with
    // almost no data is mostly prior, so traffic follows the configured weights until every
    // variant has the minimum number of resolved rewards.
    return {
      experiment,
      plan: planFromWeights(experiment.variants),
      policy: 'static-weights',
      reason: `warm-up: ${starving.map((c) => `${c.variant} ${c.count}/${experiment.warmUpRewards}`).join(', ')}`,
      snapshotVersion,
    };
  }
  return {
    experiment,
    plan: planThompsonSampling(counts, {
      alpha: experiment.priorAlpha,
      beta: experiment.priorBeta,
    }),
    policy: 'thompson-sampling',
    reason: 'posterior',
    snapshotVersion,
  };
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

  applyExperiment(name: string, definition: ExperimentDefined | null): void {
    if (definition === null) {
      this.experiments.delete(name);
      this.routes.delete(name);
      return;
    }
    this.experiments.set(name, definition);
    this.rebuild(name);
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
