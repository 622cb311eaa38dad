// The prediction published for one invocation, from the assignment and what the call returned.
// Every invocation yields one: failures are recorded on it, never dropped. Pure.

import type { PredictionMade } from '../../../lib/contracts/events.ts';
import { extractPredictedLabel } from './extract-label.ts';
import { requestIdOf, variantOf, type Invocation } from './plan-calls.ts';

/** What came back for one invocation: an output, or the failure that ended its attempts. */
export interface InvocationResult {
  readonly output: {
    readonly body: Uint8Array;
    readonly contentType: string;
    /** Variant that answered (X-Amzn-Invoked-Production-Variant). */
    readonly invokedVariant: string | null;
  } | null;
  readonly failure: { readonly code: string; readonly message: string } | null;
  /** Time the call took, retries included; for a batch call, the whole call's time. */
  readonly latencyMs: number;
  /** The InferenceId the call carried; absent or null when none (a batch call). */
  readonly inferenceId?: string | null;
}

export function predictionOf(
  invocation: Invocation,
  result: InvocationResult,
  eventTime: number,
  predictedLabelField: string,
): PredictionMade {
  const { assignment, shadowVariant } = invocation;
  const { request } = assignment;
  const { output } = result;
  return {
    requestId: requestIdOf(invocation),
    experiment: request.experiment,
    requestedVariant: variantOf(invocation),
    invokedVariant: output?.invokedVariant ?? null,
    output: output?.body ?? new Uint8Array(0),
    outputContentType: output?.contentType ?? '',
    predictedLabel:
      output === null
        ? null
        : extractPredictedLabel(output.body, output.contentType, predictedLabelField),
    latencyMs: result.latencyMs,
    error: result.failure,
    // A shadow copy is invoked for every request of the experiment: probability 1.
    propensity: shadowVariant === null ? assignment.propensity : 1,
    snapshotVersion: assignment.snapshotVersion,
    policy: assignment.policy,
    requestTime: request.eventTime,
    eventTime,
    allocation: shadowVariant === null ? assignment.allocation : [],
    shadowVariants: shadowVariant === null ? assignment.shadowVariants : [],
    shadowOf: shadowVariant === null ? null : request.requestId,
    inferenceId: result.inferenceId ?? null,
    experimentRevision: assignment.experimentRevision ?? null,
  };
}
