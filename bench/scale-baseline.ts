// Regression check of the scale benchmark against a committed baseline (bench/scale-baseline.json).
// Pure: the caller reads and writes the file.
//
// A metric is flagged when it is worse than the baseline by more than the tolerance: for a
// "higher is better" metric when current < 0.85 × baseline, for a "lower is better" one (a
// latency) when current > baseline / 0.85. Metrics missing on either side are reported, not
// flagged, so adding a metric does not break older baselines.

/** The fraction of the baseline a "higher is better" metric may fall to before it is flagged. */
export const REGRESSION_TOLERANCE = 0.85;

export type MetricDirection = 'higher' | 'lower';

/** The metrics compared with the baseline, and which way is better. */
export const SCALE_METRICS: Readonly<Record<string, MetricDirection>> = Object.freeze({
  e2eRequestsPerSecond: 'higher',
  e2eSpamRequestsPerSecond: 'higher',
  e2eRewardsPerSecond: 'higher',
  e2eSpamRewardsPerSecond: 'higher',
  kafkaProducerRecordsPerSecond: 'higher',
  kafkaProducerSpamRecordsPerSecond: 'higher',
  routerVsNoopTwin: 'higher',
  routerVsNoopTwinSpam: 'higher',
  inferenceVsNoopTwin: 'higher',
  inferenceVsNoopTwinSpam: 'higher',
  inferenceRealModelPerSecond: 'higher',
  inferenceRealModelSpamPerSecond: 'higher',
  inferenceScaleOut: 'higher',
  aggregatorRewardsPerSecond: 'higher',
  aggregatorScaleOut: 'higher',
  labelToRouterP99Ms: 'lower',
  labelToRouterSmallP99Ms: 'lower',
});

export interface MetricComparison {
  readonly metric: string;
  readonly direction: MetricDirection;
  readonly current: number | null;
  readonly baseline: number | null;
  /** current / baseline (NaN when either is missing or the baseline is 0). */
  readonly ratio: number;
  readonly status: 'ok' | 'REGRESSION' | 'no baseline' | 'not measured';
}

const numberOrNull = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) ? value : null;

/** Compares every metric of SCALE_METRICS (or `metrics`) of a run with the baseline's. */
export function compareWithBaseline(
  current: Readonly<Record<string, unknown>>,
  baseline: Readonly<Record<string, unknown>>,
  metrics: Readonly<Record<string, MetricDirection>> = SCALE_METRICS,
  tolerance = REGRESSION_TOLERANCE,
): MetricComparison[] {
  return Object.entries(metrics).map(([metric, direction]) => {
    const now = numberOrNull(current[metric]);
    const before = numberOrNull(baseline[metric]);
    const ratio = now !== null && before !== null && before !== 0 ? now / before : Number.NaN;
    let status: MetricComparison['status'];
    if (now === null) status = 'not measured';
    else if (before === null) status = 'no baseline';
    else if (direction === 'higher') status = now < tolerance * before ? 'REGRESSION' : 'ok';
    else status = now > before / tolerance ? 'REGRESSION' : 'ok';
    return { metric, direction, current: now, baseline: before, ratio, status };
  });
}

export function hasRegression(comparisons: readonly MetricComparison[]): boolean {
  return comparisons.some((c) => c.status === 'REGRESSION');
}

const show = (value: number | null): string =>
  value === null
    ? '–'
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : Math.abs(value) >= 10
        ? value.toFixed(1)
        : value.toFixed(2);

/**
 * The comparison as a Markdown table. Without a verdict (the runs are not comparable) a metric
 * past the tolerance reads "worse", not REGRESSION.
 */
export function formatBaselineComparison(
  comparisons: readonly MetricComparison[],
  verdict = true,
): string {
  const lines = [
    '| metric | better | baseline | this run | ratio | status |',
    '|---|---|---:|---:|---:|---|',
  ];
  for (const c of comparisons) {
    lines.push(
      `| ${c.metric} | ${c.direction} | ${show(c.baseline)} | ${show(c.current)} | ${Number.isNaN(c.ratio) ? '–' : `${c.ratio.toFixed(2)}×`} | ${c.status === 'REGRESSION' ? (verdict ? '**REGRESSION**' : 'worse') : c.status} |`,
    );
  }
  return lines.join('\n');
}

/** Whether two runs (the `run` objects of their summaries) used the same size options. */
export function sameRunOptions(current: unknown, baseline: unknown): boolean {
  const pick = (run: unknown): string => {
    if (typeof run !== 'object' || run === null) return 'none';
    const { requests, partitions, quick } = run as Record<string, unknown>;
    return JSON.stringify([requests, partitions, quick]);
  };
  return pick(current) === pick(baseline);
}
