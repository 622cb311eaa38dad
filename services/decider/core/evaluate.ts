// What the decider concludes about one experiment from its merged counts: the statistics a
// team reads (posterior means with 95% credible intervals, P(best), expected loss, anytime-valid
// 95% confidence sequences of each mean and of the difference with the champion with their
// anytime p-value, fixed-horizon z-tests kept for reference, a sample-ratio-mismatch check
// against the allocation that was live, and caveats naming what is not anytime-valid),
// the stopping rule's verdict, and the canary guard. Pure: the time is passed in.
//
// Statistics use every reward ever folded in (undiscounted): the discounted sums only steer the
// policy. A decision is made on one revision of the experiment definition; promoting a winner
// or rolling back a canary writes the next revision, so a decision cannot fire twice for the
// same definition.
import { computeProbabilityBest } from '../../../lib/bandit/probability-best.ts';
import { computeNormalProbabilityBest } from '../../../lib/bandit/normal-probability-best.ts';
import { summarisePosterior } from '../../../lib/bandit/posterior.ts';
import type {
  DecisionMade,
  ExperimentDefined,
  ExperimentStatistics,
  SampleRatioCheck,
  VariantStatistics,
} from '../../../lib/contracts/events.ts';
import { championOf, isBalancedPair } from '../../../lib/contracts/experiment-defaults.ts';
import {
  emptyTotals,
  type ExperimentTotals,
  type VariantTotals,
} from '../../../lib/contracts/posterior-totals.ts';
import { probabilityWorseBeta, probabilityWorseNormal } from '../../../lib/stats/canary.ts';
import { sampleRatioMismatch } from '../../../lib/stats/chi-square.ts';
import { expectedLossBeta, expectedLossNormal } from '../../../lib/stats/expected-loss.ts';
import { glrBestArm } from '../../../lib/stats/glr.ts';
import { balancedPairTest } from '../../../lib/stats/balanced-pair-test.ts';
import { normalPosterior } from '../../../lib/stats/normal-posterior.ts';
import { twoProportionZTest, welchZTest, type ZTestResult } from '../../../lib/stats/tests.ts';
import {
  anytimePValue,
  differenceConfidenceSequence,
  meanConfidenceSequence,
  type MeanSample,
} from '../../../lib/stats/confidence-sequence.ts';
import { centredSumOfSquares } from '../../../lib/stats/reward-sums.ts';

/** Below this p-value the observed split is reported as a sample ratio mismatch. */
export const SRM_P_VALUE = 0.001;

export interface Evaluation {
  readonly statistics: ExperimentStatistics;
  /** A new decision, or null. */
  readonly decision: DecisionMade | null;
  /** The next revision of the experiment when the decision changes routing, else null. */
  readonly update: ExperimentDefined | null;
}

interface ArmView {
  readonly variant: string;
  readonly totals: VariantTotals;
  readonly mean: number;
  readonly lower95: number;
  readonly upper95: number;
}

/** Posterior of the reward mean for the experiment's kind of reward. */
interface Posteriors {
  readonly arms: readonly ArmView[];
  readonly probabilityBest: readonly number[];
  readonly expectedLoss: readonly number[];
  /** P(arm b's mean < arm a's mean − margin). */
  probabilityWorse(a: number, b: number, margin: number): number;
  zTest(a: VariantTotals, b: VariantTotals): ZTestResult | null;
  /** The variant's empirical mean and variance proxy for confidence sequences, or null. */
  meanSample(t: VariantTotals): MeanSample | null;
}

