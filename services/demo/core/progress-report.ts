// Turns what the demo observed into the per-variant table shown live and in the final summary:
// traffic share, posterior mean with its 95% credible interval, reward rate, P(best), and the
// decider's view (stopping rule, sample ratio, decision). Pure.
import { mergePartialCounts, summarisePosterior } from '../../../lib/bandit/posterior.ts';
import { computeProbabilityBest } from '../../../lib/bandit/probability-best.ts';
import type {
  DecisionMade,
  ExperimentStatistics,
  PosteriorPublished,
} from '../../../lib/contracts/events.ts';

export interface VariantRow {
  readonly variant: string;
  readonly predictions: number;
  readonly share: number;
  readonly rewards: number;
  readonly rewardRate: number | null;
  readonly mean: number;
  readonly lower95: number;
  readonly upper95: number;
  readonly probabilityBest: number;
}

export function buildVariantRows(
  variants: readonly string[],
  predictionsByVariant: ReadonlyMap<string, { predictions: number }>,
  partials: readonly PosteriorPublished[],
  prior: { alpha: number; beta: number },
): VariantRow[] {
  const total = variants.reduce(
    (sum, v) => sum + (predictionsByVariant.get(v)?.predictions ?? 0),
    0,
  );
  const counts = mergePartialCounts(
    partials.map((p) => ({ partition: p.partition, variants: p.variants })),
    variants,
  );
  const pBest = computeProbabilityBest(
    counts.map((c) => ({ alpha: prior.alpha + c.successes, beta: prior.beta + c.failures })),
  );
  return counts.map((c, i) => {
    const summary = summarisePosterior(c, prior);
    const predictions = predictionsByVariant.get(c.variant)?.predictions ?? 0;
    return {
      variant: c.variant,
      predictions,
      share: total === 0 ? 0 : predictions / total,
      rewards: c.count,
      rewardRate: c.count === 0 ? null : c.successes / c.count,
      mean: summary.mean,
      lower95: summary.lower95,
      upper95: summary.upper95,
      probabilityBest: pBest[i] ?? 0,
    };
  });
}

const pct = (x: number): string => `${(x * 100).toFixed(1).padStart(5)}%`;

export function formatVariantTable(rows: readonly VariantRow[]): string {
  const name = Math.max(7, ...rows.map((r) => r.variant.length));
  const header = `${'variant'.padEnd(name)}  traffic  share   rewards  reward rate  posterior mean [95% cred.]  P(best)`;
  const lines = rows.map(
    (r) =>
      `${r.variant.padEnd(name)}  ${String(r.predictions).padStart(7)}  ${pct(r.share)}  ${String(r.rewards).padStart(7)}  ${
        r.rewardRate === null ? '       -   ' : `     ${pct(r.rewardRate)}`
      }   ${r.mean.toFixed(3)} [${r.lower95.toFixed(3)}, ${r.upper95.toFixed(3)}]    ${pct(r.probabilityBest)}`,
  );
  return [header, ...lines].join('\n');
}

/** What the table's credible intervals and P(best) are not (the decider's caveats, in short). */
export const BAYESIAN_NOTE =
  'note: the credible intervals and P(best) are Bayesian summaries under the prior (calibrated on average over experiments like the prior, not at a given gap), not error rates; only a glr winner is error-controlled';

/**
 * The lines under the table: the stopping rule's state and the sample-ratio check from the
 * decider's latest statistics, and the decision once one was made.
 */
export function formatDecisionLines(
  statistics: ExperimentStatistics | undefined,
  decision: DecisionMade | undefined,
): string[] {
  const lines: string[] = [];
  if (statistics === undefined) {
    lines.push('stopping rule: waiting for the first statistics from the decider');
  } else {
    lines.push(`stopping rule (${statistics.stopping.rule}): ${statistics.stopping.detail}`);
    lines.push(BAYESIAN_NOTE);
    const srm = statistics.sampleRatio;
    if (srm !== null) {
      lines.push(
        `sample ratio vs live allocation: χ² ${srm.chiSquare.toFixed(2)} (df ${srm.degreesOfFreedom}), p = ${srm.pValue.toPrecision(3)}${srm.mismatch ? '  MISMATCH' : ''}`,
      );
    }
  }
  if (decision !== undefined) {
    const what = {
      winner: `${decision.variant} wins`,
      'within-tolerance': `${decision.variant} is good enough (within tolerance)`,
      'canary-rollback': `${decision.variant} rolled back`,
    }[decision.kind];
    lines.push(`decision: ${what} (${decision.rule}) — ${decision.reason}`);
  }
  return lines;
}
