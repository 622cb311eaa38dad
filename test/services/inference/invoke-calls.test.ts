// The batch call path against a scripted endpoint (no network): splitting answers, falling back
// to one call per record, retries, and the cap on calls in flight.
import { describe, expect, it } from 'vitest';

import { ENDPOINT_CHOOSES, type VariantAssigned } from '../../../lib/contracts/events.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';
import { assembleBatchAnswer, decodeBatchBody } from '../../../lib/model-batch/batch-format.ts';
import type {
  InvokeInput,
  InvokeOutput,
  ModelEndpoint,
} from '../../../lib/model-endpoint/model-endpoint.ts';
import {
  invocationsOf,
  planCalls,
  type PlannedCall,
} from '../../../services/inference/core/plan-calls.ts';
import { limitInFlight } from '../../../services/inference/in-flight-limit.ts';
import { invokeCall, type InvokeCallDeps } from '../../../services/inference/invoke-calls.ts';
import { inferenceRequested } from '../../support/fixtures.ts';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
const textOf = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function assigned(requestId: string, text: string, variant = 'A'): VariantAssigned {
  return {
    request: inferenceRequested({ requestId, payload: utf8(text), contentType: 'text/plain' }),
    variant,
    policy: 'thompson-sampling',
    snapshotVersion: 1,
    propensity: 0.5,
    reason: 'posterior',
    decisionTime: 0,
    allocation: [],
    shadowVariants: [],
  };
}

/** One batch call of the given mails, for variant A. */
function batchOf(...texts: string[]): PlannedCall {
  return batchFor('A', texts);
}

function batchFor(variant: string, texts: readonly string[]): PlannedCall {
  const calls = planCalls(
    texts.flatMap((text, i) => invocationsOf(assigned(`r${i}`, text, variant), i)),
    () => 'jsonlines',
    { maxRecords: 100, maxBytes: 1 << 20 },
  );
  const [call] = calls;
  if (calls.length !== 1 || call?.kind !== 'batch') throw new Error('expected one batch call');
  return call;
}

/** Answers a call itself, or returns undefined to let the container answer it. */
type Script = (
  input: InvokeInput,
  call: number,
) => InvokeOutput | undefined | Promise<InvokeOutput | undefined>;

/**
 * A container: answers each record with {"echo": text}, throws a MODEL_ERROR for any call that
 * holds a record containing "poison", unless the script says otherwise first.
 */
function scriptedEndpoint(script?: Script): ModelEndpoint & { inputs: InvokeInput[] } {
  const inputs: InvokeInput[] = [];
  return {
    inputs,
    async invoke(input) {
      inputs.push(input);
      const scripted = await script?.(input, inputs.length);
      if (scripted !== undefined) return scripted;
      const decoded = decodeBatchBody(input.body, input.contentType);
      const records =
        decoded.kind === 'batch'
          ? decoded.records
          : [{ body: input.body, contentType: input.contentType }];
      if (records.some((record) => textOf(record.body).includes('poison'))) {
        throw new DynabError('MODEL_ERROR', 'the model choked on poison');
      }
      const outputs = records.map((record) => ({
        body: utf8(JSON.stringify({ echo: textOf(record.body) })),
        contentType: 'application/json',
      }));
      return decoded.kind === 'batch'
        ? {
            invokedVariant: input.targetVariant,
            body: assembleBatchAnswer('jsonlines', outputs) ?? new Uint8Array(0),
            contentType: 'application/jsonlines',
          }
        : {
            invokedVariant: input.targetVariant,
            ...(outputs[0] ?? { body: utf8(''), contentType: '' }),
          };
    },
    close() {
      // Nothing to release: no connections.
    },
  };
}

function deps(endpoint: ModelEndpoint, overrides: Partial<InvokeCallDeps> = {}) {
  const sleeps: number[] = [];
  const fallbacks: string[] = [];
  let clock = 0;
  const callDeps: InvokeCallDeps = {
    endpoint,
    maxAttempts: 3,
    // Every reading of the clock advances it by 5 ms, so latencies are exact.
    monotonicNow: () => (clock += 5),
    sleep: (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    },
    onFallback: (_, reason) => fallbacks.push(reason),
    ...overrides,
  };
  return { callDeps, sleeps, fallbacks };
}

const echoes = (results: Awaited<ReturnType<typeof invokeCall>>): unknown[] =>
  results.map((result) =>
    result.output === null
      ? result.failure?.code
      : (JSON.parse(textOf(result.output.body)) as unknown),
  );