function betaPosteriors(
  experiment: ExperimentDefined,
  served: readonly [string, VariantTotals][],
): Posteriors {
  const prior = { alpha: experiment.priorAlpha, beta: experiment.priorBeta };
  const betas = served.map(([, t]) => ({
    alpha: prior.alpha + t.successes,
    beta: prior.beta + t.failures,
  }));
  const arms = served.map(([variant, t]) => {
    const s = summarisePosterior({ variant, ...t }, prior);
    return { variant, totals: t, mean: s.mean, lower95: s.lower95, upper95: s.upper95 };
  });
  return {
    arms,
    probabilityBest: computeProbabilityBest(betas),
    expectedLoss: expectedLossBeta(betas),
    probabilityWorse: (a, b, margin) => probabilityWorseBeta(at(betas, a), at(betas, b), margin),
    zTest: (a, b) =>
      twoProportionZTest(
        { successes: a.successes, trials: a.count },
        { successes: b.successes, trials: b.count },
      ),
    // Rewards in [0, 1]: sub-Gaussian with variance proxy 1/4, exactly.
    meanSample: (t) =>
      t.count > 0 ? { n: t.count, mean: t.successes / t.count, variance: 0.25 } : null,
  };
}

function normalPosteriors(
  experiment: ExperimentDefined,
  served: readonly [string, VariantTotals][],
): Posteriors {
  const prior = {
    mean: experiment.priorMean,
    variance: experiment.priorVariance,
    strength: experiment.priorStrength,
  };
  const posteriors = served.map(([, t]) =>
    normalPosterior({ n: t.count, sum: t.rewardSum, sumSquares: t.rewardSumSquares }, prior),
  );
  const normals = posteriors.map((p) => ({ mean: p.mean, sd: p.sd }));
  return {
    arms: served.map(([variant, t], i) => {
      const p = at(posteriors, i);
      return { variant, totals: t, mean: p.mean, lower95: p.lower95, upper95: p.upper95 };
    }),
    probabilityBest: computeNormalProbabilityBest(normals),
    expectedLoss: expectedLossNormal(normals),
    probabilityWorse: (a, b, margin) =>
      probabilityWorseNormal(at(normals, a), at(normals, b), margin),
    zTest: (a, b) =>
      welchZTest(
        { n: a.count, sum: a.rewardSum, sumSquares: a.rewardSumSquares },
        { n: b.count, sum: b.rewardSum, sumSquares: b.rewardSumSquares },
      ),
    // Real rewards: the sample variance plugged in (approximate; see REAL_REWARD_CAVEAT).
    meanSample: (t) => {
      if (t.count < 2) return null;
      const sums = { n: t.count, sum: t.rewardSum, sumSquares: t.rewardSumSquares };
      const variance = centredSumOfSquares(sums) / (t.count - 1);
      return variance > 0 ? { n: t.count, mean: t.rewardSum / t.count, variance } : null;
    },
  };
}

function posteriorsOf(
  experiment: ExperimentDefined,
  served: readonly [string, VariantTotals][],
): Posteriors {
  return experiment.rewardKind === 'real'
    ? normalPosteriors(experiment, served)
    : betaPosteriors(experiment, served);
}

