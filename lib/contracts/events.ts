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

/** Policies an experiment can be configured with. */
export type ExperimentPolicy =
  'thompson-sampling' | 'gaussian-thompson-sampling' | 'epsilon-greedy' | 'ucb1' | 'static-weights';

/**
 * Policies the router reports on a decision: the experiment's policy, `static-weights` while
 * warming up, paused, canary or finished, `target-variant` when the caller chose, and
 * `fallback-weights` when the experiment was unknown.
 */
export type PolicyName = ExperimentPolicy | 'target-variant' | 'fallback-weights';

/** The probability a decision's policy gave one variant at the moment of the decision. */
export interface VariantProbability {
  readonly variant: string;
  readonly probability: number;
}

/**
 * The variant asked for when the router leaves the choice to the endpoint (policy
 * `fallback-weights`, the experiment being unknown to it): InvokeEndpoint then goes without
 * TargetVariant, the endpoint's production-variant weights choose, and the variant that answered
 * is the prediction's `invokedVariant`. The empty string, because SageMaker variant names cannot
 * be empty, so it never names a real variant, and the schemas need no change to carry it.
 */
export const ENDPOINT_CHOOSES = '';

/** The router's decision (topic `assignments`, key = requestId). */
export interface VariantAssigned {
  readonly request: InferenceRequested;
  /** The variant to invoke; ENDPOINT_CHOOSES lets the endpoint's own weights pick one. */
  readonly variant: string;
  readonly policy: PolicyName;
  /** Version of the merged posterior the decision used; -1 when none was available. */
  readonly snapshotVersion: number;
  /** Probability that this policy picks this variant at this moment. */
  readonly propensity: number;
  /** Why: "posterior", "warm-up", "target", "unknown experiment: ...", ... */
  readonly reason: string;
  readonly decisionTime: number;
  /**
   * The whole distribution the variant was drawn from (every served variant with its
   * probability), so auditors can replay decisions and the aggregator can check the sample
   * ratio against the weights that were live. Empty in records written before it existed.
   */
  readonly allocation: readonly VariantProbability[];
  /** Variants to invoke on a copy of the request in shadow mode; never served. */
  readonly shadowVariants: readonly string[];
  /**
   * Revision of the experiment definition the decision was made under, so an audit can name the
   * rules in force; null for an unknown experiment and absent or null in older records.
   */
  readonly experimentRevision?: number | null;
}

/** The model's answer (topic `predictions`, key = requestId). */
export interface PredictionMade {
  readonly requestId: string;
  readonly experiment: string;
  /** The variant asked for (TargetVariant); ENDPOINT_CHOOSES when the endpoint's weights chose. */
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
  /** Copied from the assignment (empty for shadow predictions). */
  readonly allocation: readonly VariantProbability[];
  /** Shadow variants invoked for this request (on the served prediction only). */
  readonly shadowVariants: readonly string[];
  /**
   * Set on the prediction of a shadow variant: the request id it shadows. Such a prediction
   * has its own request id (see `shadowRequestId`), is never served, and is scored with the
   * label of the request it shadows.
   */
  readonly shadowOf: string | null;
  /**
   * The InferenceId sent with the call: the request id when SageMaker accepts it as is, else an
   * id derived from it (lib/model-endpoint/inference-id.ts); null when none was sent (batch
   * calls) and in records written before it existed.
   */
  readonly inferenceId?: string | null;
  /** Copied from the assignment: the experiment revision of the routing decision. */
  readonly experimentRevision?: number | null;
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
  /**
   * Source of the label that resolved the reward; `last-touch/<source>` when the attribution
   * service credited a user's label to this request. Null for implicit rewards.
   */
  readonly labelSource: string | null;
  readonly resolvedAt: number;
  /**
   * The routing decision the reward is credited to, copied from the prediction: its policy, the
   * posterior snapshot version and the experiment revision. Absent or null in records written
   * before they existed (schema history: reward/2026-12-07-before-decision-context).
   */
  readonly policy?: PolicyName | null;
  readonly snapshotVersion?: number | null;
  readonly experimentRevision?: number | null;
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
  /** Σ r over folded rewards (equals successes for rewards in [0, 1]; any sign for real rewards). */
  readonly rewardSum: number;
  /** Σ r² over folded rewards, for the variance of real-valued rewards. */
  readonly rewardSumSquares: number;
  /** Decisions that served this variant (first arrival of each distinct prediction). */
  readonly assigned: number;
  /**
   * Σ over every decision of the experiment of the probability the live allocation gave this
   * variant: the expected value of `assigned`, for the sample-ratio-mismatch check.
   */
  readonly expectedAssigned: number;
  /** Rewards discounted by the experiment's half-life, valued at the partial's `decayedAt`. */
  readonly decayed: DecayedSums;
}

/**
 * Exponentially discounted sums: each reward r with event time t counts with weight
 * w = 2^(−(decayedAt − t) / halfLife). Without a half-life every weight is 1.
 */
