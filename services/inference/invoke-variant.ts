// Calls a model through the endpoint port, retrying what passes with time, and turns one
// assignment into one prediction (the single-record path). Every assignment yields a
// prediction: model errors and endpoint failures that outlast the retries are recorded on the
// prediction (never lost), so the aggregator and auditors see them.
import type { PredictionMade, VariantAssigned } from '../../lib/contracts/events.ts';
import { toDynabError, type DynabError } from '../../lib/errors/catalogue.ts';
import type {
  InvokeInput,
  InvokeOutput,
  ModelEndpoint,
} from '../../lib/model-endpoint/model-endpoint.ts';
import { inferenceIdFor } from '../../lib/model-endpoint/inference-id.ts';
import { requestIdOf, targetVariantOf, type Invocation } from './core/plan-calls.ts';
import { predictionOf, type InvocationResult } from './core/prediction.ts';

export interface InvokeDeps {
  readonly endpoint: ModelEndpoint;
  readonly maxAttempts: number;
  /** Monotonic clock (ms) for latency. */
  readonly monotonicNow: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface InvokeVariantDeps extends InvokeDeps {
  readonly predictedLabelField: string;
  /** Wall clock (epoch ms) for event times. */
  readonly now: () => number;
  readonly onRetry?: (assignment: VariantAssigned, attempt: number, error: Error) => void;
}

export interface InvokeAttempts {
  readonly output: InvokeOutput | null;
  /** The failure that ended the attempts, when no output came. */
  readonly failure: DynabError | null;
  /** From the first attempt until the output or the last failure. */
  readonly latencyMs: number;
}

/**
 * Invokes the endpoint, retrying throttled and unavailable failures with backoff up to
 * `maxAttempts`; anything else (a model error, a validation error) ends the attempts at once.
 */
export async function invokeWithRetries(
  input: InvokeInput,
  deps: InvokeDeps,
  onRetry?: (attempt: number, error: DynabError) => void,
): Promise<InvokeAttempts> {
  const started = deps.monotonicNow();
  for (let attempt = 1; ; attempt++) {
    try {
      const output = await deps.endpoint.invoke(input);
      return { output, failure: null, latencyMs: deps.monotonicNow() - started };
    } catch (thrown) {
      const error = toDynabError(thrown, 'ENDPOINT_UNAVAILABLE');
      if (error.retriable && attempt < deps.maxAttempts) {
        onRetry?.(attempt, error);
        // Exponential backoff with full jitter would need randomness; a fixed doubling is enough
        // here because the endpoint's own throttling spreads callers.
        await deps.sleep(Math.min(2_000, 50 * 2 ** (attempt - 1)));
        continue;
      }
      return { output: null, failure: error, latencyMs: deps.monotonicNow() - started };
    }
  }
}

/** The call that invokes one invocation on its own, in the request's own format. */
export function singleInput(invocation: Invocation): InvokeInput {
  const { request } = invocation.assignment;
  return {
    endpointName: request.experiment,
    targetVariant: targetVariantOf(invocation),
    body: request.payload,
    contentType: request.contentType,
    accept: 'application/json',
    // The request id, or an id derived from it when SageMaker would not accept it as a header.
    inferenceId: inferenceIdFor(requestIdOf(invocation)),
  };
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
  const invocation: Invocation = { record: 0, assignment, shadowVariant };
  const input = singleInput(invocation);
  const attempts = await invokeWithRetries(input, deps, (attempt, error) =>
    deps.onRetry?.(assignment, attempt, error),
  );
  return predictionOf(
    invocation,
    resultOf(attempts, input.inferenceId ?? null),
    deps.now(),
    deps.predictedLabelField,
  );
}

/** The attempts as the prediction records them, with the InferenceId the call carried. */
export function resultOf(
  attempts: InvokeAttempts,
  inferenceId: string | null = null,
): InvocationResult {
  const { output, failure, latencyMs } = attempts;
  return {
    inferenceId,
    output:
      output === null
        ? null
        : {
            body: output.body,
            contentType: output.contentType,
            invokedVariant: output.invokedVariant,
          },
    failure: failure === null ? null : { code: failure.code, message: failure.message },
    latencyMs,
  };
}