/** Statistics, and any decision, for one experiment given its merged counts. */
export function evaluateExperiment(
  experiment: ExperimentDefined,
  totals: ExperimentTotals,
  now: number,
): Evaluation {
  const champion = championOf(experiment);
  const served = experiment.variants.map(
    (v) => [v.name, totals.served.get(v.name) ?? emptyTotals()] as [string, VariantTotals],
  );
  const posteriors = posteriorsOf(experiment, served);
  const championIndex = Math.max(
    0,
    served.findIndex(([name]) => name === champion),
  );
  const championTotals = at(served, championIndex)[1];

  const championSample = posteriors.meanSample(championTotals);
  const anytime = (t: VariantTotals, isChampion: boolean) =>
    anytimeStatistics(posteriors.meanSample(t), isChampion ? null : championSample);
  const variants: VariantStatistics[] = posteriors.arms.map((arm, i) => {
    const z = i === championIndex ? null : posteriors.zTest(championTotals, arm.totals);
    return {
      variant: arm.variant,
      shadow: false,
      rewards: arm.totals.count,
      mean: arm.mean,
      lower95: arm.lower95,
      upper95: arm.upper95,
      probabilityBest: at(posteriors.probabilityBest, i),
      expectedLoss: at(posteriors.expectedLoss, i),
      zScore: z?.z ?? null,
      pValue: z?.pValue ?? null,
      assigned: arm.totals.assigned,
      expectedAssigned: arm.totals.expectedAssigned,
      ...anytime(arm.totals, i === championIndex),
    };
  });
  const shadowNames = experiment.shadowVariants;
  if (shadowNames.length > 0) {
    const shadows = shadowNames.map(
      (name) => [name, totals.shadows.get(name) ?? emptyTotals()] as [string, VariantTotals],
    );
    const shadowPosteriors = posteriorsOf(experiment, shadows);
    shadowPosteriors.arms.forEach((arm) => {
      const z = posteriors.zTest(championTotals, arm.totals);
      variants.push({
        variant: arm.variant,
        shadow: true,
        rewards: arm.totals.count,
        mean: arm.mean,
        lower95: arm.lower95,
        upper95: arm.upper95,
        probabilityBest: 0,
        expectedLoss: 0,
        zScore: z?.z ?? null,
        pValue: z?.pValue ?? null,
        assigned: arm.totals.assigned,
        expectedAssigned: 0,
        ...anytime(arm.totals, false),
      });
    });
  }

  const sampleRatio = checkSampleRatio(served);
  const stopping = stoppingStatus(experiment, posteriors, championIndex);
  const base: ExperimentStatistics = {
    experiment: experiment.experiment,
    revision: experiment.revision,
    state: experiment.state,
    variants,
    sampleRatio,
    stopping,
    caveats: [
      ...CAVEATS,
      ...(experiment.rewardKind === 'real' ? [REAL_REWARD_CAVEAT] : []),
      ...(experiment.canary === null ? [] : [CANARY_CAVEAT]),
      ...(unevenRewards(experiment, served) ? [UNEVEN_REWARDS_CAVEAT] : []),
    ],
    computedAt: now,
  };

  if (experiment.state !== 'running') return { statistics: base, decision: null, update: null };

  const canary = canaryVerdict(experiment, posteriors, championIndex, now);
  if (canary !== null) return { statistics: base, ...canary };

  if (stopping.satisfied && stopping.leader !== null) {
    const chosen = stopping.leader;
    const { autoPromote, rule } = experiment.stopping;
    // Only an error-controlled rule names a winner; the expected-loss rule says the choice is
    // good enough, which between equivalent variants is no claim that one is better.
    const kind = rule === 'glr' ? 'winner' : 'within-tolerance';
    const reason = `${stopping.detail}; ${autoPromote ? `promoted ${chosen} to 100% of traffic` : 'reported only (autoPromote off)'}`;
    const decision: DecisionMade = {
      experiment: experiment.experiment,
      kind,
      variant: chosen,
      revision: experiment.revision,
      applied: autoPromote,
      rule,
      reason,
      decidedAt: now,
    };
    const update: ExperimentDefined | null = autoPromote
      ? {
          ...experiment,
          state: 'promoted',
          winner: chosen,
          stateReason: `stopping rule ${rule}: ${stopping.detail}`,
          revision: experiment.revision + 1,
          updatedAt: now,
        }
      : null;
    return { statistics: base, decision, update };
  }
  return { statistics: base, decision: null, update: null };
}

/** What the statistics published next to the anytime-valid ones do not guarantee. */
export const CAVEATS: readonly string[] = [
  'mean [95%] (lower95/upper95) is a Bayesian credible interval, with no coverage guarantee when read again and again',
  'z and p against the champion are fixed-horizon tests: not valid when checked repeatedly or on adaptively allocated traffic (the anytime interval and p-value are)',
  'P(best) is the posterior probability, under the experiment prior, that a variant has the highest mean: calibrated on average over experiments whose rates follow that prior, not at a given gap, and not an error rate when read again and again: only a glr winner is error-controlled',
];
export const REAL_REWARD_CAVEAT =
  'anytime intervals of real-valued rewards plug in the sample variance: approximately valid only';
