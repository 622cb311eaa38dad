// Text of `dynab experiment show` and of the change summaries of the write commands: the list of
// experiments, one definition, its latest statistics and decision. Pure.
import type {
  CanaryConfig,
  DecisionMade,
  ExperimentDefined,
  ExperimentStatistics,
  StoppingConfig,
  VariantConfig,
  VariantStatistics,
} from '../../../lib/contracts/events.ts';
import { championOf } from '../../../lib/contracts/experiment-defaults.ts';
import { formatDuration } from './duration.ts';
import { EXPERIMENT_FIELDS } from './experiment-json.ts';

/** What `show` knows about one experiment. */
export interface ExperimentView {
  readonly definition: ExperimentDefined;
  readonly statistics: ExperimentStatistics | null;
  readonly decision: DecisionMade | null;
}

// ---------------------------------------------------------------------------------------------
// Numbers

const DASH = '—';

/** A reward-scale number: three decimals in the usual range, exponent notation outside it. */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  const abs = Math.abs(x);
  if (abs >= 1e6 || abs < 0.001) return x.toExponential(2);
  return x.toFixed(3);
}

export const formatPercent = (x: number): string => `${(x * 100).toFixed(1)}%`;

export function formatPValue(p: number | null): string {
  if (p === null) return DASH;
  if (p === 0 || p >= 1e-4) return p.toFixed(4);
  return p.toExponential(1);
}

function formatLoss(x: number): string {
  if (x === 0) return '0';
  return Math.abs(x) < 1e-4 ? x.toExponential(1) : x.toFixed(4);
}

const formatCount = (x: number): string => (Number.isInteger(x) ? String(x) : x.toFixed(1));

export const formatTime = (ms: number): string =>
  Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);

// ---------------------------------------------------------------------------------------------
// Tables

/** Aligned columns; `right` marks the columns whose cells are right-aligned. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  right: readonly boolean[] = [],
): string {
  const widths = headers.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => {
        const pad = ' '.repeat(Math.max(0, (widths[c] ?? 0) - cell.length));
        return right[c] === true ? pad + cell : cell + pad;
      })
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** "label       value" lines with the labels padded to one width. */
function labelled(lines: readonly (readonly [string, string])[]): string {
  const width = Math.max(...lines.map(([label]) => label.length));
  return lines.map(([label, value]) => `${label.padEnd(width)}  ${value}`).join('\n');
}

// ---------------------------------------------------------------------------------------------
// Definitions

const formatVariants = (variants: readonly VariantConfig[]): string =>
  variants.map((v) => `${v.name} ${v.weight}`).join(', ');

const formatNames = (names: readonly string[]): string =>
  names.length === 0 ? 'none' : names.join(', ');

export function formatCanary(canary: CanaryConfig | null): string {
  if (canary === null) return 'off';
  const rolledBack =
    canary.rolledBackAt === null ? '' : `; rolled back at ${formatTime(canary.rolledBackAt)}`;
  return (
    `${canary.challenger} at ${formatPercent(canary.share)} of traffic; roll back when ` +
    `P(challenger < champion − ${canary.margin}) ≥ ${canary.confidence} ` +
    `after ${canary.minRewards} rewards each${rolledBack}`
  );
}

export function formatStoppingConfig(stopping: StoppingConfig): string {
  const goal = `goal ${stopping.goal}`;
  const gate = `after ${stopping.minRewards} rewards per variant`;
  const then = stopping.autoPromote
    ? 'then route all traffic to it'
    : 'report only (no auto-promote)';
  switch (stopping.rule) {
    case 'none':
      return `${goal}; no stopping rule`;
    case 'expected-loss':
      return `${goal}; expected-loss: choose the leader once its expected loss < ${stopping.tolerance} ${gate}, ${then}`;
    case 'glr': {
      const mde =
        stopping.minimumDetectableEffect === null
          ? ''
          : `, minimum detectable effect ${stopping.minimumDetectableEffect}`;
      return `${goal}; glr: declare a winner at error rate δ = ${formatDelta(stopping.threshold)}${mde} ${gate}, ${then}`;
    }
    case 'probability-best':
      return `${goal}; probability-best: P(best) reported only, never a winner (not error-controlled when checked repeatedly)`;
  }
}

function formatDelta(threshold: number): string {
  return (1 - threshold).toPrecision(3).replace(/\.?0+$/, '');
}

