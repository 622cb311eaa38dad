// The decision-quality scorecard (`npm run bench -- decisions-quality`): each goal's rule run
// through dynab's own routing and decider code (bench/decision-simulation.ts), seeded, with
// rewards one snapshot late and the rule checked at every snapshot. Per rule it reports A/A
// false winners, correct and stopped rates at real gaps, samples at the stop against the
// Garivier–Kaufmann lower bound and the fixed-horizon size at matched error, regret against the
// Lai–Robbins value, and the calibration of the reported P(best): the leader's reported value,
// bucketed, against how often the leader is truly the better arm, at every snapshot the decider
// evaluates and at the stop. A cell at a small minimum detectable effect (5% vs 6%) runs with
// its own run count and horizon, since it needs far more requests per run. A last cell draws
// each run's true rates from the experiment's own prior: there a posterior probability must be
// calibrated (it is the probability of the truth given the data, whatever the allocation and
// the stopping), so that cell checks the reported number itself, apart from the mismatch between
// one fixed gap and the prior. Rates carry Wilson 95% intervals. The rewards routed between two
// snapshots are folded in before the next plan is built (delaySnapshots = 1: the plan never sees
// its own interval's rewards). Pure: the printing is bench/run.ts's.
import { normalQuantile } from '../lib/bandit/normal-distribution.ts';
import { createSeededRandom, sampleBeta } from '../lib/bandit/random.ts';
import type { StoppingConfig } from '../lib/contracts/events.ts';
import {
  CHAMPION_CHALLENGER,
  defineExperiment,
  EXPERIMENT_DEFAULTS,
} from '../lib/contracts/experiment-defaults.ts';
import { bernoulliDivergence } from '../lib/stats/glr.ts';
import {
  simulateRun,
  simulateRuns,
  type RunOutcome,
  type SimulationCase,
} from './decision-simulation.ts';

export interface QualityOptions {
  /** Seeded runs per cell. */
  readonly runs: number;
  /** Requests per run for the stopping cells. */
  readonly horizon: number;
  /** Requests per run for the regret cell (no stopping). */
  readonly regretHorizon: number;
  /** Requests between two snapshots, in every cell but the small-effect one. */
  readonly snapshotEvery: number;
  /** Requests between two snapshots in the small-effect cell. */
  readonly mdeSnapshotEvery: number;
  readonly delta: number;
  /** Tolerance of the expected-loss rule. */
  readonly tolerance: number;
  readonly minRewards: number;
  readonly firstSeed: number;
  /** Seeded runs of the small-effect cell (MDE_RATES). */
  readonly mdeRuns: number;
  /** Requests per run of the small-effect cell. */
  readonly mdeHorizon: number;
  /** Seeded runs of the prior-drawn cell (requests per run: horizon). */
  readonly priorRuns: number;
  /**
   * true: each cell states the champion's rate as its prior and, for decide, its gap as the
   * minimum detectable effect (statedEffect); false: prior Beta(1, 1) and no effect stated
   * (the prior-drawn cell keeps its own prior either way).
   */
  readonly stated: boolean;
}

export const DEFAULT_QUALITY_OPTIONS: QualityOptions = {
  runs: 200,
  horizon: 20_000,
  regretHorizon: 100_000,
  snapshotEvery: 100,
  mdeSnapshotEvery: 500,
  delta: 0.05,
  tolerance: 0.001,
  minRewards: 100,
  firstSeed: 1,
  mdeRuns: 200,
  mdeHorizon: 200_000,
  priorRuns: 1_000,
  stated: true,
};

