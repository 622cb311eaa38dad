// The experiment timeline (topic `experiment-history`): which entries one evaluation of the
// decider appends, given what was last appended. Pure: the time is passed in.
//
// Every revision and every decision is recorded. Posterior versions and allocation changes come
// with every batch of rewards, so they are recorded at most once per `minIntervalMs` each (and
// always beside a revision or a decision): a timeline at that resolution, not a copy of the
// posteriors topic. A change held back comes with the time it is due (retryAt), when the decider
// evaluates the experiment again, so the timeline ends at the latest state. The cursor is what was last appended; the decider rebuilds it at start by
// folding the topic (foldHistory), so a restart does not repeat entries.
import type {
  DecisionMade,
  ExperimentDefined,
  ExperimentHistoryEntry,
  ExperimentStatistics,
  VariantProbability,
} from '../../../lib/contracts/events.ts';

/** What was last appended for one experiment. */
export interface HistoryCursor {
  readonly revision: number;
  readonly posteriorVersion: number;
  readonly posteriorAt: number;
  readonly allocation: readonly VariantProbability[];
  readonly policy: string;
  readonly planAt: number;
}

/** The allocation the router computes for the experiment now (services/router/core). */
export interface PlanView {
  readonly policy: string;
  readonly reason: string;
  readonly allocation: readonly VariantProbability[];
}

export interface HistoryInputs {
  readonly experiment: ExperimentDefined;
  readonly statistics: ExperimentStatistics;
  /** Version of the merged posterior (sum of the partial versions). */
  readonly posteriorVersion: number;
  readonly plan: PlanView;
  /** A decision written in this evaluation (a fresh one), else null. */
  readonly decision: DecisionMade | null;
  readonly now: number;
  readonly minIntervalMs: number;
}

const sameAllocation = (
  a: readonly VariantProbability[],
  b: readonly VariantProbability[],
): boolean =>
  a.length === b.length &&
  a.every((x, i) => {
    const y = b[i];
    if (y === undefined) return false;
    return x.variant === y.variant && Math.abs(x.probability - y.probability) < 1e-9;
  });

function describeRevision(experiment: ExperimentDefined): string {
  const weights = experiment.variants.map((v) => `${v.name}:${v.weight}`).join(',');
  const stopping = experiment.stopping;
  return (
    `revision ${experiment.revision}: ${experiment.state}, policy ${experiment.policy}, variants ${weights}, ` +
    `goal ${stopping.goal}, stop ${stopping.rule}` +
    (experiment.winner === null ? '' : `, winner ${experiment.winner}`)
  );
}

export function historyEntries(
  last: HistoryCursor | undefined,
  inputs: HistoryInputs,
): {
  entries: ExperimentHistoryEntry[];
  cursor: HistoryCursor;
  /** A posterior or allocation change waits for its interval: evaluate again at this time. */
  retryAt: number | null;
} {
  const { experiment, statistics, posteriorVersion, plan, decision, now } = inputs;
  const base = {
    experiment: experiment.experiment,
    at: now,
    revision: experiment.revision,
    state: experiment.state,
    posteriorVersion,
    variants: [],
    allocation: [],
  };
  const entries: ExperimentHistoryEntry[] = [];
  const revised = last?.revision !== experiment.revision;
  if (revised) {
    entries.push({
      ...base,
      kind: 'revision',
      policy: experiment.policy,
      detail: describeRevision(experiment),
    });
  }
  if (decision !== null) {
    entries.push({
      ...base,
      kind: 'decision',
      policy: experiment.policy,
      detail: `${decision.kind} ${decision.variant} (${decision.rule}${decision.applied ? ', applied' : ''}): ${decision.reason}`,
    });
  }
  const forced = revised || decision !== null;
  const due = (at: number | undefined): boolean =>
    forced || at === undefined || now - at >= inputs.minIntervalMs;

  let posteriorAt = last?.posteriorAt ?? Number.NEGATIVE_INFINITY;
  let writtenVersion = last?.posteriorVersion ?? 0;
  const posteriorChanged = posteriorVersion !== writtenVersion && posteriorVersion > 0;
  let retryAt: number | null = null;
  const later = (at: number | undefined): void => {
    const when = (at ?? now) + inputs.minIntervalMs;
    retryAt = retryAt === null ? when : Math.min(retryAt, when);
  };
  if (posteriorChanged && !due(last?.posteriorAt)) later(last?.posteriorAt);
  if (posteriorChanged && due(last?.posteriorAt)) {
    entries.push({
      ...base,
      kind: 'posterior',
      policy: experiment.policy,
      variants: statistics.variants
        .filter((v) => !v.shadow)
        .map((v) => ({
          variant: v.variant,
          rewards: v.rewards,
          mean: v.mean,
          probabilityBest: v.probabilityBest,
        })),
      detail: `posterior version ${posteriorVersion}; stopping ${statistics.stopping.rule}: ${statistics.stopping.detail}`,
    });
    posteriorAt = now;
    writtenVersion = posteriorVersion;
  }

  let planAt = last?.planAt ?? Number.NEGATIVE_INFINITY;
  let allocation = last?.allocation ?? [];
  let policy = last?.policy ?? '';
  const planChanged =
    last?.policy !== plan.policy || !sameAllocation(last.allocation, plan.allocation);
  if (planChanged && !due(last?.planAt)) later(last?.planAt);
  if (planChanged && due(last?.planAt)) {
    entries.push({
      ...base,
      kind: 'plan',
      policy: plan.policy,
      allocation: plan.allocation,
      detail: plan.reason,
    });
    planAt = now;
    allocation = plan.allocation;
    policy = plan.policy;
  }
  return {
    entries,
    cursor: {
      revision: experiment.revision,
      posteriorVersion: writtenVersion,
      posteriorAt,
      allocation,
      policy,
      planAt,
    },
    retryAt,
  };
}

/** The cursor after an entry read back from the topic (at start). */
export function foldHistory(
  cursor: HistoryCursor | undefined,
  entry: ExperimentHistoryEntry,
): HistoryCursor {
  const current: HistoryCursor = cursor ?? {
    revision: entry.revision,
    posteriorVersion: 0,
    posteriorAt: Number.NEGATIVE_INFINITY,
    allocation: [],
    policy: '',
    planAt: Number.NEGATIVE_INFINITY,
  };
  switch (entry.kind) {
    case 'revision':
    case 'decision':
      return { ...current, revision: entry.revision };
    case 'posterior':
      return {
        ...current,
        revision: entry.revision,
        posteriorVersion: entry.posteriorVersion,
        posteriorAt: entry.at,
      };
    case 'plan':
      return {
        ...current,
        revision: entry.revision,
        allocation: entry.allocation,
        policy: entry.policy,
        planAt: entry.at,
      };
  }
}