function formatPolicy(e: ExperimentDefined): string {
  switch (e.policy) {
    case 'thompson-sampling':
      return `thompson-sampling, prior Beta(${e.priorAlpha}, ${e.priorBeta})`;
    case 'gaussian-thompson-sampling':
      return (
        `gaussian-thompson-sampling, prior Normal(mean ${e.priorMean}, ` +
        `variance ${e.priorVariance}, strength ${e.priorStrength})`
      );
    case 'epsilon-greedy':
      return `epsilon-greedy, epsilon ${e.epsilon}`;
    case 'ucb1':
      return `ucb1, exploration ${e.ucbExploration}`;
    case 'static-weights':
      return 'static-weights (the configured weights)';
  }
}

/** The definition as labelled lines. */
export function formatDefinition(e: ExperimentDefined): string {
  const implicit = e.implicitReward === null ? 'none (dropped)' : String(e.implicitReward);
  const lines: [string, string][] = [
    ['experiment', `${e.experiment} (revision ${e.revision}, updated ${formatTime(e.updatedAt)})`],
    ['state', e.stateReason === null ? e.state : `${e.state} (${e.stateReason})`],
  ];
  if (e.winner !== null) lines.push(['winner', e.winner]);
  lines.push(
    ['variants', formatVariants(e.variants)],
    ['champion', `${championOf(e)}${e.champion === null ? ' (the first variant)' : ''}`],
    ['policy', formatPolicy(e)],
    ['warm-up', `${e.warmUpRewards} rewards per variant`],
    ['floor', `${e.probabilityFloor} per variant`],
    ['half-life', e.halfLifeMs === null ? 'none' : formatDuration(e.halfLifeMs)],
    [
      'rewards',
      `${e.rewardKind}; window ${formatDuration(e.attributionWindowMs)}, grace ${formatDuration(e.graceMs)}, implicit reward ${implicit}`,
    ],
    ['canary', formatCanary(e.canary)],
    ['shadow', formatNames(e.shadowVariants)],
    ['sticky', e.sticky ? 'yes' : 'no'],
    ['stopping', formatStoppingConfig(e.stopping)],
  );
  return labelled(lines);
}

// ---------------------------------------------------------------------------------------------
// Statistics and decisions

/** The served variant with the highest P(best), or null without statistics. */
export function leaderOf(statistics: ExperimentStatistics | null): VariantStatistics | null {
  let leader: VariantStatistics | null = null;
  for (const v of statistics?.variants ?? []) {
    if (!v.shadow && (leader === null || v.probabilityBest > leader.probabilityBest)) leader = v;
  }
  return leader;
}

export function formatSampleRatio(check: ExperimentStatistics['sampleRatio']): string {
  if (check === null) return 'no decisions yet';
  const verdict = check.mismatch
    ? 'MISMATCH: the observed split is not what the allocation implies'
    : 'ok';
  return (
    `chi² = ${check.chiSquare.toFixed(2)}, df = ${check.degreesOfFreedom}, ` +
    `p = ${formatPValue(check.pValue)}  ${verdict}`
  );
}

/** The statistics table with the SRM and stopping-rule lines. */
export function formatStatistics(s: ExperimentStatistics, champion: string | null = null): string {
  const headers = [
    'variant',
    'rewards',
    'mean [95% cred.]',
    'P(best)',
    'exp. loss',
    'Δ vs champion [anytime 95%]',
    'anytime p',
    'assigned',
    'expected',
  ];
  const rows = s.variants.map((v) => [
    `${v.variant}${v.shadow ? ' (shadow)' : ''}${v.variant === champion ? ' (champion)' : ''}`,
    formatCount(v.rewards),
    `${formatNumber(v.mean)} [${formatNumber(v.lower95)}, ${formatNumber(v.upper95)}]`,
    v.shadow ? DASH : formatPercent(v.probabilityBest),
    formatLoss(v.expectedLoss),
    formatDifference(v),
    formatPValue(v.anytimePValue),
    String(v.assigned),
    v.expectedAssigned.toFixed(1),
  ]);
  const right = [false, true, false, true, true, true, true, true, true];
  const stopping = s.stopping.satisfied ? `${s.stopping.detail} (satisfied)` : s.stopping.detail;
  return [
    `statistics of revision ${s.revision} (${s.state}), computed ${formatTime(s.computedAt)}`,
    formatTable(headers, rows, right),
    labelled([
      ['SRM', formatSampleRatio(s.sampleRatio)],
      ['stopping', `${s.stopping.rule}: ${stopping}`],
      ...s.caveats.map((caveat): [string, string] => ['note', caveat]),
    ]),
  ].join('\n');
}