/** A/A rates (one cell each), and the gaps checked for correct winners (the second is the SageMaker workshop's). */
export const AA_RATES: readonly (readonly [number, number])[] = [
  [0.05, 0.05],
  [0.3, 0.3],
  [0.5, 0.5],
];
export const GAPS: readonly (readonly [number, number])[] = [
  [0.3, 0.4],
  [0.63, 0.71],
];
/** The small minimum detectable effect the issue names: one point on a 5% base (a 20% lift). */
export const MDE_RATES = [0.05, 0.06] as const;
/**
 * What the team states in each cell, as it would for a fixed-horizon sample size: the champion's
 * rate, as the experiment's prior Beta(20 p, 20 (1 − p)) (20 pseudo-observations: a weak prior),
 * and, for decide, the gap it wants to find as the minimum detectable effect (A/A cells state the
 * effect of the gap cells at their rate: 0.01 at 5%, 0.1 otherwise). The prior-drawn cell states
 * its own prior and 0.01.
 */
export const PRIOR_STRENGTH = 20;
export function statedEffect(rates: readonly number[]): number {
  const [a = 0, b = 0] = rates;
  if (a !== b) return Math.abs(a - b);
  return a <= 0.1 ? 0.01 : 0.1;
}

/**
 * Prior of the prior-drawn cell, used both as the experiment's prior and to draw each run's
 * true rates: Beta(5, 95), rates around 5% (sd 2.2 points), so most gaps are small.
 */
export const PRIOR_CELL = { alpha: 5, beta: 95 } as const;

export interface Rate {
  readonly value: number;
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly of: number;
}

export interface GapScore {
  readonly rates: readonly [number, number];
  /** Seeded runs in the cell and requests per run. */
  readonly runs: number;
  readonly horizon: number;
  readonly stopped: Rate;
  readonly correct: Rate;
  readonly medianSamples: number | null;
  readonly gkBound: number;
  readonly fixedHorizon: number;
  /** Mean reported P(best) of the chosen variant at the stop (null when nothing stopped). */
  readonly meanReportedProbabilityBest: number | null;
  /** Calibration of the leader's reported P(best) in this cell. */
  readonly calibration: Calibration;
}

export interface PriorCellScore {
  readonly prior: { readonly alpha: number; readonly beta: number };
  readonly runs: number;
  readonly horizon: number;
  readonly stopped: Rate;
  readonly calibration: Calibration;
}

/** Calibration at every evaluated snapshot and at the stop (stopped runs only). */
export interface Calibration {
  readonly snapshots: readonly CalibrationBucket[];
  readonly stops: readonly CalibrationBucket[];
}

export interface RuleScore {
  readonly rule: string;
  readonly goal: string;
  /** The worst A/A cell's false-winner rate (A/A cells: aaCells). */
  readonly aaFalseWinner: Rate;
  readonly aaCells: readonly {
    readonly rates: readonly [number, number];
    readonly falseWinner: Rate;
  }[];
  /** A/A runs in which some reported P(best) reached 0.95 (what the old rule would declare). */
  readonly aaProbabilityBestCrossed: Rate;
  /** GAPS, then the small-effect cell. */
  readonly gaps: readonly GapScore[];
  /** Calibration pooled over every cell with a truly better arm (A/A runs have none). */
  readonly calibration: Calibration;
  /** Calibration when each run's rates are drawn from the experiment's prior. */
  readonly priorCell: PriorCellScore;
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

/** Bucket edges of the leader's reported P(best) (with two arms the leader's is ≥ 0.5). */
export const CALIBRATION_EDGES: readonly number[] = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1];
/** Buckets with fewer samples are shown, but left out of the largest calibration error. */
export const CALIBRATION_MIN_SAMPLES = 100;

/** One reported P(best) of the leader, and whether the leader was truly the better arm. */
export interface CalibrationSample {
  readonly reported: number;
  readonly correct: boolean;
}

export interface CalibrationBucket {
  /** [lower, upper); the last bucket also holds its upper edge. */
  readonly lower: number;
  readonly upper: number;
  /** Mean reported value in the bucket (null when empty). */
  readonly meanReported: number | null;
  /** Observed frequency that the leader was the better arm, with its Wilson interval. */
  readonly observed: Rate;
}

