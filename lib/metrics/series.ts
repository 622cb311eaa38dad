// Every series dynab's services export, in one place: names, help and labels (README, "Metrics",
// and the Grafana dashboard in infra/grafana are checked against this file). Prometheus
// conventions: prefix `dynab_`, counters end in `_total`, durations are histograms in seconds.
// Every series also carries the registry's default label `service` (and `instance`).
import {
  FAST_BUCKETS_SECONDS,
  LATENCY_BUCKETS_SECONDS,
  type Counter,
  type Family,
  type Gauge,
  type Histogram,
  type Metrics,
} from './metrics.ts';

type ExperimentVariant = readonly ['experiment', 'variant'];

/** The series of the generic runners (lib/stream): every consuming service has them. */
export interface RunnerSeries {
  readonly deadLetters: Family<readonly ['code'], Counter>;
  readonly lag: Family<readonly ['topic', 'partition'], Gauge>;
  readonly transactionSeconds: Family<readonly [], Histogram>;
}

export const RUNNER_SERIES = {
  recordsProcessed: {
    name: 'dynab_records_processed_total',
    help: 'Input records processed and committed (outputs and offsets in one transaction).',
    labelNames: [],
  },
  deadLetters: {
    name: 'dynab_dead_letters_total',
    help: 'Records sent to the dead letters and committed, by error code.',
    labelNames: ['code'],
  },
  lag: {
    name: 'dynab_consumer_lag_records',
    help: "Records behind the partition's high watermark after the last committed batch.",
    labelNames: ['topic', 'partition'],
  },
  transactionSeconds: {
    name: 'dynab_transaction_duration_seconds',
    help: 'Time to commit one Kafka transaction (outputs, changelog records and offsets).',
    labelNames: [],
    buckets: LATENCY_BUCKETS_SECONDS,
  },
} as const;

export function runnerSeries(metrics: Metrics): RunnerSeries {
  return {
    deadLetters: metrics.counter(RUNNER_SERIES.deadLetters),
    lag: metrics.gauge(RUNNER_SERIES.lag),
    transactionSeconds: metrics.histogram(RUNNER_SERIES.transactionSeconds),
  };
}

export const ROUTER_SERIES = {
  assignments: {
    name: 'dynab_assignments_total',
    help: 'Requests assigned to a variant by the router (counted when processed).',
    labelNames: ['experiment', 'variant'],
  },
  snapshotAge: {
    name: 'dynab_router_snapshot_age_seconds',
    help: 'Age of the newest posterior snapshot the router holds for an experiment (now − publishedAt).',
    labelNames: ['experiment'],
  },
  planBuildSeconds: {
    name: 'dynab_router_plan_build_seconds',
    help: 'Time to rebuild an experiment routing plan after a definition or a posterior changed.',
    labelNames: [],
    buckets: FAST_BUCKETS_SECONDS,
  },
} as const;

export interface RouterSeries {
  readonly assignments: Family<ExperimentVariant, Counter>;
  readonly planBuildSeconds: Family<readonly [], Histogram>;
}

export const INFERENCE_SERIES = {
  invocations: {
    name: 'dynab_invocations_total',
    help: 'Model invocations that produced a prediction (errors included), by requested variant.',
    labelNames: ['experiment', 'variant'],
  },
  modelLatency: {
    name: 'dynab_model_latency_seconds',
    help: 'Model invocation latency, retries included, by requested variant.',
    labelNames: ['experiment', 'variant'],
    buckets: LATENCY_BUCKETS_SECONDS,
  },
  modelErrors: {
    name: 'dynab_model_errors_total',
    help: 'Invocations that failed (recorded on the prediction), by error code.',
    labelNames: ['experiment', 'variant', 'code'],
  },
} as const;

export interface InferenceSeries {
  readonly invocations: Family<ExperimentVariant, Counter>;
  readonly modelLatency: Family<ExperimentVariant, Histogram>;
  readonly modelErrors: Family<readonly ['experiment', 'variant', 'code'], Counter>;
}

export const AGGREGATOR_SERIES = {
  rewards: {
    name: 'dynab_rewards_total',
    help: 'Rewards folded into the posterior and committed (labels and implicit rewards).',
    labelNames: ['experiment', 'variant'],
  },
  rewardSum: {
    name: 'dynab_reward_sum',
    help: 'Sum of the committed rewards (a gauge: real-valued rewards may be negative).',
    labelNames: ['experiment', 'variant'],
  },
  pendingJoins: {
    name: 'dynab_pending_joins',
    help: 'Join slots waiting for their other half or their window, in the owned partitions.',
    labelNames: [],
  },
  lateLabels: {
    name: 'dynab_late_labels_total',
    help: 'Labels that arrived after their window (published as late, not folded in).',
    labelNames: [],
  },
  orphanLabels: {
    name: 'dynab_orphan_labels_total',
    help: 'Labels whose prediction never came within the orphan horizon (dead-lettered).',
    labelNames: [],
  },
  labelsForwarded: {
    name: 'dynab_labels_forwarded_total',
    help: "Labels that arrived on another partition than their request id's, forwarded to it.",
    labelNames: [],
  },
} as const;

export interface AggregatorSeries {
  readonly rewards: Family<ExperimentVariant, Counter>;
  readonly rewardSum: Family<ExperimentVariant, Gauge>;
}

export const DECIDER_SERIES = {
  evaluations: {
    name: 'dynab_decider_evaluations_total',
    help: 'Experiment evaluations (statistics computed).',
    labelNames: [],
  },
  decisions: {
    name: 'dynab_decisions_total',
    help: 'Decisions published (promotions, roll-backs).',
    labelNames: [],
  },
} as const;

/** Every series name a dynab service can export. */
export const DYNAB_SERIES_NAMES: readonly string[] = (
  [
    RUNNER_SERIES,
    ROUTER_SERIES,
    INFERENCE_SERIES,
    AGGREGATOR_SERIES,
    DECIDER_SERIES,
  ] as readonly Readonly<Record<string, { readonly name: string }>>[]
).flatMap((group) => Object.values(group).map((spec) => spec.name));
