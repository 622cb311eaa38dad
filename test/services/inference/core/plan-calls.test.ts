import { describe, expect, it } from 'vitest';

import { ENDPOINT_CHOOSES, type VariantAssigned } from '../../../../lib/contracts/events.ts';
import { decodeBatchBody, type BatchFormat } from '../../../../lib/model-batch/batch-format.ts';
import {
  batchFormatFor,
  invocationsOf,
  planCalls,
  requestIdOf,
  targetVariantOf,
  variantOf,
  type Invocation,
  type PlannedCall,
} from '../../../../services/inference/core/plan-calls.ts';
import { inferenceRequested } from '../../../support/fixtures.ts';

const LIMITS = { maxRecords: 100, maxBytes: 1024 * 1024 };
const JSON_LINES = (): BatchFormat => 'jsonlines';

function assigned(
  requestId: string,
  overrides: {
    variant?: string;
    experiment?: string;
    text?: string;
    contentType?: string;
    shadows?: string[];
  } = {},
): VariantAssigned {
  return {
    request: inferenceRequested({
      requestId,
      experiment: overrides.experiment ?? 'spam-filter',
      payload: new TextEncoder().encode(overrides.text ?? `mail ${requestId}`),
      contentType: overrides.contentType ?? 'text/plain',
    }),
    variant: overrides.variant ?? 'A',
    policy: 'thompson-sampling',
    snapshotVersion: 3,
    propensity: 0.5,
    reason: 'posterior',
    decisionTime: 1_700_000_000_200,
    allocation: [],
    shadowVariants: overrides.shadows ?? [],
  };
}

function invocations(assignments: readonly VariantAssigned[]): Invocation[] {
  return assignments.flatMap((assignment, index) => invocationsOf(assignment, index));
}

/** Request ids per call, batches marked, in the order planned. */
function shape(calls: readonly PlannedCall[]): string[][] {
  return calls.map((call) =>
    call.kind === 'single'
      ? [`single:${requestIdOf(call.invocation)}`]
      : call.invocations.map(requestIdOf),
  );
}

describe('invocationsOf', () => {
  it('is the served variant, then each shadow variant with its own request id', () => {
    const list = invocationsOf(assigned('r1', { shadows: ['B', 'C'] }), 4);
    expect(list.map((i) => [i.record, variantOf(i), requestIdOf(i)])).toEqual([
      [4, 'A', 'r1'],
      [4, 'B', 'r1#shadow:B'],
      [4, 'C', 'r1#shadow:C'],
    ]);
  });
});

describe('targetVariantOf', () => {
  it('is the variant asked for, and none when the endpoint chooses', () => {
    const [served, shadow] = invocationsOf(assigned('r1', { shadows: ['S'] }), 0);
    expect(served && targetVariantOf(served)).toBe('A');
    expect(shadow && targetVariantOf(shadow)).toBe('S');
    const [fallback] = invocationsOf(assigned('r2', { variant: ENDPOINT_CHOOSES }), 1);
    expect(fallback && variantOf(fallback)).toBe(ENDPOINT_CHOOSES);
    expect(fallback && targetVariantOf(fallback)).toBeNull();
  });
});

describe('batchFormatFor', () => {
  it('reads the experiment, then *, and treats none and unlisted experiments as no batching', () => {
    const settings = { 'spam-filter': 'jsonlines', tabular: 'none', '*': 'csv' } as const;
    expect(batchFormatFor(settings, 'spam-filter')).toBe('jsonlines');
    expect(batchFormatFor(settings, 'tabular')).toBeNull();
    expect(batchFormatFor(settings, 'other')).toBe('csv');
    expect(batchFormatFor({ 'spam-filter': 'instances' }, 'other')).toBeNull();
    // Names of Object.prototype members are ordinary experiment names.
    expect(batchFormatFor({}, 'constructor')).toBeNull();
    expect(batchFormatFor({}, '__proto__')).toBeNull();
  });
});