export interface DecayedSums {
  /** Σ w (the effective number of rewards). */
  readonly weight: number;
  /** Σ w·r */
  readonly rewardSum: number;
  /** Σ w·r² */
  readonly rewardSumSquares: number;
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
  /** Monotonic per (experiment, partition): the number of outcomes folded in so far. */
  readonly version: number;
  readonly publishedAt: number;
  /** Event time the decayed sums are valued at (the latest reward time folded in); 0 if none. */
  readonly decayedAt: number;
  /** Counts of shadow variants (invoked on copies, never served), kept apart from `variants`. */
  readonly shadowVariants: readonly VariantCounts[];
}

export interface VariantConfig {
  readonly name: string;
  /** Static weight (SageMaker production-variant weight), used for warm-up and fallback. */
  readonly weight: number;
}

/**
 * running: the policy routes; paused: configured weights, the policy and the stopping rule
 * wait; stopped: everything to the champion; promoted: everything to the winner.
 */
export type ExperimentState = 'running' | 'paused' | 'stopped' | 'promoted';

/** Kind of reward the experiment's labels carry. */
export type RewardKind = 'unit-interval' | 'real';

/** Canary mode: the challenger gets a small share and is rolled back when it is worse. */
export interface CanaryConfig {
  readonly challenger: string;
  /** Share of traffic the challenger gets while the canary runs, in (0, 1). */
  readonly share: number;
  /** Roll back when P(challenger mean < champion mean − margin) ≥ confidence. */
  readonly margin: number;
  readonly confidence: number;
  /** Rewards each of champion and challenger needs before the rule may fire. */
  readonly minRewards: number;
  /** Set once the canary was rolled back: the challenger then gets no traffic. */
  readonly rolledBackAt: number | null;
}

/**
 * none: no verdict. expected-loss (goal earn): report once choosing the leader costs less than
 * `tolerance` in expectation; never a "winner". glr (goal decide): an error-controlled test, a
 * winner that is wrong at most a fraction δ = 1 − threshold of the time however often it is
 * checked: for two variants with rewards in [0, 1] the balanced-pair mixture test on a 50/50
 * split, otherwise the Chernoff/GLR test.
 * probability-best: kept so that older definitions stay readable; P(best) is reported, but
 * checked again and again it is not an error-controlled rule, so it never declares a winner.
 */
export type StoppingRuleName = 'none' | 'expected-loss' | 'glr' | 'probability-best';

/**
 * What the experiment is for. earn: route to maximise reward (Thompson sampling); the verdict is
 * "choosing X loses less than the tolerance". decide: find the best variant with error ≤ δ; the
 * Bayesian policies route by top-two Thompson sampling, which keeps sampling the runner-up so
 * the test can stop (for two variants that is an even 50/50 split).
 */
export type ExperimentGoal = 'earn' | 'decide';

export interface StoppingConfig {
  readonly rule: StoppingRuleName;
  readonly goal: ExperimentGoal;
  /**
   * glr: 1 − δ, δ the error rate of the declared winner; probability-best: the P(best) level
   * reported as reached (no decision). Unused by expected-loss.
   */
  readonly threshold: number;
  /**
   * expected-loss: the expected reward lost per decision (E[max_k θ_k − θ_X], in reward units)
   * below which choosing X is good enough.
   */
  readonly tolerance: number;
  /**
   * Rewards every variant needs before the rule may fire. While a variant has fewer, the router
   * gives it forced exploration traffic so the gate cannot starve.
   */
  readonly minRewards: number;
  /** When the rule fires: true routes all traffic to the chosen variant, false only reports. */
  readonly autoPromote: boolean;
  /**
   * glr with two variants: the smallest gap in mean reward worth finding. The balanced-pair
   * test's evidence grows fastest near it (lib/stats/balanced-pair-test.ts); null spreads it
   * over gaps from 0.0025 to 0.32. It sets the test's speed, never its error rate.
   */
  readonly minimumDetectableEffect: number | null;
}

/** Experiment definition (topic `experiments`, compacted, key = experiment). */
export interface ExperimentDefined {
  readonly experiment: string;
  readonly variants: readonly VariantConfig[];
  readonly policy: ExperimentPolicy;
  /** Beta prior of thompson-sampling. */
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
  /** Increases by one with every change; decisions name the revision they were made on. */
  readonly revision: number;
  /** Why the state last changed (a command, a stopping decision, a canary roll-back). */
  readonly stateReason: string | null;
  /** The baseline: statistics compare against it, `stopped` routes to it. Null = first variant. */
  readonly champion: string | null;
  /** The variant a promotion sent all traffic to. */
  readonly winner: string | null;
  readonly rewardKind: RewardKind;
  /** epsilon-greedy: share of traffic explored uniformly, in [0, 1]. */
  readonly epsilon: number;
  /** UCB1: mean + c·√(2 ln N / n_j); c is this exploration factor. */
  readonly ucbExploration: number;
  /** Additive floor f per variant: p = f + (1 − K·f)·w, so no variant starves. K·f ≤ 1. */
  readonly probabilityFloor: number;
  /** Half-life in event-time ms for discounting old rewards in the policy; null = none. */
  readonly halfLifeMs: number | null;
  /** Normal prior of gaussian-thompson-sampling: mean, variance and weight in pseudo-rewards. */
  readonly priorMean: number;
  readonly priorVariance: number;
  readonly priorStrength: number;
  /** Variants invoked on a copy of each request and scored, never served. */
  readonly shadowVariants: readonly string[];
  /** Route a user (request userId) to the same variant while the allocation allows it. */
  readonly sticky: boolean;
  readonly canary: CanaryConfig | null;
  readonly stopping: StoppingConfig;
}

