// Requests for an experiment the router does not know, through router → inference (real SDK,
// local endpoint) → aggregator on the real broker. By default they are served by the endpoint's
// own production-variant weights: invoked without TargetVariant, the variant that answered
// recorded, counted by the router and the aggregator, their labels recognised, nothing
// dead-lettered and nothing folded into a posterior. In dead-letter mode they are dead-lettered
// by the router, as before the fallback existed.
import { performance } from 'node:perf_hooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import type { UnknownExperimentMode } from '../../../lib/config/config.ts';
import {
  ENDPOINT_CHOOSES,
  type InferenceRequested,
  type LabelReceived,
  type PredictionMade,
} from '../../../lib/contracts/events.ts';
import type { LogRecord } from '../../../lib/event-log/event-log.ts';
import type { InvokeInput, ModelEndpoint } from '../../../lib/model-endpoint/model-endpoint.ts';
import { createSageMakerEndpoint } from '../../../lib/model-endpoint/sagemaker-endpoint.ts';
import { startInference } from '../../../services/inference/build-inference.ts';
import {
  buildLocalEndpoint,
  chooseVariant,
  type LocalVariant,
} from '../../../services/local-endpoint/local-endpoint.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  foldedCount,
  mergePosteriors,
  openPipeline,
  startTestAggregator,
  startTestRouter,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

const NOW = 1_700_000_000_500;
const REQUEST_TIME = 1_700_000_000_000;
const ENDPOINT_SEED = 4_242;
const FALLBACKS = 40;

const answer = (): string => JSON.stringify({ label: 'spam' });
/** An endpoint nobody defined an experiment for, split 3:1 by its own weights. */
const UNKNOWN_ENDPOINT: readonly LocalVariant[] = [
  { name: 'blue', weight: 3, model: answer },
  { name: 'green', weight: 1, model: answer },
  { name: 'retired', weight: 0, model: answer },
];

/** The local endpoint (weighted choice by a seeded source) and the calls inference makes. */
async function serveEndpoints(pipeline: Pipeline): Promise<InvokeInput[]> {
  const local = buildLocalEndpoint({
    endpoints: [
      { name: 'other-endpoint', variants: UNKNOWN_ENDPOINT },
      {
        name: 'spam-filter',
        variants: [
          { name: 'champion', weight: 1, model: answer },
          { name: 'challenger', weight: 1, model: answer },
        ],
      },
    ],
    random: createSeededRandom(ENDPOINT_SEED),
  });
  const { url } = await local.listen(0);
  onTestFinished(() => local.close());
  const sdk = createSageMakerEndpoint({ region: 'us-east-1', endpointUrl: url, maxAttempts: 1 });
  const calls: InvokeInput[] = [];
  const endpoint: ModelEndpoint = {
    invoke(input, signal) {
      calls.push(input);
      return sdk.invoke(input, signal);
    },
    close: () => sdk.close(),
  };
  const inference = await startInference({
    eventLog: pipeline.eventLog,
    endpoint,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId: uniqueName('inference'),
    transactionalId: uniqueName('inference-tx'),
    concurrency: 8,
    maxAttempts: 3,
    batching: { formats: { '*': 'none' }, maxRecords: 100, maxBytes: 1024 * 1024 },
    predictedLabelField: 'label',
    now: () => NOW,
    monotonicNow: () => performance.now(),
    logger: pipeline.logger,
  });
  onTestFinished(async () => {
    await inference.stop();
    endpoint.close();
  });
  return calls;
}

function startRouter(pipeline: Pipeline, unknownExperiment: UnknownExperimentMode) {
  return startTestRouter(pipeline, { seed: 3, now: NOW, unknownExperiment });
}

function request(requestId: string, experiment: string): InferenceRequested {
  return {
    requestId,
    experiment,
    payload: Buffer.from(`mail ${requestId}`),
    contentType: 'text/plain',
    userId: null,
    targetVariant: null,
    eventTime: REQUEST_TIME,
  };
}

function label(requestId: string): LabelReceived {
  return {
    requestId,
    reward: null,
    label: 'spam',
    eventTime: REQUEST_TIME + 1_000,
    source: 'test',
  };
}

function sendRequests(pipeline: Pipeline, requests: readonly InferenceRequested[]) {
  const { topics, codecs } = pipeline;
  return pipeline.send(
    requests.map((r) => ({
      topic: topics.requests,
      key: r.requestId,
      value: codecs.request.encode(r),
    })),
  );
}

function sendLabels(pipeline: Pipeline, ids: readonly string[]) {
  const { topics, codecs } = pipeline;
  return pipeline.send(
    ids.map((id) => ({ topic: topics.labels, key: id, value: codecs.label.encode(label(id)) })),
  );
}

const decodePredictions = (pipeline: Pipeline, records: readonly LogRecord[]): PredictionMade[] =>
  records.map((r) => pipeline.codecs.prediction.decode(r.value ?? Buffer.alloc(0)));

const ids = (prefix: string, from: number, to: number): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

