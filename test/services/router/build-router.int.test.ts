// The router on the real broker: assignments with policy, propensity and snapshot version,
// the posterior swap, the fallback for unknown experiments, and dead letters for every kind of
// bad request.
import { describe, expect, it } from 'vitest';
import type { UnknownExperimentMode } from '../../../lib/config/config.ts';
import {
  ENDPOINT_CHOOSES,
  type InferenceRequested,
  type VariantAssigned,
} from '../../../lib/contracts/events.ts';
import { partitionForKey } from '../../../lib/event-log/murmur2.ts';
import type { RunningRouter } from '../../../services/router/build-router.ts';
import { waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  openPipeline,
  startTestRouter,
  type Pipeline,
} from '../../support/pipeline-harness.ts';
import { variantCounts } from '../../support/fixtures.ts';

function runRouter(
  pipeline: Pipeline,
  maxPayloadBytes = 1024,
  unknownExperiment: UnknownExperimentMode = 'fallback',
): Promise<RunningRouter> {
  return startTestRouter(pipeline, {
    seed: 7,
    now: 1_700_000_000_500,
    maxPayloadBytes,
    unknownExperiment,
  });
}

function request(
  requestId: string,
  overrides: Partial<InferenceRequested> = {},
): InferenceRequested {
  return {
    requestId,
    experiment: 'spam-filter',
    payload: Buffer.from('Subject: hello'),
    contentType: 'text/plain',
    userId: null,
    targetVariant: null,
    eventTime: 1_700_000_000_000,
    ...overrides,
  };
}