export const CANARY_CAVEAT =
  'the canary guard rolls back when P(challenger worse) reaches its confidence, checked at every snapshot: a Bayesian safety rule with no stated error rate';

export const UNEVEN_REWARDS_CAVEAT =
  'rewards arrive unevenly between the two variants (χ² p < 0.001 against an even split): the balanced-pair test assumes labels arrive alike for both, so its error rate is not guaranteed here';

/**
 * Whether the rewards counted for a balanced pair are split unevenly beyond chance (χ² against
 * 50/50 below SRM_P_VALUE): the router splits requests evenly, so an uneven split of rewards
 * means labels arrive differently for the two variants, which the test's guarantee excludes.
 * Only a caveat: switching rules on it would void both rules' guarantees.
 */
function unevenRewards(
  experiment: ExperimentDefined,
  served: readonly [string, VariantTotals][],
): boolean {
  if (!isBalancedPair(experiment)) return false;
  const result = sampleRatioMismatch(
    served.map(([, t]) => t.count),
    served.map(() => 1),
  );
  return result !== null && result.pValue < SRM_P_VALUE;
}

type AnytimeFields = Pick<
  VariantStatistics,
  'anytimeLower95' | 'anytimeUpper95' | 'differenceLower95' | 'differenceUpper95' | 'anytimePValue'
>;

/** The anytime-valid 95% statistics of a variant, and against the champion unless it is one. */
function anytimeStatistics(sample: MeanSample | null, champion: MeanSample | null): AnytimeFields {
  const own = sample === null ? null : meanConfidenceSequence(sample, 0.05);
  const difference =
    sample === null || champion === null
      ? null
      : differenceConfidenceSequence(champion, sample, 0.05);
  return {
    anytimeLower95: own?.lower ?? null,
    anytimeUpper95: own?.upper ?? null,
    differenceLower95: difference?.lower ?? null,
    differenceUpper95: difference?.upper ?? null,
    anytimePValue: sample === null || champion === null ? null : anytimePValue(champion, sample),
  };
}

function checkSampleRatio(served: readonly [string, VariantTotals][]): SampleRatioCheck | null {
  const result = sampleRatioMismatch(
    served.map(([, t]) => t.assigned),
    served.map(([, t]) => t.expectedAssigned),
  );
  if (result === null) return null;
  return { ...result, mismatch: result.pValue < SRM_P_VALUE };
}