describe('a request for an experiment the router does not know', () => {
  it('is served by the endpoint weights, recorded, counted, its labels recognised, never dead-lettered or folded', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const aggregator = await startTestAggregator(
      pipeline,
      await pipeline.tempDir(),
      uniqueName('agg'),
      { now: NOW, snapshotIntervalMs: 0 },
    );
    const calls = await serveEndpoints(pipeline);
    const router = await startRouter(pipeline, 'fallback');
    const predictionRecords = await pipeline.collect(topics.predictions);
    const letters = await pipeline.collect(topics.deadLetters);
    const posteriorRecords = await pipeline.collect(topics.posteriors);

    // Ten labels come before their requests, as feedback sometimes does.
    await sendLabels(pipeline, ids('f', 0, 10));
    const fallbackIds = ids('f', 0, FALLBACKS);
    await sendRequests(pipeline, [
      ...fallbackIds.map((id) => request(id, 'other-endpoint')),
      ...ids('k', 0, 4).map((id) => request(id, 'spam-filter')),
    ]);
    await waitFor('every fallback prediction counted by the aggregator', () =>
      aggregator.stats.fallback === FALLBACKS ? true : undefined,
    );
    // The rest come after, from the stored slots, with one sent twice; the known experiment's too.
    await sendLabels(pipeline, [...ids('f', 10, 20), 'f10', ...ids('k', 0, 4)]);
    const merged = await waitFor('labels counted and the known experiment folded', () => {
      const sums = mergePosteriors(posteriorRecords, codecs, 'spam-filter');
      return aggregator.stats.fallbackLabels === 20 &&
        aggregator.stats.duplicates === 1 &&
        foldedCount(sums) === 4
        ? sums
        : undefined;
    });

    // Inference left the choice to the endpoint: no TargetVariant on any call for it.
    const fallbackCalls = calls.filter((c) => c.endpointName === 'other-endpoint');
    expect(fallbackCalls).toHaveLength(FALLBACKS);
    expect(fallbackCalls.every((c) => c.targetVariant === null)).toBe(true);
    expect(calls.filter((c) => c.endpointName === 'spam-filter').length).toBe(4);

    // Each prediction names the variant that answered. Each untargeted call draws once from the
    // endpoint's seeded source, so the split is exactly what its weights give for these draws,
    // whatever order the calls arrived in.
    const predictions = decodePredictions(pipeline, predictionRecords);
    const fallbacks = predictions.filter((p) => p.experiment === 'other-endpoint');
    expect(fallbacks.map((p) => p.requestId).sort()).toEqual([...fallbackIds].sort());
    for (const p of fallbacks) {
      expect(p).toMatchObject({
        requestedVariant: ENDPOINT_CHOOSES,
        policy: 'fallback-weights',
        propensity: 1,
        snapshotVersion: -1,
        allocation: [],
        error: null,
        predictedLabel: 'spam',
      });
    }
    const split = (variants: readonly (string | null)[]): Record<string, number> => {
      const counts: Record<string, number> = {};
      for (const v of variants) counts[String(v)] = (counts[String(v)] ?? 0) + 1;
      return counts;
    };
    const draws = createSeededRandom(ENDPOINT_SEED);
    const expected = split(fallbackIds.map(() => chooseVariant(UNKNOWN_ENDPOINT, draws).name));
    expect(split(fallbacks.map((p) => p.invokedVariant))).toEqual(expected);
    expect(Object.keys(expected).sort()).toEqual(['blue', 'green']);

    // Counted where they happen, dead-lettered nowhere.
    expect(router.stats.fallbacks).toBe(FALLBACKS);
    expect(router.stats.deadLettered).toBe(0);
    expect(aggregator.stats).toMatchObject({
      fallback: FALLBACKS,
      fallbackLabels: 20,
      orphaned: 0,
      deadLettered: 0,
      rewards: 4,
    });
    expect(letters).toHaveLength(0);

    // Folded into nothing: no partial posterior for the unknown experiment, and the known
    // experiment holds exactly its own four decisions and rewards.
    const experimentsPublished = new Set(
      posteriorRecords.map((r) => codecs.posterior.decode(r.value ?? Buffer.alloc(0)).experiment),
    );
    expect([...experimentsPublished]).toEqual(['spam-filter']);
    const assigned = [...merged.values()].reduce((sum, t) => sum + t.assigned, 0);
    expect(assigned).toBe(4);
  });

  it('is dead-lettered as UNKNOWN_EXPERIMENT in dead-letter mode, as before', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const calls = await serveEndpoints(pipeline);
    const router = await startRouter(pipeline, 'dead-letter');
    const predictionRecords = await pipeline.collect(topics.predictions);
    const letters = await pipeline.collect(topics.deadLetters);
    await sendRequests(pipeline, [
      request('u1', 'other-endpoint'),
      request('u2', 'other-endpoint'),
      request('k1', 'spam-filter'),
    ]);
    await waitFor('2 dead letters and 1 prediction', () =>
      letters.length === 2 && predictionRecords.length === 1 ? true : undefined,
    );
    const deadLettered = letters.map((r) =>
      codecs['dead-letter'].decode(r.value ?? Buffer.alloc(0)),
    );
    expect(
      deadLettered.map((l) => [l.errorCode, l.service, Buffer.from(l.key ?? []).toString()]).sort(),
    ).toEqual([
      ['UNKNOWN_EXPERIMENT', 'router', 'u1'],
      ['UNKNOWN_EXPERIMENT', 'router', 'u2'],
    ]);
    expect(decodePredictions(pipeline, predictionRecords)[0]?.requestId).toBe('k1');
    expect(calls.map((c) => c.endpointName)).toEqual(['spam-filter']);
    expect(router.stats.fallbacks).toBe(0);
  });
});
