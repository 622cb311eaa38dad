// Turns one assignment into one prediction by invoking the assigned production variant.
// Every assignment yields a prediction: model errors and endpoint failures that outlast the
// retries are recorded on the prediction (never lost), so the aggregator and auditors see them.
import type { PredictionMade, VariantAssigned } from '../../lib/contracts/events.ts';
import { shadowRequestId } from '../../lib/contracts/experiment-defaults.ts';
import { toDynabError } from '../../lib/errors/catalogue.ts';
import type { InvokeOutput, ModelEndpoint } from '../../lib/model-endpoint/model-endpoint.ts';
import { extractPredictedLabel } from './core/extract-label.ts';

export interface InvokeVariantDeps {
  readonly endpoint: ModelEndpoint;
  readonly maxAttempts: number;
  readonly predictedLabelField: string;
  /** Wall clock (epoch ms) for event times. */
  readonly now: () => number;
  /** Monotonic clock (ms) for latency. */
  readonly monotonicNow: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly onRetry?: (assignment: VariantAssigned, attempt: number, error: Error) => void;
}

/**
 * Invokes the assigned variant, or with `shadowVariant` the shadow copy for that variant: same
 * payload, its own request id (`shadowRequestId`), never served, scored later with the label of
 * the original request.
 */
export async function invokeVariant(
  assignment: VariantAssigned,
  deps: InvokeVariantDeps,
  shadowVariant: string | null = null,
): Promise<PredictionMade> {
  const { request } = assignment;
  const variant = shadowVariant ?? assignment.variant;
  const requestId =
    shadowVariant === null ? request.requestId : shadowRequestId(request.requestId, shadowVariant);
  const started = deps.monotonicNow();
  let output: InvokeOutput | null = null;
  let failure: { code: string; message: string } | null = null;
  for (let attempt = 1; ; attempt++) {
    try {
      output = await deps.endpoint.invoke({
        endpointName: request.experiment,
        targetVariant: variant,
        body: request.payload,
        contentType: request.contentType,
        accept: 'application/json',
        inferenceId: requestId,
      });
      break;
    } catch (thrown) {
      const error = toDynabError(thrown, 'ENDPOINT_UNAVAILABLE');
      if (error.retriable && attempt < deps.maxAttempts) {
        deps.onRetry?.(assignment, attempt, error);
        // Exponential backoff with full jitter would need randomness; a fixed doubling is enough
        // here because the endpoint's own throttling spreads callers.
        await deps.sleep(Math.min(2_000, 50 * 2 ** (attempt - 1)));
        continue;
      }
      failure = { code: error.code, message: error.message };
      break;
    }
  }
  const latencyMs = deps.monotonicNow() - started;
  return {
    requestId,
    experiment: request.experiment,
    requestedVariant: variant,
    invokedVariant: output?.invokedVariant ?? null,
    output: output?.body ?? new Uint8Array(0),
    outputContentType: output?.contentType ?? '',
    predictedLabel:
      output === null
        ? null
        : extractPredictedLabel(output.body, output.contentType, deps.predictedLabelField),
    latencyMs,
    error: failure,
    // A shadow copy is invoked for every request of the experiment: probability 1.
    propensity: shadowVariant === null ? assignment.propensity : 1,
    snapshotVersion: assignment.snapshotVersion,
    policy: assignment.policy,
    requestTime: request.eventTime,
    eventTime: deps.now(),
    allocation: shadowVariant === null ? assignment.allocation : [],
    shadowVariants: shadowVariant === null ? assignment.shadowVariants : [],
    shadowOf: shadowVariant === null ? null : request.requestId,
  };
}