function stoppingStatus(
  experiment: ExperimentDefined,
  posteriors: Posteriors,
  championIndex: number,
): ExperimentStatistics['stopping'] {
  const { rule, threshold, tolerance, minRewards } = experiment.stopping;
  const counts = posteriors.arms.map((a) => a.totals.count);
  const fewest = Math.min(...counts);
  const enough = fewest >= minRewards;
  const sampleNote = enough
    ? `every variant has ≥ ${minRewards} rewards`
    : `waiting for ${minRewards} rewards per variant (fewest: ${fewest}; ${isBalancedPair(experiment) ? 'the even split feeds both' : 'forced exploration until then'})`;
  const leaderIndex = argmax(posteriors.probabilityBest);
  const pBestLeader = at(posteriors.probabilityBest, leaderIndex);
  const leaderName = posteriors.arms[leaderIndex]?.variant ?? null;
  switch (rule) {
    case 'none':
      return {
        rule,
        leader: leaderName,
        statistic: pBestLeader,
        threshold,
        satisfied: false,
        detail: 'no stopping rule configured',
      };
    case 'probability-best': {
      // Kept so that older definitions stay readable. Checked at every snapshot, "P(best) ≥
      // threshold" finds winners between identical variants far more often than 1 − threshold
      // (see test/services/decider/core/stopping-error.test.ts), so it only reports.
      const reached = pBestLeader >= threshold;
      return {
        rule,
        leader: leaderName,
        statistic: pBestLeader,
        threshold,
        satisfied: false,
        detail:
          `P(${leaderName ?? '-'} best) = ${pBestLeader.toFixed(4)} ${reached ? '≥' : '<'} ${threshold}; ` +
          'reported only: P(best) checked again and again is not an error-controlled rule and declares no winner ' +
          '(use goal decide with glr, or goal earn with expected-loss)',
      };
    }
    case 'expected-loss':
      return expectedLossStatus(posteriors, championIndex, tolerance, enough, sampleNote);
    case 'glr': {
      const delta = 1 - threshold;
      if (isBalancedPair(experiment)) {
        return balancedPairStatus(experiment, posteriors, delta, enough, sampleNote);
      }
      const glr = glrBestArm(
        posteriors.arms.map((a) => ({
          n: a.totals.count,
          // For rewards in [0, 1], `successes` is Σr (also in partials written before Σr existed).
          sum: experiment.rewardKind === 'real' ? a.totals.rewardSum : a.totals.successes,
          sumSquares: a.totals.rewardSumSquares,
        })),
        experiment.rewardKind === 'real' ? 'gaussian' : 'bernoulli',
        delta,
      );
      const leader = glr.leader === null ? null : (posteriors.arms[glr.leader]?.variant ?? null);
      return {
        rule,
        leader,
        statistic: glr.statistic,
        threshold: glr.threshold,
        satisfied: glr.stop && enough && leader !== null,
        detail: `GLR statistic for ${leader ?? '-'} = ${glr.statistic.toFixed(3)} ${glr.stop ? '>' : '≤'} threshold ${glr.threshold.toFixed(3)} (δ = ${delta.toPrecision(3)}, ${glrValidity(experiment)}); ${sampleNote}`,
      };
    }
  }
}

/**
 * Goal decide between two variants on an even split: the exact balanced-pair mixture test
 * (lib/stats/balanced-pair-test.ts). Its statistic is ln of the mixture likelihood ratio for the
 * leader, its threshold ln(2/δ); valid at every look, given the 50/50 split the router keeps and
 * rewards whose arrival does not depend on the variant.
 */
function balancedPairStatus(
  experiment: ExperimentDefined,
  posteriors: Posteriors,
  delta: number,
  enough: boolean,
  sampleNote: string,
): ExperimentStatistics['stopping'] {
  const [a, b] = posteriors.arms.map((arm) => ({
    n: arm.totals.count,
    // For rewards in [0, 1], `successes` is Σr (also in partials written before Σr existed).
    sum: Math.min(arm.totals.count, Math.max(0, arm.totals.successes)),
  }));
  const test = balancedPairTest(a ?? { n: 0, sum: 0 }, b ?? { n: 0, sum: 0 }, {
    delta,
    minimumDetectableEffect: experiment.stopping.minimumDetectableEffect,
    prior: { alpha: experiment.priorAlpha, beta: experiment.priorBeta },
  });
  const leader = test.leader === null ? null : (posteriors.arms[test.leader]?.variant ?? null);
  const mde = experiment.stopping.minimumDetectableEffect;
  return {
    rule: 'glr',
    leader,
    statistic: test.logEvidence,
    threshold: test.threshold,
    satisfied: test.stop && enough && leader !== null,
    detail:
      `balanced-pair test: ln evidence for ${leader ?? '-'} = ${test.logEvidence.toFixed(3)} ${test.stop ? '≥' : '<'} ln(2/δ) = ${test.threshold.toFixed(3)} ` +
      `(δ = ${delta.toPrecision(3)}, ${mde === null ? 'no minimum detectable effect stated' : `minimum detectable effect ${mde}`}; ` +
      'exact under continuous monitoring, given the 50/50 split and rewards that arrive alike for both variants); ' +
      sampleNote,
  };
}

/**
 * What the GLR threshold guarantees: Garivier & Kaufmann prove ln(2t(K − 1)/δ) δ-correct for
 * Bernoulli arms (rewards in [0, 1]) under any sampling and stopping; for real-valued rewards
 * with a plugged-in variance the same threshold is a heuristic (see lib/stats/glr.ts).
 */