/**
 * Reported probabilities bucketed by `edges` (increasing): per bucket the mean reported value
 * and the observed frequency of being right. A calibrated report has both equal in every
 * bucket, up to sampling error. A value outside [first edge, last edge] is refused.
 */
export function calibrationBuckets(
  samples: readonly CalibrationSample[],
  edges: readonly number[] = CALIBRATION_EDGES,
): CalibrationBucket[] {
  const buckets = edges.length - 1;
  if (buckets < 1) throw new RangeError('at least two edges are needed');
  const first = edges[0] ?? 0;
  const last = edges[buckets] ?? 1;
  const sums = new Array<number>(buckets).fill(0);
  const counts = new Array<number>(buckets).fill(0);
  const rights = new Array<number>(buckets).fill(0);
  for (const { reported, correct } of samples) {
    if (!(reported >= first && reported <= last)) {
      throw new RangeError(`reported value ${reported} is outside [${first}, ${last}]`);
    }
    // The last bucket whose lower edge is ≤ the value, so the top edge falls in the last bucket.
    let b = 0;
    while (b + 1 < buckets && reported >= (edges[b + 1] ?? last)) b++;
    sums[b] = (sums[b] ?? 0) + reported;
    counts[b] = (counts[b] ?? 0) + 1;
    if (correct) rights[b] = (rights[b] ?? 0) + 1;
  }
  return counts.map((n, b) => ({
    lower: edges[b] ?? first,
    upper: edges[b + 1] ?? last,
    meanReported: n === 0 ? null : (sums[b] ?? 0) / n,
    observed: wilson(rights[b] ?? 0, n),
  }));
}

/**
 * The largest |mean reported − observed frequency| over buckets with at least `minSamples`
 * samples, in percentage points; null when no bucket has that many.
 */
export function calibrationMaxErrorPoints(
  buckets: readonly CalibrationBucket[],
  minSamples: number = CALIBRATION_MIN_SAMPLES,
): number | null {
  let worst: number | null = null;
  for (const b of buckets) {
    if (b.observed.of < minSamples || b.meanReported === null) continue;
    const error = 100 * Math.abs(b.meanReported - b.observed.value);
    worst = worst === null ? error : Math.max(worst, error);
  }
  return worst;
}

/**
 * The leader's reported P(best) at every evaluated snapshot of every run, and at the stop of
 * every stopped run, each marked right when the leader is `better` (the truly better arm).
 */
export function leaderSamples(
  runs: readonly RunOutcome[],
  better: number,
): { snapshots: CalibrationSample[]; stops: CalibrationSample[] } {
  const snapshots: CalibrationSample[] = [];
  const stops: CalibrationSample[] = [];
  for (const run of runs) {
    for (const l of run.leaders) {
      snapshots.push({ reported: l.probabilityBest, correct: l.leader === better });
    }
    const last = run.leaders.at(-1);
    if (run.decision !== null && last !== undefined) {
      stops.push({ reported: last.probabilityBest, correct: last.leader === better });
    }
  }
  return { snapshots, stops };
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
  snapshotEvery: number = o.snapshotEvery,
): SimulationCase {
  const champion = rates[0] ?? 0.5;
  return {
    experiment: defineExperiment({
      experiment: 'scorecard',
      variants: CHAMPION_CHALLENGER,
      updatedAt: 0,
      priorAlpha: o.stated ? PRIOR_STRENGTH * champion : 1,
      priorBeta: o.stated ? PRIOR_STRENGTH * (1 - champion) : 1,
      stopping: {
        ...stopping,
        minimumDetectableEffect:
          o.stated && stopping.goal === 'decide' ? statedEffect(rates) : null,
      },
    }),
    rates,
    horizon,
    snapshotEvery,
    delaySnapshots: 1,
  };
}