describe('invokeCall', () => {
  it('sends a batch as one call and gives each record its own output, in order', async () => {
    const endpoint = scriptedEndpoint();
    const { callDeps } = deps(endpoint);
    const results = await invokeCall(batchOf('one\nline', 'two, "quoted"', 'three'), callDeps);
    expect(endpoint.inputs).toHaveLength(1);
    expect(endpoint.inputs[0]).toMatchObject({
      endpointName: 'spam-filter',
      targetVariant: 'A',
      contentType: 'application/jsonlines',
      accept: 'application/jsonlines',
    });
    expect(echoes(results)).toEqual([
      { echo: 'one\nline' },
      { echo: 'two, "quoted"' },
      { echo: 'three' },
    ]);
    for (const result of results) {
      expect(result).toMatchObject({ failure: null, latencyMs: 5 });
      expect(result.output).toMatchObject({ invokedVariant: 'A', contentType: 'application/json' });
    }
  });

  it('sends no TargetVariant when the endpoint chooses, and credits every record to its choice', async () => {
    const endpoint = scriptedEndpoint((input) => ({
      invokedVariant: 'B',
      body: utf8('{"echo":"x"}\n{"echo":"y"}\n'),
      contentType: input.accept ?? '',
    }));
    const { callDeps } = deps(endpoint);
    const results = await invokeCall(batchFor(ENDPOINT_CHOOSES, ['x', 'y']), callDeps);
    expect(endpoint.inputs).toHaveLength(1);
    expect(endpoint.inputs[0]?.targetVariant).toBeNull();
    expect(results.map((r) => r.output?.invokedVariant)).toEqual(['B', 'B']);
  });

  it('retries a batch with a model error record by record, so only the bad record fails', async () => {
    const endpoint = scriptedEndpoint();
    const { callDeps, fallbacks } = deps(endpoint);
    const results = await invokeCall(batchOf('fine', 'poison', 'also fine'), callDeps);
    expect(echoes(results)).toEqual([{ echo: 'fine' }, 'MODEL_ERROR', { echo: 'also fine' }]);
    expect(results[1]?.failure?.message).toContain('poison');
    expect(fallbacks).toEqual(['rejected']);
    // The batch, then each record alone in its own format with its own inference id.
    expect(endpoint.inputs.map((input) => [input.contentType, input.inferenceId])).toEqual([
      ['application/jsonlines', undefined],
      ['text/plain', 'r0'],
      ['text/plain', 'r1'],
      ['text/plain', 'r2'],
    ]);
  });

  it('retries record by record when the batch is refused as invalid', async () => {
    const endpoint = scriptedEndpoint((input) => {
      if (input.contentType === 'application/jsonlines') {
        throw new DynabError('ENDPOINT_VALIDATION', 'batch bodies are not accepted');
      }
      return undefined;
    });
    const { callDeps } = deps(endpoint);
    const results = await invokeCall(batchOf('a', 'b'), callDeps);
    expect(echoes(results)).toEqual([{ echo: 'a' }, { echo: 'b' }]);
    expect(endpoint.inputs).toHaveLength(3);
  });

  it.each([
    ['too few outputs', '{"label":"spam"}\n'],
    ['too many outputs', '{"a":1}\n{"b":2}\n{"c":3}\n'],
    ['a blank line', '{"a":1}\n\n'],
  ])('never guesses from an answer with %s: it asks record by record', async (_, answer) => {
    const endpoint = scriptedEndpoint((input) =>
      input.contentType === 'application/jsonlines'
        ? { invokedVariant: 'A', body: utf8(answer), contentType: 'application/jsonlines' }
        : undefined,
    );
    const { callDeps, fallbacks } = deps(endpoint);
    const results = await invokeCall(batchOf('first', 'second'), callDeps);
    expect(echoes(results)).toEqual([{ echo: 'first' }, { echo: 'second' }]);
    expect(fallbacks).toEqual(['answer does not split']);
  });

  it('retries a throttled batch whole, with backoff', async () => {
    const endpoint = scriptedEndpoint((_, call) => {
      if (call <= 2) throw new DynabError('ENDPOINT_THROTTLED', 'slow down');
      return undefined;
    });
    const { callDeps, sleeps } = deps(endpoint);
    const results = await invokeCall(batchOf('a', 'b'), callDeps);
    expect(echoes(results)).toEqual([{ echo: 'a' }, { echo: 'b' }]);
    expect(endpoint.inputs.map((input) => input.contentType)).toEqual([
      'application/jsonlines',
      'application/jsonlines',
      'application/jsonlines',
    ]);
    expect(sleeps).toEqual([50, 100]);
  });

  it('records an endpoint that stays unavailable on every record, without one call each', async () => {
    const endpoint = scriptedEndpoint(() => {
      throw new DynabError('ENDPOINT_UNAVAILABLE', 'connection refused');
    });
    const { callDeps } = deps(endpoint);
    const results = await invokeCall(batchOf('a', 'b', 'c'), callDeps);
    expect(echoes(results)).toEqual([
      'ENDPOINT_UNAVAILABLE',
      'ENDPOINT_UNAVAILABLE',
      'ENDPOINT_UNAVAILABLE',
    ]);
    expect(endpoint.inputs).toHaveLength(3);
  });
});

describe('limitInFlight', () => {
  it('never lets more calls than the limit run at once, and runs them all', async () => {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const inner = scriptedEndpoint(async () => {
      running += 1;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => release.push(resolve));
      running -= 1;
      return { invokedVariant: 'A', body: utf8('{}'), contentType: 'application/json' };
    });
    const limited = limitInFlight(inner, 3);
    // Lets every pending promise callback run (no timer involved).
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const calls = Array.from({ length: 10 }, (_, i) =>
      limited.invoke({
        endpointName: 'ep',
        targetVariant: null,
        body: utf8(`${i}`),
        contentType: 'text/plain',
      }),
    );
    await settle();
    expect(running).toBe(3);
    // Finish one call at a time; each finished call lets exactly one waiting call start.
    for (let next = release.shift(); next !== undefined; next = release.shift()) {
      expect(running).toBeLessThanOrEqual(3);
      next();
      await settle();
    }
    await Promise.all(calls);
    expect(most).toBe(3);
    expect(inner.inputs).toHaveLength(10);
  });
});
