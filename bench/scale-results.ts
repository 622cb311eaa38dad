// What the scale benchmark measures (bench/scale-bench.ts) and how big each part of a run is.
// Types and plain constants only, shared by the stages and the report.
import type { KafkaCeilingReport } from './kafka-ceiling.ts';
import type { LatencySummary } from './scale-measures.ts';

/**
 * Default backlog per drain and requests per maximum-rate run (about 5 minutes in all here). A
 * 10,000-record drain took under half a second on a quiet machine, too short for stable ratios.
 */
export const DEFAULT_SCALE_REQUESTS = 30_000;
/** The same for --quick, a smoke run of every stage. */
export const QUICK_SCALE_REQUESTS = 1_000;

/** Offered loads of the latency phases, as fractions of the measured maximum rate the closed loop sustains. */
export const LATENCY_LOADS: readonly number[] = [0.25, 0.5, 0.8];
/** The load during which labels are probed. */
export const PROBE_LOAD = 0.8;

/** Sizes of the parts of a run that do not follow --requests. */
export interface ScalePlan {
  readonly ceilingSmallRecords: number;
  readonly ceilingSpamRecords: number;
  readonly ceilingRoundTrips: number;
  /**
   * Requests of the end-to-end warm-up, per size, at least: the first run at full speed after a
   * short warm-up came out markedly slower than the same run done second (fresh processes still
   * compiling their hot paths), so the warm-up grows with --requests (see warmUpRequests).
   */
  readonly warmUpRequests: number;
  /**
   * The 256-byte drains take this many times --requests: at 30,000 records a drain of small
   * records lasts under a second, two or three transactions per partition, and measures mostly
   * a fresh process's first cycle (its hot paths still compiling) rather than its rate.
   */
  readonly smallDrainFactor: number;
  /** Length of the 25% and 50% load phases. */
  readonly loadMs: number;
  /** Length of the 80% load phase, during which labels are probed. */
  readonly probeLoadMs: number;
}

export function scalePlan(quick: boolean): ScalePlan {
  return quick
    ? {
        ceilingSmallRecords: 20_000,
        ceilingSpamRecords: 3_000,
        ceilingRoundTrips: 200,
        warmUpRequests: 300,
        smallDrainFactor: 1,
        loadMs: 2_000,
        probeLoadMs: 4_000,
      }
    : {
        ceilingSmallRecords: 200_000,
        ceilingSpamRecords: 30_000,
        ceilingRoundTrips: 1_000,
        warmUpRequests: 500,
        smallDrainFactor: 5,
        loadMs: 6_000,
        probeLoadMs: 20_000,
      };
}

/** Warm-up requests per size before the end-to-end measures: a fifth of --requests, at least the plan's. */
export function warmUpRequests(plan: ScalePlan, requests: number): number {
  return Math.max(plan.warmUpRequests, Math.ceil(requests / 5));
}

/**
 * Requests of the maximum-rate run that may be sent and not yet rewarded. Sent as fast as
 * acknowledgements allow with no such bound, the generator, router and inference finished their
 * part early and the aggregator drained the rewards alone, with the machine to itself: the rate
 * came out a quarter to a half above what the loop sustains with every stage running at once (at
 * 80% of it the rewards fell behind by seconds within 20 s, 2026-12-07). A quarter of the run
 * keeps every stage busy (about 1–2 s of work at the rates seen here) while the rewards set the
 * pace.
 */
export function maxRateInFlight(requests: number): number {
  return Math.max(1_000, Math.ceil(requests / 4));
}

/** The two record sizes: 256-byte texts and the served spam mails. */
export type SizeKey = 'small' | 'spam';

export interface DrainResult {
  readonly name: string;
  readonly instances: number;
  readonly records: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** Writing the backlog (one transaction) before the drain; not part of the drain time. */
  readonly backlogWriteSeconds: number;
  /** Outputs that record a failure (predictions with an error); 0 for other outputs. */
  readonly failedOutputs: number;
}

export interface ScaleOutResult {
  /** Inference against the instant model, 2 instances (1 instance: SizeDrains.inferenceInstant). */
  readonly inferenceTwoInstances: DrainResult;
  readonly aggregatorOneInstance: DrainResult;
  readonly aggregatorTwoInstances: DrainResult;
}

export interface SizeDrains {
  readonly size: SizeKey;
  readonly router: DrainResult;
  readonly routerTwin: DrainResult;
  readonly inferenceInstant: DrainResult;
  readonly inferenceTwin: DrainResult;
  readonly inferenceRealModel: DrainResult;
  readonly scaleOut?: ScaleOutResult;
}

export interface LoadPhaseResult {
  readonly load: number;
  readonly offeredPerSecond: number;
  readonly requests: number;
  /** Predictions read back per second, from the first intended send to the last prediction. */
  readonly achievedPerSecond: number;
  /** Prediction read back − intended send time. */
  readonly latencyMs: LatencySummary;
  /** Assignment read back − intended send time: the router's part of the latency. */
  readonly assignmentLatencyMs: LatencySummary;
  /**
   * Reward read back − intended send time: the aggregator's join of the prediction with its
   * label (sent right after the request), committed. Bounds label → router from below.
   */
  readonly rewardLatencyMs: LatencySummary;
  /** How late the generator sent requests (actual − intended send time), p99 and max. */
  readonly sendLateP99Ms: number;
  readonly sendLateMaxMs: number;
}

export interface SizeEndToEnd {
  readonly size: SizeKey;
  readonly requests: number;
  /** The maximum-rate run's bound on requests sent and not yet rewarded (maxRateInFlight). */
  readonly inFlight: number;
  readonly predictionsPerSecond: number;
  readonly rewardsPerSecond: number;
  readonly loads: readonly LoadPhaseResult[];
  readonly labelToRouterMs: LatencySummary;
  /**
   * CPU per request during the maximum-rate run (first send to the last reward), in µs, per
   * process: router, inference, aggregator, endpoint, broker (embedded only), generator (the
   * benchmark process: producer and readers).
   */
  readonly cpuPerRequestMicros: Readonly<Record<string, number>>;
}

export interface ScaleResult {
  readonly options: {
    readonly requests: number;
    readonly partitions: number;
    readonly quick: boolean;
  };
  readonly plan: ScalePlan;
  readonly broker: string;
  readonly loadAverageStart: number;
  readonly loadAverageEnd: number;
  readonly seconds: number;
  readonly smallBytes: number;
  readonly spamMeanBytes: number;
  readonly ceiling: KafkaCeilingReport;
  readonly drains: readonly SizeDrains[];
  readonly endToEnd: readonly SizeEndToEnd[];
}
