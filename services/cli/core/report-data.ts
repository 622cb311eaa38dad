// The data of `dynab report`: what the charts show, computed from the records read off the
// topics. Rewards (not compacted) give the history: the counts the aggregator folded in, in the
// order they resolved, so the posterior at any point in time is the prior plus the rewards
// resolved up to then. Statistics and decisions give the decider's own view (P(best), the
// stopping rule's verdict).
import { betaLogPdf } from '../../../lib/bandit/beta-distribution.ts';
import type {
  DecisionMade,
  ExperimentStatistics,
  RewardResolved,
} from '../../../lib/contracts/events.ts';

export interface ReportInput {
  readonly experiment: string;
  /** Served variants in the experiment's order; variants only seen in rewards are added. */
  readonly variants: readonly string[];
  /** Beta prior of the experiment (1, 1 when unknown). */
  readonly prior: { readonly alpha: number; readonly beta: number };
  /** Rewards of any experiment, in any order; others are ignored, and so are late ones. */
  readonly rewards: readonly RewardResolved[];
  /** Statistics records in the order they were published (the topic's history). */
  readonly statistics: readonly ExperimentStatistics[];
  readonly decisions: readonly DecisionMade[];
  /** True mean reward per variant where the ground truth is known (demo, simulations). */
  readonly trueRates: ReadonlyMap<string, number> | null;
  /** Batches the reward history is cut into (default 40). */
  readonly batches?: number;
  /** Posterior checkpoints of the density grid (default 6). */
  readonly checkpoints?: number;
  /** Density points from 0 to 1 (default 101). */
  readonly gridPoints?: number;
  readonly generatedAt: number;
}

/** One line of a chart: a value per x (null where there is none). */
export interface Series {
  readonly name: string;
  readonly values: readonly (number | null)[];
}

export interface PosteriorCheckpoint {
  /** Rewards folded in at this checkpoint (all variants). */
  readonly rewards: number;
  /** Seconds since the first reward. */
  readonly atSeconds: number;
  readonly densities: readonly Series[];
  readonly alphaBeta: readonly { variant: string; alpha: number; beta: number }[];
}

export interface ReportDecision {
  readonly kind: string;
  readonly variant: string;
  readonly applied: boolean;
  readonly rule: string;
  readonly reason: string;
  readonly decidedAt: number;
  /** Seconds since the first reward (negative if it came earlier). */
  readonly atSeconds: number;
  /** The batch during which it fired (1-based), null if after the last reward. */
  readonly batch: number | null;
}

export interface ReportData {
  readonly experiment: string;
  readonly generatedAt: number;
  readonly variants: readonly string[];
  readonly totalRewards: number;
  readonly firstRewardAt: number | null;
  readonly lastRewardAt: number | null;
  /** Batch numbers (1-based), the x axis of the per-batch charts. */
  readonly batchLabels: readonly number[];
  readonly batchSize: number;
  readonly cumulativeReward: readonly Series[];
  readonly rewardRate: readonly Series[];
  readonly trafficShare: readonly Series[];
  /** Grid of reward values the densities are evaluated on. */
  readonly grid: readonly number[];
  readonly checkpoints: readonly PosteriorCheckpoint[];
  /** Seconds since the first reward of each statistics record. */
  readonly probabilityBestSeconds: readonly number[];
  readonly probabilityBest: readonly Series[];
  readonly decision: ReportDecision | null;
  /** Expected cumulative regret per batch: Σ (best true rate − true rate of the variant served). */
  readonly regret: Series | null;
  readonly trueRates: readonly { variant: string; rate: number }[];
  readonly notes: readonly string[];
}

const round = (x: number, digits = 6): number => Number(x.toFixed(digits));

function byResolution(a: RewardResolved, b: RewardResolved): number {
  return a.resolvedAt - b.resolvedAt || (a.requestId < b.requestId ? -1 : 1);
}

/** Density of Beta(a, b) on the grid, clipped to keep the chart readable at the end points. */
function densities(grid: readonly number[], a: number, b: number): number[] {
  return grid.map((x) => {
    const d = Math.exp(betaLogPdf(x, a, b));
    return Number.isFinite(d) ? round(Math.min(d, 1e6), 4) : 0;
  });
}

