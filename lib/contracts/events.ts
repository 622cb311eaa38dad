// The logical contract of every stream, as plain TypeScript data. The Avro schemas in
// `schemas/` are the wire form of exactly these shapes; `lib/codec` converts between them.
// Times are epoch milliseconds (event time unless named otherwise).

/** An inference request from a backend (topic `requests`, key = requestId). */
export interface InferenceRequested {
  readonly requestId: string;
  /** Experiment name; by default the SageMaker endpoint name. */
  readonly experiment: string;
  readonly payload: Uint8Array;
  readonly contentType: string;
  readonly userId: string | null;
  /** When set, the router honours it instead of running the bandit. */
  readonly targetVariant: string | null;
  readonly eventTime: number;
}

/** Policies the router can apply; `fallback-weights` means the experiment was unknown. */
export type PolicyName =
  'thompson-sampling' | 'static-weights' | 'target-variant' | 'fallback-weights';

/** The router's decision (topic `assignments`, key = requestId). */
export interface VariantAssigned {
  readonly request: InferenceRequested;
  readonly variant: string;
  readonly policy: PolicyName;
  /** Version of the merged posterior the decision used; -1 when none was available. */
  readonly snapshotVersion: number;
  /** Probability that this policy picks this variant at this moment. */
  readonly propensity: number;
  /** Why: "posterior", "warm-up", "target", "unknown-experiment", ... */
  readonly reason: string;
  readonly decisionTime: number;
}

/** The model's answer (topic `predictions`, key = requestId). */
export interface PredictionMade {
  readonly requestId: string;
  readonly experiment: string;
  readonly requestedVariant: string;
  /** Variant reported by X-Amzn-Invoked-Production-Variant; null when the call failed. */
  readonly invokedVariant: string | null;
  readonly output: Uint8Array;
  readonly outputContentType: string;
  /** Label extracted from the model output when possible (e.g. "spam"). */
  readonly predictedLabel: string | null;
  readonly latencyMs: number;
  /** Error code and message when the invocation failed; the prediction is still published. */
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly propensity: number;
  readonly snapshotVersion: number;
  readonly policy: PolicyName;
  readonly requestTime: number;
  readonly eventTime: number;
}

/** Feedback for a request (topic `labels`, key = requestId). */
export interface LabelReceived {
  readonly requestId: string;
  /** Explicit reward in [0, 1]; takes precedence over `label`. */
  readonly reward: number | null;
  /** Ground truth to compare with the predicted label. */
  readonly label: string | null;
  readonly eventTime: number;
  readonly source: string;
}

export type Resolution = 'label' | 'implicit' | 'late';

/** A joined outcome (topic `rewards`, key = requestId), published for audit. */
export interface RewardResolved {
  readonly requestId: string;
  readonly experiment: string;
  readonly variant: string;
  readonly reward: number;
  readonly propensity: number;
  readonly resolution: Resolution;
  readonly predictionTime: number;
  readonly labelTime: number | null;
  readonly resolvedAt: number;
}

/** Sufficient statistics of one variant: Beta successes/failures without the prior. */
export interface VariantCounts {
  readonly variant: string;
  /** Sum of rewards (α − prior α). */
  readonly successes: number;
  /** Sum of (1 − reward) (β − prior β). */
  readonly failures: number;
  /** Number of rewards folded in. */
  readonly count: number;
  /** Of those, rewards resolved implicitly when the window closed without a label. */
  readonly implicit: number;
  /** Predictions whose window closed without a label or implicit reward (not folded in). */
  readonly dropped: number;
  /** Labels that arrived after their window (published as late, not folded in). */
  readonly late: number;
}

/**
 * A partial posterior (topic `posteriors`, compacted, key = experiment + "/" + partition):
 * counts of the rewards resolved from one input partition. The router sums the partials of all
 * partitions and adds the prior once.
 */
export interface PosteriorPublished {
  readonly experiment: string;
  readonly partition: number;
  readonly variants: readonly VariantCounts[];
  /** Monotonic per (experiment, partition): the number of rewards folded in so far. */
  readonly version: number;
  readonly publishedAt: number;
}

export interface VariantConfig {
  readonly name: string;
  /** Static weight (SageMaker production-variant weight), used for warm-up and fallback. */
  readonly weight: number;
}

export type ExperimentState = 'running' | 'stopped' | 'promoted';

/** Experiment definition (topic `experiments`, compacted, key = experiment). */
export interface ExperimentDefined {
  readonly experiment: string;
  readonly variants: readonly VariantConfig[];
  readonly policy: 'thompson-sampling' | 'static-weights';
  readonly priorAlpha: number;
  readonly priorBeta: number;
  /** Minimum rewards per variant before the posterior drives traffic. */
  readonly warmUpRewards: number;
  /** Attribution window in ms of event time, from the request's event time. */
  readonly attributionWindowMs: number;
  /**
   * Allowed lateness (ms): the window closes once labels with event times past its end plus
   * this much have been seen on the partition, so slightly reordered labels still count.
   */
  readonly graceMs: number;
  /** Reward for a prediction whose window closed without a label; null drops it uncounted. */
  readonly implicitReward: number | null;
  readonly state: ExperimentState;
  readonly updatedAt: number;
}

/** A message that could not be processed (topic `dead-letters`, key = original key). */
export interface DeadLettered {
  readonly sourceTopic: string;
  readonly sourcePartition: number;
  readonly sourceOffset: string;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly errorCode: string;
  readonly reason: string;
  readonly service: string;
  readonly failedAt: number;
}
