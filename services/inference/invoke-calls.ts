// Runs the calls planned by `core/plan-calls.ts`. A batch call that succeeds is split back into
// one result per invocation, in order. A batch call is retried record by record when its answer
// does not hold exactly one output per record (never guess which output is whose), and when the
// model or the endpoint rejected it (a model error or validation error may come from a single
// bad record; alone, it fails only its own prediction). Throttling and unavailability are
// retried with backoff for the whole batch, as for one record; if they outlast the attempts,
// every record of the batch records that failure, since calling each alone would only wait
// longer for the same answer.
import {
  BATCH_ACCEPT,
  BATCH_CONTENT_TYPES,
  splitBatchAnswer,
} from '../../lib/model-batch/batch-format.ts';
import type { DynabError } from '../../lib/errors/catalogue.ts';
import { targetVariantOf, type PlannedCall } from './core/plan-calls.ts';
import type { InvocationResult } from './core/prediction.ts';
import { invokeWithRetries, resultOf, singleInput, type InvokeDeps } from './invoke-variant.ts';

export interface InvokeCallDeps extends InvokeDeps {
  readonly onRetry?: (call: PlannedCall, attempt: number, error: DynabError) => void;
  /** A batch call is being replaced by one call per record, and why. */
  readonly onFallback?: (
    call: Extract<PlannedCall, { kind: 'batch' }>,
    reason: 'rejected' | 'answer does not split',
    error: DynabError | null,
  ) => void;
}

/** Results of a call, one per invocation of the call, in its order. */
export async function invokeCall(
  call: PlannedCall,
  deps: InvokeCallDeps,
): Promise<InvocationResult[]> {
  if (call.kind === 'single') return [await invokeAlone(call, deps)];
  const [first] = call.invocations;
  if (first === undefined) return [];
  const attempts = await invokeWithRetries(
    {
      endpointName: first.assignment.request.experiment,
      targetVariant: targetVariantOf(first),
      body: call.body,
      contentType: BATCH_CONTENT_TYPES[call.format],
      accept: BATCH_ACCEPT[call.format],
      // One call carries many requests, so no single inference id describes it.
    },
    deps,
    (attempt, error) => deps.onRetry?.(call, attempt, error),
  );
  const { output, failure } = attempts;
  if (output !== null) {
    const outputs = splitBatchAnswer(
      { body: output.body, contentType: output.contentType },
      call.invocations.length,
    );
    if (outputs !== null) {
      // Each record is credited with the whole call's latency: that is how long it waited.
      return outputs.map((split) => ({
        output: { ...split, invokedVariant: output.invokedVariant },
        failure: null,
        latencyMs: attempts.latencyMs,
      }));
    }
    deps.onFallback?.(call, 'answer does not split', null);
  } else if (failure?.retriable === true) {
    const recorded = resultOf(attempts);
    return call.invocations.map(() => recorded);
  } else {
    deps.onFallback?.(call, 'rejected', failure);
  }
  return Promise.all(
    call.invocations.map((invocation) => invokeAlone({ kind: 'single', invocation }, deps)),
  );
}

async function invokeAlone(
  call: Extract<PlannedCall, { kind: 'single' }>,
  deps: InvokeCallDeps,
): Promise<InvocationResult> {
  const input = singleInput(call.invocation);
  const attempts = await invokeWithRetries(input, deps, (attempt, error) =>
    deps.onRetry?.(call, attempt, error),
  );
  return resultOf(attempts, input.inferenceId ?? null);
}
