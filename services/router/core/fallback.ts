// The fallback for a request whose experiment the router does not know: it is served as if
// dynab were not there, by the endpoint's own production-variant weights, the way SageMaker
// splits traffic without TargetVariant (and the way the AWS A/B testing sample falls back). The
// decision says so (policy `fallback-weights`), and the reporter keeps the log to a line per
// experiment now and then, not one per request. Pure: the time is passed in.
import {
  ENDPOINT_CHOOSES,
  type InferenceRequested,
  type VariantAssigned,
} from '../../../lib/contracts/events.ts';

/**
 * The assignment of a request for an unknown experiment. The router's action, leaving the choice
 * to the endpoint, is certain, hence propensity 1 and an allocation with nothing in it: the
 * endpoint's weights are not known here, so these decisions carry no propensity of the variant
 * that will answer and are kept out of every posterior. A target variant named by the caller is
 * passed on as it is: the endpoint honours or refuses it, as it would without dynab.
 */
export function fallbackAssignment(request: InferenceRequested, now: number): VariantAssigned {
  const target = request.targetVariant;
  return {
    request,
    variant: target ?? ENDPOINT_CHOOSES,
    policy: 'fallback-weights',
    snapshotVersion: -1,
    propensity: 1,
    reason:
      target === null
        ? 'unknown experiment: the endpoint chooses by its production-variant weights'
        : `unknown experiment: target variant ${target} requested by the caller`,
    decisionTime: now,
    allocation: [],
    shadowVariants: [],
    experimentRevision: null,
  };
}

/** A log line about fallbacks: how many requests of the experiment fell back since the last. */
export interface FallbackReport {
  readonly experiment: string;
  readonly fallbacks: number;
  /** The first line for this experiment (or the first since it was forgotten). */
  readonly first: boolean;
}

export interface FallbackReporterOptions {
  /** At most one line per experiment this often (ms). */
  readonly intervalMs: number;
  /**
   * Experiments remembered at once. Names come from requests, so a client can send any number of
   * them; past this many the one reported longest ago is forgotten (its next fallback is then
   * reported as a first again).
   */
  readonly maxExperiments: number;
}

interface Pending {
  readonly reportedAt: number;
  readonly fallbacks: number;
}

/**
 * Rate-limits the fallback log: the first fallback of an experiment is reported at once, later
 * ones at most once per interval, with the count since the previous line.
 */
export class FallbackReporter {
  // Insertion order is the order of the last report, so the first entry is the stalest.
  private readonly experiments = new Map<string, Pending>();

  constructor(private readonly options: FallbackReporterOptions) {}

  /** Notes one fallback at `now`; returns the line to log, or null when it is not yet due. */
  note(experiment: string, now: number): FallbackReport | null {
    const known = this.experiments.get(experiment);
    if (known !== undefined && now - known.reportedAt < this.options.intervalMs) {
      this.experiments.set(experiment, { ...known, fallbacks: known.fallbacks + 1 });
      return null;
    }
    this.experiments.delete(experiment);
    this.experiments.set(experiment, { reportedAt: now, fallbacks: 0 });
    while (this.experiments.size > this.options.maxExperiments) {
      const stalest = this.experiments.keys().next();
      if (stalest.done === true) break;
      this.experiments.delete(stalest.value);
    }
    return { experiment, fallbacks: (known?.fallbacks ?? 0) + 1, first: known === undefined };
  }
}