describe('planCalls', () => {
  it('packs each endpoint, variant and content type into its own batch, in arrival order', () => {
    const calls = planCalls(
      invocations([
        assigned('a1'),
        assigned('b1', { variant: 'B' }),
        assigned('a2'),
        assigned('x1', { experiment: 'other' }),
        assigned('b2', { variant: 'B' }),
        assigned('j1', { contentType: 'application/json', text: '{"text":"hi"}' }),
        assigned('a3'),
        assigned('x2', { experiment: 'other' }),
        assigned('j2', { contentType: 'application/json', text: '{"text":"yo"}' }),
      ]),
      JSON_LINES,
      LIMITS,
    );
    expect(shape(calls)).toEqual([
      ['a1', 'a2', 'a3'],
      ['b1', 'b2'],
      ['x1', 'x2'],
      ['j1', 'j2'],
    ]);
    for (const call of calls) {
      if (call.kind !== 'batch') throw new Error('expected only batches');
      expect(call.format).toBe('jsonlines');
      const first = call.invocations[0];
      // Every member of a call goes to the same endpoint and variant.
      for (const member of call.invocations) {
        expect(member.assignment.request.experiment).toBe(first?.assignment.request.experiment);
        expect(variantOf(member)).toBe(first === undefined ? '' : variantOf(first));
      }
    }
  });

  it('builds a body that holds the records in the order of the call', () => {
    const [call] = planCalls(
      invocations([
        assigned('r1', { text: 'one\ntwo' }),
        assigned('r2', { text: 'say "hi", bye' }),
      ]),
      JSON_LINES,
      LIMITS,
    );
    if (call?.kind !== 'batch') throw new Error('expected a batch');
    const decoded = decodeBatchBody(call.body, 'application/jsonlines');
    expect(
      decoded.kind === 'batch' && decoded.records.map((r) => new TextDecoder().decode(r.body)),
    ).toEqual(['one\ntwo', 'say "hi", bye']);
  });

  it('batches the invocations left to the endpoint apart from those of any variant', () => {
    const calls = planCalls(
      invocations([
        assigned('a1'),
        assigned('f1', { variant: ENDPOINT_CHOOSES }),
        assigned('a2'),
        assigned('f2', { variant: ENDPOINT_CHOOSES }),
      ]),
      JSON_LINES,
      LIMITS,
    );
    expect(shape(calls)).toEqual([
      ['a1', 'a2'],
      ['f1', 'f2'],
    ]);
  });

  it('puts shadow invocations in batches of their own variant', () => {
    const calls = planCalls(
      invocations([assigned('r1', { shadows: ['S'] }), assigned('r2', { shadows: ['S'] })]),
      JSON_LINES,
      LIMITS,
    );
    expect(shape(calls)).toEqual([
      ['r1', 'r2'],
      ['r1#shadow:S', 'r2#shadow:S'],
    ]);
  });

  it('starts a new batch at the record limit', () => {
    const many = Array.from({ length: 250 }, (_, i) => assigned(`r${i}`));
    const sizes = planCalls(invocations(many), JSON_LINES, LIMITS).map((call) =>
      call.kind === 'batch' ? call.invocations.length : 1,
    );
    expect(sizes).toEqual([100, 100, 50]);
  });

  it('starts a new batch before the byte limit, counting the framing', () => {
    // Each entry is `"` + 98 letters + `"` = 100 bytes; a JSON lines body of n entries is 101 n.
    const text = 'x'.repeat(98);
    const many = Array.from({ length: 7 }, (_, i) => assigned(`r${i}`, { text }));
    const calls = planCalls(invocations(many), JSON_LINES, { maxRecords: 100, maxBytes: 303 });
    expect(calls.map((call) => (call.kind === 'batch' ? call.body.length : -1))).toEqual([
      303, 303, -1,
    ]);
    expect(shape(calls)).toEqual([['r0', 'r1', 'r2'], ['r3', 'r4', 'r5'], ['single:r6']]);
  });

  it('sends alone a record larger than the byte limit, unchanged, and batches the rest', () => {
    const big = assigned('big', { text: 'y'.repeat(500) });
    const calls = planCalls(invocations([assigned('r1'), big, assigned('r2')]), JSON_LINES, {
      maxRecords: 100,
      maxBytes: 200,
    });
    expect(shape(calls)).toEqual([['single:big'], ['r1', 'r2']]);
    const single = calls[0];
    expect(single?.kind === 'single' && single.invocation.assignment).toBe(big);
  });

  it('sends alone what the format cannot carry: binary, invalid JSON, CSV into JSON lines', () => {
    const calls = planCalls(
      invocations([
        assigned('r1'),
        assigned('bin', { contentType: 'application/octet-stream' }),
        assigned('bad', { contentType: 'application/json', text: '{"unclosed": ' }),
        assigned('ok', { contentType: 'application/json', text: '{}' }),
        assigned('row', { contentType: 'text/csv', text: 'a,b' }),
        assigned('r2'),
      ]),
      JSON_LINES,
      LIMITS,
    );
    expect(shape(calls)).toEqual([
      ['r1', 'r2'],
      ['single:bin'],
      ['single:bad'],
      ['single:ok'],
      ['single:row'],
    ]);
  });

  it('makes one call per record when the experiment is not batched or the limit is one record', () => {
    const two = invocations([assigned('r1'), assigned('r2')]);
    expect(shape(planCalls(two, () => null, LIMITS))).toEqual([['single:r1'], ['single:r2']]);
    expect(shape(planCalls(two, JSON_LINES, { ...LIMITS, maxRecords: 1 }))).toEqual([
      ['single:r1'],
      ['single:r2'],
    ]);
  });

  it('covers every invocation exactly once', () => {
    const list = invocations(
      Array.from({ length: 57 }, (_, i) =>
        assigned(`r${i}`, {
          variant: i % 3 === 0 ? 'B' : 'A',
          shadows: i % 5 === 0 ? ['S'] : [],
          contentType: i % 7 === 0 ? 'image/png' : 'text/plain',
        }),
      ),
    );
    const planned = planCalls(list, JSON_LINES, { maxRecords: 8, maxBytes: 4096 }).flatMap(
      (call) => (call.kind === 'single' ? [call.invocation] : call.invocations),
    );
    expect(planned).toHaveLength(list.length);
    expect(new Set(planned)).toEqual(new Set(list));
  });
});
