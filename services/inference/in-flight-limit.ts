// Caps the model calls in flight at once (DYNAB_INFERENCE_CONCURRENCY), whatever issues them:
// batch calls, the per-record calls that replace a rejected batch, shadow copies. Waiting for a
// slot is outside the call's own timeout and retries, which start when the call is sent.
import type { ModelEndpoint } from '../../lib/model-endpoint/model-endpoint.ts';

export function limitInFlight(endpoint: ModelEndpoint, limit: number): ModelEndpoint {
  let active = 0;
  const waiting: (() => void)[] = [];
  return {
    async invoke(input, signal) {
      if (active < limit) active += 1;
      // A finishing call hands its slot straight to the next waiter, so `active` stays put.
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await endpoint.invoke(input, signal);
      } finally {
        const next = waiting.shift();
        if (next === undefined) active -= 1;
        else next();
      }
    },
    close: () => endpoint.close(),
  };
}