export function buildReportData(input: ReportInput): ReportData {
  const rewards = input.rewards
    .filter((r) => r.experiment === input.experiment && r.resolution !== 'late')
    .sort(byResolution);
  const variants = [...input.variants];
  for (const r of rewards) if (!variants.includes(r.variant)) variants.push(r.variant);
  const notes: string[] = [];
  const n = rewards.length;
  const batchCount = Math.max(0, Math.min(input.batches ?? 40, n));
  const batchSize = batchCount === 0 ? 0 : Math.ceil(n / batchCount);
  const batches: RewardResolved[][] = [];
  for (let i = 0; i < n; i += batchSize) batches.push(rewards.slice(i, i + batchSize));
  const firstAt = rewards[0]?.resolvedAt ?? null;
  const lastAt = rewards[n - 1]?.resolvedAt ?? null;
  const seconds = (t: number): number => round(firstAt === null ? 0 : (t - firstAt) / 1000, 3);

  const sums = new Map(variants.map((v) => [v, { reward: 0, count: 0 }]));
  const cumulative = new Map<string, number[]>(variants.map((v) => [v, []]));
  const rate = new Map<string, (number | null)[]>(variants.map((v) => [v, []]));
  const share = new Map<string, number[]>(variants.map((v) => [v, []]));
  const trueRates = input.trueRates;
  const best = trueRates === null ? null : Math.max(...variants.map((v) => trueRates.get(v) ?? 0));
  const regret: number[] = [];
  let regretSum = 0;
  for (const batch of batches) {
    const inBatch = new Map(variants.map((v) => [v, { reward: 0, count: 0 }]));
    for (const r of batch) {
      const total = sums.get(r.variant);
      const local = inBatch.get(r.variant);
      if (total === undefined || local === undefined) continue;
      total.reward += r.reward;
      total.count += 1;
      local.reward += r.reward;
      local.count += 1;
      if (trueRates !== null && best !== null) regretSum += best - (trueRates.get(r.variant) ?? 0);
    }
    for (const v of variants) {
      const total = sums.get(v) ?? { reward: 0, count: 0 };
      const local = inBatch.get(v) ?? { reward: 0, count: 0 };
      cumulative.get(v)?.push(round(total.reward));
      rate.get(v)?.push(local.count === 0 ? null : round(local.reward / local.count));
      share.get(v)?.push(round(local.count / batch.length));
    }
    regret.push(round(regretSum));
  }

  const gridPoints = Math.max(2, input.gridPoints ?? 101);
  const grid = Array.from({ length: gridPoints }, (_, i) => round(i / (gridPoints - 1), 4));
  const checkpoints: PosteriorCheckpoint[] = [];
  const unitInterval = rewards.every((r) => r.reward >= 0 && r.reward <= 1);
  if (!unitInterval) {
    notes.push('Rewards outside [0, 1]: no Beta posterior grid (the experiment is Gaussian).');
  } else {
    // Checkpoints after evenly spaced numbers of rewards, the prior alone first.
    const wanted = Math.max(1, input.checkpoints ?? 6);
    const marks = [
      ...new Set(Array.from({ length: wanted }, (_, i) => Math.round((n * i) / (wanted - 1 || 1)))),
    ];
    const counts = new Map(variants.map((v) => [v, { s: 0, f: 0 }]));
    let folded = 0;
    for (const mark of marks) {
      for (; folded < mark; folded++) {
        const r = rewards[folded];
        const c = r === undefined ? undefined : counts.get(r.variant);
        if (r === undefined || c === undefined) continue;
        c.s += r.reward;
        c.f += 1 - r.reward;
      }
      const alphaBeta = variants.map((v) => {
        const c = counts.get(v) ?? { s: 0, f: 0 };
        return {
          variant: v,
          alpha: round(input.prior.alpha + c.s),
          beta: round(input.prior.beta + c.f),
        };
      });
      const at = mark === 0 ? firstAt : (rewards[mark - 1]?.resolvedAt ?? firstAt);
      checkpoints.push({
        rewards: mark,
        atSeconds: at === null ? 0 : seconds(at),
        alphaBeta,
        densities: alphaBeta.map((p) => ({
          name: p.variant,
          values: densities(grid, p.alpha, p.beta),
        })),
      });
    }
  }

  const statistics = input.statistics.filter((s) => s.experiment === input.experiment);
  const probabilityBest = variants.map((v) => ({
    name: v,
    values: statistics.map((s) => {
      const stat = s.variants.find((x) => x.variant === v && !x.shadow);
      return stat === undefined ? null : round(stat.probabilityBest);
    }),
  }));
  if (statistics.length === 0) notes.push('No statistics were published for this experiment.');

  const decisions = input.decisions.filter((d) => d.experiment === input.experiment);
  const last = decisions[decisions.length - 1];
  let decision: ReportDecision | null = null;
  if (last !== undefined) {
    const index = batches.findIndex((b) => (b[b.length - 1]?.resolvedAt ?? 0) >= last.decidedAt);
    decision = {
      kind: last.kind,
      variant: last.variant,
      applied: last.applied,
      rule: last.rule,
      reason: last.reason,
      decidedAt: last.decidedAt,
      atSeconds: seconds(last.decidedAt),
      batch: index === -1 ? null : index + 1,
    };
  }
  return {
    experiment: input.experiment,
    generatedAt: input.generatedAt,
    variants,
    totalRewards: n,
    firstRewardAt: firstAt,
    lastRewardAt: lastAt,
    batchLabels: batches.map((_, i) => i + 1),
    batchSize,
    cumulativeReward: variants.map((v) => ({ name: v, values: cumulative.get(v) ?? [] })),
    rewardRate: variants.map((v) => ({ name: v, values: rate.get(v) ?? [] })),
    trafficShare: variants.map((v) => ({ name: v, values: share.get(v) ?? [] })),
    grid,
    checkpoints,
    probabilityBestSeconds: statistics.map((s) => seconds(s.computedAt)),
    probabilityBest,
    decision,
    regret: trueRates === null ? null : { name: 'expected regret', values: regret },
    trueRates:
      trueRates === null
        ? []
        : variants.flatMap((v) => {
            const r = trueRates.get(v);
            return r === undefined ? [] : [{ variant: v, rate: r }];
          }),
    notes,
  };
}

/** Parses `--true-rates a=0.7,b=0.8`; every problem in one message. */
export function parseTrueRates(text: string): Map<string, number> {
  const rates = new Map<string, number>();
  const problems: string[] = [];
  for (const part of text.split(',')) {
    const match = /^([^=]+)=(.+)$/.exec(part.trim());
    const rate = Number(match?.[2]);
    if (match?.[1] === undefined || !Number.isFinite(rate)) {
      problems.push(`"${part}" is not VARIANT=RATE`);
    } else rates.set(match[1], rate);
  }
  if (problems.length > 0) throw new Error(`--true-rates: ${problems.join('; ')}`);
  return rates;
}