/** The anytime-valid interval of the difference with the champion, e.g. "+0.129 [+0.09, +0.17]". */
function formatDifference(v: ExperimentStatistics['variants'][number]): string {
  if (v.differenceLower95 === null || v.differenceUpper95 === null) return DASH;
  const signed = (x: number): string => `${x >= 0 ? '+' : ''}${formatNumber(x)}`;
  const middle = (v.differenceLower95 + v.differenceUpper95) / 2;
  return `${signed(middle)} [${signed(v.differenceLower95)}, ${signed(v.differenceUpper95)}]`;
}

export function formatDecision(d: DecisionMade): string {
  return (
    `${d.kind} ${d.variant}, ${d.applied ? 'applied' : 'not applied'} ` +
    `(rule ${d.rule}, revision ${d.revision}, ${formatTime(d.decidedAt)}): ${d.reason}`
  );
}

/** `show NAME`: the definition, the latest statistics and the latest decision. */
export function formatExperimentView(view: ExperimentView): string {
  const { definition, statistics, decision } = view;
  const parts = [formatDefinition(definition), ''];
  if (statistics === null) {
    parts.push('statistics: none yet');
  } else {
    parts.push(formatStatistics(statistics, championOf(definition)));
    if (statistics.revision !== definition.revision) {
      parts.push(
        `(computed for revision ${statistics.revision}; the definition is at revision ${definition.revision})`,
      );
    }
  }
  parts.push(`decision  ${decision === null ? 'none' : formatDecision(decision)}`);
  return parts.join('\n');
}

/** `show`: one line per experiment. */
export function formatExperimentList(views: readonly ExperimentView[]): string {
  if (views.length === 0) return 'no experiments';
  const rows = views.map(({ definition: e, statistics }) => {
    const leader = leaderOf(statistics);
    const shadow = e.shadowVariants.length === 0 ? '' : ` + shadow ${e.shadowVariants.join(', ')}`;
    return [
      e.experiment,
      e.state === 'promoted' ? `promoted (${e.winner ?? '?'})` : e.state,
      e.policy,
      String(e.revision),
      formatVariants(e.variants) + shadow,
      leader === null ? DASH : `${leader.variant} ${formatPercent(leader.probabilityBest)}`,
    ];
  });
  return formatTable(
    ['experiment', 'state', 'policy', 'revision', 'variants', 'leader P(best)'],
    rows,
    [false, false, false, true, false, false],
  );
}

// ---------------------------------------------------------------------------------------------
// Changes

/** JSON with object keys sorted, so equal values compare equal whatever their key order. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

const DURATION_FIELDS = new Set(['attributionWindowMs', 'graceMs', 'halfLifeMs']);

/** One field's value as the change summary shows it. */
export function describeValue(field: string, value: unknown): string {
  if (value === null) return 'none';
  if (field === 'variants') return formatVariants(value as VariantConfig[]);
  if (field === 'shadowVariants') return formatNames(value as string[]);
  if (field === 'canary') return formatCanary(value as CanaryConfig);
  if (DURATION_FIELDS.has(field) && typeof value === 'number') return formatDuration(value);
  if (typeof value === 'number') return String(value);
  return typeof value === 'string' ? value : stableJson(value);
}

/**
 * "field: old → new" for every field that differs (stopping field by field), ignoring the
 * revision and the time of the change.
 */
export function describeChanges(before: ExperimentDefined, after: ExperimentDefined): string[] {
  const changes: string[] = [];
  const compare = (field: string, a: unknown, b: unknown): void => {
    if (stableJson(a) !== stableJson(b)) {
      changes.push(`${field}: ${describeValue(field, a)} → ${describeValue(field, b)}`);
    }
  };
  for (const key of EXPERIMENT_FIELDS) {
    if (key === 'revision' || key === 'updatedAt') continue;
    if (key === 'stopping') {
      for (const sub of Object.keys(after.stopping) as (keyof StoppingConfig)[]) {
        compare(`stopping.${sub}`, before.stopping[sub], after.stopping[sub]);
      }
    } else {
      compare(key, before[key], after[key]);
    }
  }
  return changes;
}