function scoreGap(
  stopping: StoppingConfig,
  rates: readonly [number, number],
  cell: { readonly runs: number; readonly horizon: number; readonly snapshotEvery: number },
  o: QualityOptions,
  seed: number,
): { score: GapScore; samples: ReturnType<typeof leaderSamples> } {
  const runs = simulateRuns(
    simulationCase(stopping, rates, cell.horizon, o, cell.snapshotEvery),
    cell.runs,
    seed,
  );
  const stopped = runs.filter((r) => r.decision !== null);
  const better = rates[1] > rates[0] ? 1 : 0;
  const reported = stopped
    .map((r) => r.probabilityBestAtStop)
    .filter((p): p is number => p !== null);
  const samples = leaderSamples(runs, better);
  const score: GapScore = {
    rates,
    runs: cell.runs,
    horizon: cell.horizon,
    stopped: wilson(stopped.length, runs.length),
    correct: wilson(stopped.filter((r) => r.chosen === better).length, stopped.length),
    medianSamples: median(stopped.map((r) => r.requests)),
    gkBound: gkLowerBound(rates, o.delta),
    fixedHorizon: fixedHorizonSize(rates, o.delta),
    meanReportedProbabilityBest:
      reported.length === 0 ? null : reported.reduce((a, b) => a + b, 0) / reported.length,
    calibration: {
      snapshots: calibrationBuckets(samples.snapshots),
      stops: calibrationBuckets(samples.stops),
    },
  };
  return { score, samples };
}

/**
 * Two true rates per run, each drawn from Beta(prior), from one random source seeded `seed`
 * (the runs themselves use other seeds).
 */
export function drawPriorRates(
  prior: { readonly alpha: number; readonly beta: number },
  runs: number,
  seed: number,
): [number, number][] {
  const random = createSeededRandom(seed);
  return Array.from({ length: runs }, () => [
    sampleBeta(prior.alpha, prior.beta, random),
    sampleBeta(prior.alpha, prior.beta, random),
  ]);
}

/** The prior-drawn cell: run r has rates drawn from PRIOR_CELL and seed seed + 1 + r. */
function scorePriorCell(stopping: StoppingConfig, o: QualityOptions, seed: number): PriorCellScore {
  const base = simulationCase(stopping, [0, 0], o.horizon, o);
  const experiment = {
    ...base.experiment,
    priorAlpha: PRIOR_CELL.alpha,
    priorBeta: PRIOR_CELL.beta,
    stopping: {
      ...base.experiment.stopping,
      minimumDetectableEffect: o.stated && stopping.goal === 'decide' ? 0.01 : null,
    },
  };
  const snapshots: CalibrationSample[] = [];
  const stops: CalibrationSample[] = [];
  let stopped = 0;
  drawPriorRates(PRIOR_CELL, o.priorRuns, seed).forEach((rates, r) => {
    const run = simulateRun({ ...base, experiment, rates }, seed + 1 + r);
    const samples = leaderSamples([run], rates[1] > rates[0] ? 1 : 0);
    snapshots.push(...samples.snapshots);
    stops.push(...samples.stops);
    if (run.decision !== null) stopped++;
  });
  return {
    prior: PRIOR_CELL,
    runs: o.priorRuns,
    horizon: o.horizon,
    stopped: wilson(stopped, o.priorRuns),
    calibration: { snapshots: calibrationBuckets(snapshots), stops: calibrationBuckets(stops) },
  };
}

/** Requests between snapshots in the regret cell (a long run with no stopping rule). */
const REGRET_SNAPSHOT_EVERY = 500;

