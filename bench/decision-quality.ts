// The decision-quality scorecard (`npm run bench -- decisions-quality`): each goal's rule run
// through dynab's own routing and decider code (bench/decision-simulation.ts), seeded, with
// rewards one snapshot late and the rule checked at every snapshot. Per rule it reports A/A
// false winners, correct and stopped rates at real gaps, samples at the stop against the
// Garivier–Kaufmann lower bound and the fixed-horizon size at matched error, regret against the
// Lai–Robbins value, and the reported P(best) at the stop against the observed accuracy. Rates
// carry Wilson 95% intervals. The rewards routed between two snapshots are folded in before the
// next plan is built (delaySnapshots = 1: the plan never sees its own interval's rewards). Pure:
// the printing is bench/run.ts's.
import { normalQuantile } from '../lib/bandit/normal-distribution.ts';
import type { StoppingConfig } from '../lib/contracts/events.ts';
import {
  CHAMPION_CHALLENGER,
  defineExperiment,
  EXPERIMENT_DEFAULTS,
} from '../lib/contracts/experiment-defaults.ts';
import { bernoulliDivergence } from '../lib/stats/glr.ts';
import { simulateRuns, type RunOutcome, type SimulationCase } from './decision-simulation.ts';

export interface QualityOptions {
  /** Seeded runs per cell. */
  readonly runs: number;
  /** Requests per run for the stopping cells. */
  readonly horizon: number;
  /** Requests per run for the regret cell (no stopping). */
  readonly regretHorizon: number;
  readonly snapshotEvery: number;
  readonly delta: number;
  /** Tolerance of the expected-loss rule. */
  readonly tolerance: number;
  readonly minRewards: number;
  readonly firstSeed: number;
}

export const DEFAULT_QUALITY_OPTIONS: QualityOptions = {
  runs: 200,
  horizon: 20_000,
  regretHorizon: 100_000,
  snapshotEvery: 500,
  delta: 0.05,
  tolerance: 0.001,
  minRewards: 100,
  firstSeed: 1,
};

/** A/A rates, and the gaps checked for correct winners (the second is the SageMaker workshop's). */
export const AA_RATES = [0.3, 0.3] as const;
export const GAPS: readonly (readonly [number, number])[] = [
  [0.3, 0.4],
  [0.63, 0.71],
];

export interface Rate {
  readonly value: number;
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly of: number;
}

export interface GapScore {
  readonly rates: readonly [number, number];
  readonly stopped: Rate;
  readonly correct: Rate;
  readonly medianSamples: number | null;
  readonly gkBound: number;
  readonly fixedHorizon: number;
  /** Mean reported P(best) of the chosen variant at the stop (null when nothing stopped). */
  readonly meanReportedProbabilityBest: number | null;
}

export interface RuleScore {
  readonly rule: string;
  readonly goal: string;
  readonly aaFalseWinner: Rate;
  /** A/A runs in which some reported P(best) reached 0.95 (what the old rule would declare). */
  readonly aaProbabilityBestCrossed: Rate;
  readonly gaps: readonly GapScore[];
  /** Mean regret over the Lai–Robbins value at the regret horizon (null when not measured). */
  readonly regretOverLaiRobbins: number | null;
}

/** Wilson score interval at 95% for count successes out of n. */
export function wilson(count: number, n: number): Rate {
  if (n === 0) return { value: Number.NaN, lower: 0, upper: 1, count, of: n };
  const z = 1.959963984540054;
  const p = count / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z / (1 + (z * z) / n)) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
  return {
    value: p,
    lower: Math.max(0, centre - half),
    upper: Math.min(1, centre + half),
    count,
    of: n,
  };
}

/**
 * The Garivier–Kaufmann (2016, Theorem 1) lower bound on the expected samples of any δ-correct
 * rule for two Bernoulli arms: T*(μ) · kl(δ, 1 − δ), with
 *   1/T*(μ) = max_w [w d(μ₁, m_w) + (1 − w) d(μ₂, m_w)],  m_w = w μ₁ + (1 − w) μ₂
 * (for two arms the alternative is the equal-means point m_w). Maximised on a grid of w.
 */
export function gkLowerBound(rates: readonly [number, number], delta: number): number {
  const [a, b] = rates;
  let best = 0;
  for (let i = 1; i < 1000; i++) {
    const w = i / 1000;
    const m = w * a + (1 - w) * b;
    best = Math.max(best, w * bernoulliDivergence(a, m) + (1 - w) * bernoulliDivergence(b, m));
  }
  return bernoulliDivergence(delta, 1 - delta) / best;
}

/**
 * Total samples of a fixed-horizon two-proportion z-test with both error kinds at δ (two-sided
 * level δ, power 1 − δ), equal allocation:
 *   n per arm = (z_{1−δ/2} + z_{1−δ})² (p₁(1 − p₁) + p₂(1 − p₂)) / (p₁ − p₂)².
 */
export function fixedHorizonSize(rates: readonly [number, number], delta: number): number {
  const [a, b] = rates;
  const z = normalQuantile(1 - delta / 2) + normalQuantile(1 - delta);
  return 2 * Math.ceil((z * z * (a * (1 - a) + b * (1 - b))) / ((a - b) * (a - b)));
}