/** Statistics of one variant in an experiment-stats snapshot. */
export interface VariantStatistics {
  readonly variant: string;
  readonly shadow: boolean;
  readonly rewards: number;
  /** Posterior mean of the reward and its equal-tailed 95% credible interval. */
  readonly mean: number;
  readonly lower95: number;
  readonly upper95: number;
  /** Probability this variant has the highest mean (served variants only; 0 for shadows). */
  readonly probabilityBest: number;
  /** E[max_k θ_k − θ_j]: reward lost per decision by choosing this variant. */
  readonly expectedLoss: number;
  /**
   * Two-sided two-proportion z-test (Welch z-test for real rewards) against the champion.
   * Fixed-horizon: not valid when checked repeatedly or on adaptive traffic (see anytimePValue).
   */
  readonly zScore: number | null;
  readonly pValue: number | null;
  readonly assigned: number;
  readonly expectedAssigned: number;
  /**
   * Anytime-valid 95% confidence sequence of the mean reward (lib/stats/confidence-sequence.ts):
   * valid however often it is read, on adaptively allocated traffic. Null without rewards.
   */
  readonly anytimeLower95: number | null;
  readonly anytimeUpper95: number | null;
  /** Anytime-valid 95% interval of (this mean − champion mean); null for the champion. */
  readonly differenceLower95: number | null;
  readonly differenceUpper95: number | null;
  /** Anytime-valid p-value of equal means with the champion; null for the champion. */
  readonly anytimePValue: number | null;
}

/** Sample-ratio-mismatch check: observed assignments vs the live allocation's expectation. */
export interface SampleRatioCheck {
  readonly chiSquare: number;
  readonly degreesOfFreedom: number;
  readonly pValue: number;
  /** pValue < 0.001: the observed split is not what the allocation implies. */
  readonly mismatch: boolean;
}

/** Per-experiment statistics (topic `experiment-stats`, compacted, key = experiment). */
export interface ExperimentStatistics {
  readonly experiment: string;
  readonly revision: number;
  readonly state: ExperimentState;
  readonly variants: readonly VariantStatistics[];
  readonly sampleRatio: SampleRatioCheck | null;
  /** The stopping rule's view: its statistic, threshold and the current leader. */
  readonly stopping: {
    readonly rule: StoppingRuleName;
    readonly leader: string | null;
    readonly statistic: number;
    readonly threshold: number;
    readonly satisfied: boolean;
    readonly detail: string;
  };
  /** Plain statements of which numbers shown are not valid under continuous monitoring. */
  readonly caveats: readonly string[];
  readonly computedAt: number;
}

/**
 * winner: an error-controlled rule (glr) found the best variant. within-tolerance: the
 * expected-loss rule found a variant whose choice costs less than the tolerance (between
 * equivalent variants, the champion); not a claim that it is better. canary-rollback: see canary.
 */
export type DecisionKind = 'winner' | 'within-tolerance' | 'canary-rollback';

/** A decision about an experiment (topic `decisions`, key = experiment). */
export interface DecisionMade {
  readonly experiment: string;
  readonly kind: DecisionKind;
  /** The winner, or the rolled-back challenger. */
  readonly variant: string;
  /** Revision of the experiment the decision was made on. */
  readonly revision: number;
  /** Whether the decision changed routing (promotion or roll-back written to `experiments`). */
  readonly applied: boolean;
  readonly rule: string;
  /** Human-readable why, with the numbers. */
  readonly reason: string;
  readonly decidedAt: number;
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

/** What an experiment-history entry records. */
export type HistoryEntryKind = 'revision' | 'posterior' | 'plan' | 'decision';

/**
 * One step of an experiment's timeline (topic `experiment-history`, key = experiment, append-only),
 * written by the decider: each revision of the definition, posterior versions with their summary,
 * each change of allocation, each decision. `dynab history` prints it; a report can plot it.
 */
export interface ExperimentHistoryEntry {
  readonly experiment: string;
  readonly kind: HistoryEntryKind;
  readonly at: number;
  readonly revision: number;
  readonly state: ExperimentState;
  /** Sum of the partial versions merged; 0 before any. */
  readonly posteriorVersion: number;
  readonly policy: string;
  /** Posterior entries: per served variant, rewards, posterior mean and P(best). */
  readonly variants: readonly {
    readonly variant: string;
    readonly rewards: number;
    readonly mean: number;
    readonly probabilityBest: number;
  }[];
  /** Plan entries: the allocation. */
  readonly allocation: readonly VariantProbability[];
  readonly detail: string;
}