/** Regret of the goal's allocation with no stopping, over the Lai–Robbins value. */
function regretRatio(goal: string, o: QualityOptions, seed: number): number {
  const rates = GAPS[1] ?? [0.63, 0.71];
  const stopping: StoppingConfig = {
    ...EXPERIMENT_DEFAULTS.stopping,
    goal: goal === 'decide' ? 'decide' : 'earn',
  };
  const runs: RunOutcome[] = simulateRuns(
    simulationCase(stopping, rates, o.regretHorizon, o, REGRET_SNAPSHOT_EVERY),
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
    // A/A cells: the first keeps seed(0), the others seeds(7), seed(8).
    const aaSeeds = [seed(0), seed(7), seed(8)];
    const aaRuns = AA_RATES.map((rates, c) =>
      simulateRuns(simulationCase(stopping, rates, o.horizon, o), o.runs, aaSeeds[c] ?? seed(0)),
    );
    const aaCells = AA_RATES.map((rates, c) => {
      const runs = aaRuns[c] ?? [];
      return {
        rates,
        falseWinner: wilson(runs.filter((r) => r.decision?.kind === 'winner').length, runs.length),
      };
    });
    const worst = aaCells.reduce((w, cell) =>
      cell.falseWinner.value > w.falseWinner.value ? cell : w,
    );
    const aaAll = aaRuns.flat();
    const cells = [
      ...GAPS.map((rates, g) =>
        scoreGap(
          stopping,
          rates,
          { runs: o.runs, horizon: o.horizon, snapshotEvery: o.snapshotEvery },
          o,
          seed(1 + g),
        ),
      ),
      scoreGap(
        stopping,
        MDE_RATES,
        { runs: o.mdeRuns, horizon: o.mdeHorizon, snapshotEvery: o.mdeSnapshotEvery },
        o,
        seed(5),
      ),
    ];
    return {
      rule: stopping.rule,
      goal,
      aaFalseWinner: worst.falseWinner,
      aaCells,
      aaProbabilityBestCrossed: wilson(
        aaAll.filter((r) => r.probabilityBestCrossed95).length,
        aaAll.length,
      ),
      gaps: cells.map((c) => c.score),
      calibration: {
        snapshots: calibrationBuckets(cells.flatMap((c) => c.samples.snapshots)),
        stops: calibrationBuckets(cells.flatMap((c) => c.samples.stops)),
      },
      priorCell: scorePriorCell(stopping, o, seed(6)),
      regretOverLaiRobbins: goal === 'earn' ? regretRatio(goal, o, seed(9)) : null,
    };
  });
}

/**
 * One JSON object per rule, for scripts: the fields the issue names (correct and stopped rates
 * at the first gap), the same at the small-effect cell, and the largest calibration error in
 * points over buckets with at least CALIBRATION_MIN_SAMPLES samples, pooled over the cells
 * with a better arm, at every snapshot and at the stop, and the same for the prior-drawn cell.
 */
export function scorecardJson(score: RuleScore): Record<string, unknown> {
  const gap = score.gaps[0];
  const mde = score.gaps.at(-1);
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
    aaFalseWinnerUpper95: score.aaFalseWinner.upper,
    // Per gap cell (GAPS, then the small effect), decide only.
    medianSamplesOverGKBoundByGap:
      score.goal === 'decide'
        ? score.gaps.map((g) => (g.medianSamples === null ? null : g.medianSamples / g.gkBound))
        : null,
    medianSamplesOverFixedHorizonByGap:
      score.goal === 'decide'
        ? score.gaps.map((g) =>
            g.medianSamples === null ? null : g.medianSamples / g.fixedHorizon,
          )
        : null,
    correctRateByGap: score.gaps.map((g) => g.correct.value),
    stoppedRateByGap: score.gaps.map((g) => g.stopped.value),
    mdeCorrectRate: mde?.correct.value ?? null,
    mdeStoppedRate: mde?.stopped.value ?? null,
    calibrationMaxErrorPoints: calibrationMaxErrorPoints(score.calibration.snapshots),
    calibrationMaxErrorPointsAtStop: calibrationMaxErrorPoints(score.calibration.stops),
    priorCellCalibrationMaxErrorPoints: calibrationMaxErrorPoints(
      score.priorCell.calibration.snapshots,
    ),
    priorCellCalibrationMaxErrorPointsAtStop: calibrationMaxErrorPoints(
      score.priorCell.calibration.stops,
    ),
  };
}