/** The Lai–Robbins asymptotic regret Σ_{a suboptimal} Δ_a ln T / d(μ_a, μ*) for Bernoulli arms. */
export function laiRobbinsRegret(rates: readonly number[], horizon: number): number {
  const best = Math.max(...rates);
  return rates.reduce(
    (sum, r) =>
      r < best ? sum + ((best - r) * Math.log(horizon)) / bernoulliDivergence(r, best) : sum,
    0,
  );
}

function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? 0)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** The rules on the scorecard: each goal's sound rule. */
export function scorecardRules(o: QualityOptions): { goal: string; stopping: StoppingConfig }[] {
  const base = { ...EXPERIMENT_DEFAULTS.stopping, minRewards: o.minRewards, autoPromote: true };
  return [
    { goal: 'decide', stopping: { ...base, goal: 'decide', rule: 'glr', threshold: 1 - o.delta } },
    {
      goal: 'earn',
      stopping: { ...base, goal: 'earn', rule: 'expected-loss', tolerance: o.tolerance },
    },
  ];
}

function simulationCase(
  stopping: StoppingConfig,
  rates: readonly number[],
  horizon: number,
  o: QualityOptions,
): SimulationCase {
  return {
    experiment: defineExperiment({
      experiment: 'scorecard',
      variants: CHAMPION_CHALLENGER,
      updatedAt: 0,
      stopping,
    }),
    rates,
    horizon,
    snapshotEvery: o.snapshotEvery,
    delaySnapshots: 1,
  };
}

function scoreGap(
  stopping: StoppingConfig,
  rates: readonly [number, number],
  o: QualityOptions,
  seed: number,
): GapScore {
  const runs = simulateRuns(simulationCase(stopping, rates, o.horizon, o), o.runs, seed);
  const stopped = runs.filter((r) => r.decision !== null);
  const better = rates[1] > rates[0] ? 1 : 0;
  const reported = stopped
    .map((r) => r.probabilityBestAtStop)
    .filter((p): p is number => p !== null);
  return {
    rates,
    stopped: wilson(stopped.length, runs.length),
    correct: wilson(stopped.filter((r) => r.chosen === better).length, stopped.length),
    medianSamples: median(stopped.map((r) => r.requests)),
    gkBound: gkLowerBound(rates, o.delta),
    fixedHorizon: fixedHorizonSize(rates, o.delta),
    meanReportedProbabilityBest:
      reported.length === 0 ? null : reported.reduce((a, b) => a + b, 0) / reported.length,
  };
}

/** Regret of the goal's allocation with no stopping, over the Lai–Robbins value. */
function regretRatio(goal: string, o: QualityOptions, seed: number): number {
  const rates = GAPS[1] ?? [0.63, 0.71];
  const stopping: StoppingConfig = {
    ...EXPERIMENT_DEFAULTS.stopping,
    goal: goal === 'decide' ? 'decide' : 'earn',
  };
  const runs: RunOutcome[] = simulateRuns(
    simulationCase(stopping, rates, o.regretHorizon, o),
    Math.max(1, Math.round(o.runs / 4)),
    seed,
  );
  const mean = runs.reduce((sum, r) => sum + r.regret, 0) / runs.length;
  return mean / laiRobbinsRegret(rates, o.regretHorizon);
}

/** The whole scorecard (see the header); seeds are firstSeed + 10,000 · cell. */
export function runDecisionQuality(o: QualityOptions = DEFAULT_QUALITY_OPTIONS): RuleScore[] {
  return scorecardRules(o).map(({ goal, stopping }, i) => {
    const seed = (cell: number): number => o.firstSeed + 10_000 * (10 * i + cell);
    const aa = simulateRuns(simulationCase(stopping, AA_RATES, o.horizon, o), o.runs, seed(0));
    return {
      rule: stopping.rule,
      goal,
      aaFalseWinner: wilson(aa.filter((r) => r.decision?.kind === 'winner').length, aa.length),
      aaProbabilityBestCrossed: wilson(
        aa.filter((r) => r.probabilityBestCrossed95).length,
        aa.length,
      ),
      gaps: GAPS.map((rates, g) => scoreGap(stopping, rates, o, seed(1 + g))),
      regretOverLaiRobbins: goal === 'earn' ? regretRatio(goal, o, seed(9)) : null,
    };
  });
}

/** One JSON object per rule, for scripts (the fields the issue names, first gap ≥ the MDE). */
export function scorecardJson(score: RuleScore): Record<string, unknown> {
  const gap = score.gaps[0];
  return {
    rule: score.rule,
    goal: score.goal,
    aaFalseWinnerRate: score.aaFalseWinner.value,
    correctRate: gap?.correct.value ?? null,
    stoppedRate: gap?.stopped.value ?? null,
    // Only a δ-correct rule is measured against the bound for δ-correct rules.
    medianSamplesOverGKBound:
      score.goal !== 'decide' || gap?.medianSamples === null || gap === undefined
        ? null
        : gap.medianSamples / gap.gkBound,
    regretOverLaiRobbins: score.regretOverLaiRobbins,
  };
}