describe('router', () => {
  it('routes by the prior until a posterior arrives, then by the swapped posterior', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const router = await runRouter(pipeline);
    const assignments = await pipeline.collect(topics.assignments);
    const decode = (): VariantAssigned[] =>
      assignments.map((r) => codecs.assignment.decode(r.value ?? Buffer.alloc(0)));

    await pipeline.send(
      Array.from({ length: 50 }, (_, i) => ({
        topic: topics.requests,
        key: `a${i}`,
        value: codecs.request.encode(request(`a${i}`)),
      })),
    );
    await waitFor('50 assignments', () => (assignments.length === 50 ? true : undefined));
    for (const a of decode()) {
      expect(a.policy).toBe('thompson-sampling');
      expect(a.snapshotVersion).toBe(-1);
      expect(a.propensity).toBeCloseTo(0.5, 9);
      expect(a.decisionTime).toBe(1_700_000_000_500);
    }
    // Keys are preserved, so each assignment lands on its request's partition.
    expect(
      assignments.every(
        (r) =>
          r.key?.toString() ===
          codecs.assignment.decode(r.value ?? Buffer.alloc(0)).request.requestId,
      ),
    ).toBe(true);

    // Two partials (two aggregator partitions) that together make the challenger clearly better.
    await pipeline.send([
      {
        topic: topics.posteriors,
        key: 'spam-filter/0',
        value: codecs.posterior.encode({
          experiment: 'spam-filter',
          partition: 0,
          variants: [variantCounts('champion', 60, 40), variantCounts('challenger', 90, 10)],
          version: 200,
          publishedAt: 1,
          decayedAt: 0,
          shadowVariants: [],
        }),
      },
      {
        topic: topics.posteriors,
        key: 'spam-filter/1',
        value: codecs.posterior.encode({
          experiment: 'spam-filter',
          partition: 1,
          variants: [variantCounts('champion', 55, 45), variantCounts('challenger', 95, 5)],
          version: 200,
          publishedAt: 1,
          decayedAt: 0,
          shadowVariants: [],
        }),
      },
    ]);
    await waitFor('the merged posterior', () =>
      router.table.route('spam-filter')?.snapshotVersion === 400 ? true : undefined,
    );
    await pipeline.send(
      Array.from({ length: 50 }, (_, i) => ({
        topic: topics.requests,
        key: `b${i}`,
        value: codecs.request.encode(request(`b${i}`)),
      })),
    );
    await waitFor('100 assignments', () => (assignments.length === 100 ? true : undefined));
    const after = decode().filter((a) => a.request.requestId.startsWith('b'));
    expect(after.every((a) => a.snapshotVersion === 400 && a.reason === 'posterior')).toBe(true);
    // Beta(116, 86) vs Beta(186, 16): P(challenger best) is 1 to many decimals.
    expect(after.every((a) => a.variant === 'challenger' && a.propensity > 0.999999)).toBe(true);
  });

  it('keys every assignment by its request id, whatever key its request record had', async () => {
    const pipeline = await openPipeline(4);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    await runRouter(pipeline);
    const assignments = await pipeline.collect(topics.assignments);
    // Keyed by the id (its bytes reused), by something else, by nothing, and ids beyond ASCII
    // (one keyed by its UTF-8, one by a single byte that is not UTF-8 of it).
    const cases: { requestId: string; key: Buffer | string | null }[] = [
      { requestId: 'k-same', key: 'k-same' },
      { requestId: 'k-user', key: 'user-7' },
      { requestId: 'k-null', key: null },
      { requestId: 'k-ü', key: Buffer.from('k-ü', 'utf8') },
      { requestId: 'k-\u00c3', key: Buffer.from([0x6b, 0x2d, 0xc3]) },
      { requestId: 'k-same-length', key: 'K-SAME-LENGTH' },
    ];
    await pipeline.send(
      cases.map(({ requestId, key }) => ({
        topic: topics.requests,
        key,
        value: codecs.request.encode(request(requestId)),
      })),
    );
    await waitFor('an assignment per request', () =>
      assignments.length === cases.length ? true : undefined,
    );
    const keyed = new Map(
      assignments.map((r) => [
        codecs.assignment.decode(r.value ?? Buffer.alloc(0)).request.requestId,
        r,
      ]),
    );
    for (const { requestId } of cases) {
      const record = keyed.get(requestId);
      expect(record?.key?.equals(Buffer.from(requestId, 'utf8')), requestId).toBe(true);
      // The partition of the id's bytes: beside its prediction and labels.
      expect(record?.partition, requestId).toBe(partitionForKey(requestId, 4));
    }
  });

  it('honours a target variant and accepts JSON requests flagged by a header', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    await runRouter(pipeline);
    const assignments = await pipeline.collect(topics.assignments);
    await pipeline.send([
      {
        topic: topics.requests,
        key: 't1',
        value: codecs.request.encode(request('t1', { targetVariant: 'champion' })),
      },
      {
        topic: topics.requests,
        key: 'j1',
        value: Buffer.from(
          JSON.stringify({
            requestId: 'j1',
            experiment: 'spam-filter',
            payload: 'hi',
            targetVariant: 'challenger',
          }),
        ),
        headers: { 'content-type': 'application/json' },
      },
    ]);
    await waitFor('2 assignments', () => (assignments.length === 2 ? true : undefined));
    const [t1, j1] = assignments.map((r) => codecs.assignment.decode(r.value ?? Buffer.alloc(0)));
    expect(t1).toMatchObject({ variant: 'champion', policy: 'target-variant', propensity: 1 });
    expect(j1).toMatchObject({ variant: 'challenger', policy: 'target-variant', propensity: 1 });
    expect(Buffer.from(j1?.request.payload ?? []).toString()).toBe('hi');
  });

  it('leaves requests for unknown experiments to the endpoint weights, counted, none dead-lettered', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const router = await runRouter(pipeline);
    const assignments = await pipeline.collect(topics.assignments);
    const letters = await pipeline.collect(topics.deadLetters);
    await pipeline.send(
      [
        request('u1', { experiment: 'other-endpoint' }),
        request('u2', { experiment: 'other-endpoint' }),
        request('u3', { experiment: 'third-endpoint', targetVariant: 'blue' }),
        // Last on the one partition: once its assignment is visible, so is all that came before.
        request('ok'),
      ].map((r) => ({ topic: topics.requests, key: r.requestId, value: codecs.request.encode(r) })),
    );
    await waitFor('4 assignments', () => (assignments.length === 4 ? true : undefined));
    const byId = new Map(
      assignments.map((r) => {
        const a = codecs.assignment.decode(r.value ?? Buffer.alloc(0));
        return [a.request.requestId, a];
      }),
    );
    for (const id of ['u1', 'u2']) {
      expect(byId.get(id)).toMatchObject({
        variant: ENDPOINT_CHOOSES,
        policy: 'fallback-weights',
        propensity: 1,
        snapshotVersion: -1,
        allocation: [],
      });
    }
    expect(byId.get('u3')).toMatchObject({ variant: 'blue', policy: 'fallback-weights' });
    expect(byId.get('ok')?.policy).toBe('thompson-sampling');
    expect(letters).toHaveLength(0);
    expect(router.stats.fallbacks).toBe(3);
  });

  it('dead-letters malformed, unknown and oversized requests and keeps routing (unknown experiments dead-lettered)', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(
      experimentFixture({
        policy: 'static-weights',
        variants: [
          { name: 'champion', weight: 3 },
          { name: 'challenger', weight: 1 },
        ],
      }),
    );
    const router = await runRouter(pipeline, 64, 'dead-letter');
    const assignments = await pipeline.collect(topics.assignments);
    const letters = await pipeline.collect(topics.deadLetters);
    await pipeline.send([
      { topic: topics.requests, key: 'm1', value: Buffer.from('not avro at all') },
      {
        topic: topics.requests,
        key: 'm2',
        value: Buffer.from('{"requestId":'),
        headers: { 'content-type': 'application/json' },
      },
      {
        topic: topics.requests,
        key: 'u1',
        value: codecs.request.encode(request('u1', { experiment: 'no-such-experiment' })),
      },
      {
        topic: topics.requests,
        key: 'v1',
        value: codecs.request.encode(request('v1', { targetVariant: 'ghost' })),
      },
      {
        topic: topics.requests,
        key: 'o1',
        value: codecs.request.encode(request('o1', { payload: Buffer.alloc(65, 1) })),
      },
      { topic: topics.requests, key: 'ok', value: codecs.request.encode(request('ok')) },
    ]);
    await waitFor('5 dead letters and 1 assignment', () =>
      letters.length === 5 && assignments.length === 1 ? true : undefined,
    );
    const byKey = new Map(
      letters.map((r) => [
        r.key?.toString(),
        codecs['dead-letter'].decode(r.value ?? Buffer.alloc(0)),
      ]),
    );
    expect(byKey.get('m1')).toMatchObject({
      errorCode: 'MALFORMED_MESSAGE',
      sourceTopic: topics.requests,
      service: 'router',
    });
    expect(byKey.get('m2')?.errorCode).toBe('MALFORMED_MESSAGE');
    expect(byKey.get('u1')).toMatchObject({ errorCode: 'UNKNOWN_EXPERIMENT' });
    expect(byKey.get('u1')?.reason).toContain('no-such-experiment');
    expect(byKey.get('v1')).toMatchObject({ errorCode: 'UNKNOWN_VARIANT' });
    expect(byKey.get('o1')).toMatchObject({ errorCode: 'PAYLOAD_TOO_LARGE' });
    expect(Buffer.from(byKey.get('m1')?.value ?? []).toString()).toBe('not avro at all');
    const ok = codecs.assignment.decode(assignments[0]?.value ?? Buffer.alloc(0));
    expect(ok.policy).toBe('static-weights');
    expect(ok.propensity).toBe(ok.variant === 'champion' ? 0.75 : 0.25);
    expect(router.stats.fallbacks).toBe(0);
  });
});