function glrValidity(experiment: ExperimentDefined): string {
  return experiment.rewardKind === 'real'
    ? 'heuristic for real-valued rewards: no proven error rate'
    : 'valid under continuous monitoring';
}

/**
 * The expected-loss ("value remaining") rule of goal earn: once choosing a variant costs less
 * than `tolerance` reward per decision in expectation, the experiment has done its job. The
 * champion is kept whenever it is within tolerance, so identical variants end as "equivalent
 * within tolerance" with no change, never as a win; otherwise the variant with the smallest
 * expected loss is the choice. The guarantee is Bayesian (under the prior, the expected loss of
 * the choice at stopping is below the tolerance whenever the rule is checked), not an error
 * rate.
 */
function expectedLossStatus(
  posteriors: Posteriors,
  championIndex: number,
  tolerance: number,
  enough: boolean,
  sampleNote: string,
): ExperimentStatistics['stopping'] {
  const losses = posteriors.expectedLoss;
  const championLoss = at(losses, championIndex);
  const chosenIndex = championLoss < tolerance ? championIndex : argmax(losses.map((l) => -l));
  const loss = at(losses, chosenIndex);
  const chosen = at(posteriors.arms, chosenIndex).variant;
  const within = loss < tolerance;
  const everyWithin = losses.every((l) => l < tolerance);
  const verdict = !within
    ? `expected loss of ${chosen} = ${loss.toPrecision(3)} ≥ tolerance ${tolerance}`
    : everyWithin
      ? `every variant's expected loss < tolerance ${tolerance}: equivalent within tolerance; keeping ${chosen}`
      : `choosing ${chosen} loses ${loss.toPrecision(3)} < tolerance ${tolerance} per decision in expectation (good enough, not a significance claim)`;
  return {
    rule: 'expected-loss',
    leader: chosen,
    statistic: loss,
    threshold: tolerance,
    satisfied: within && enough,
    detail: `${verdict}; ${sampleNote}`,
  };
}

/** The first index of the largest value. */
function argmax(values: readonly number[]): number {
  let best = 0;
  values.forEach((v, i) => {
    if (v > at(values, best)) best = i;
  });
  return best;
}

function canaryVerdict(
  experiment: ExperimentDefined,
  posteriors: Posteriors,
  championIndex: number,
  now: number,
): Pick<Evaluation, 'decision' | 'update'> | null {
  const { canary } = experiment;
  if (canary?.rolledBackAt !== null) return null;
  const challengerIndex = posteriors.arms.findIndex((a) => a.variant === canary.challenger);
  if (challengerIndex < 0 || challengerIndex === championIndex) return null;
  const champion = at(posteriors.arms, championIndex);
  const challenger = at(posteriors.arms, challengerIndex);
  if (champion.totals.count < canary.minRewards || challenger.totals.count < canary.minRewards) {
    return null;
  }
  const pWorse = posteriors.probabilityWorse(championIndex, challengerIndex, canary.margin);
  if (pWorse < canary.confidence) return null;
  const reason =
    `P(${challenger.variant} mean < ${champion.variant} mean − ${canary.margin}) = ${pWorse.toFixed(4)} ≥ ${canary.confidence} ` +
    `(${challenger.variant} ${challenger.mean.toFixed(4)} over ${challenger.totals.count} rewards, ` +
    `${champion.variant} ${champion.mean.toFixed(4)} over ${champion.totals.count}); rolled back to 0% of traffic`;
  return {
    decision: {
      experiment: experiment.experiment,
      kind: 'canary-rollback',
      variant: challenger.variant,
      revision: experiment.revision,
      applied: true,
      rule: 'canary',
      reason,
      decidedAt: now,
    },
    update: {
      ...experiment,
      canary: { ...canary, rolledBackAt: now },
      stateReason: `canary rolled back: ${reason}`,
      revision: experiment.revision + 1,
      updatedAt: now,
    },
  };
}

function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`no item at index ${index}`);
  return item;
}
