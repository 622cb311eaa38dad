// The inference service on the real broker, calling the local SageMaker endpoint through the
// real AWS SDK: the invoked variant, the predicted label, model errors recorded on the
// prediction, an unreachable endpoint, and malformed assignments dead-lettered.
import { performance } from 'node:perf_hooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { PredictionMade, VariantAssigned } from '../../../lib/contracts/events.ts';
import { createSageMakerEndpoint } from '../../../lib/model-endpoint/sagemaker-endpoint.ts';
import { startInference } from '../../../services/inference/build-inference.ts';
import { buildLocalEndpoint } from '../../../services/local-endpoint/local-endpoint.ts';
import { findFreePort } from '../../../infra/kafka/embedded-kafka.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import { openPipeline, type Pipeline } from '../../support/pipeline-harness.ts';

async function serveModels(): Promise<string> {
  const endpoint = buildLocalEndpoint({
    endpoints: [
      {
        name: 'spam-filter',
        variants: [
          {
            name: 'champion',
            weight: 1,
            model: () => JSON.stringify({ label: 'spam', score: 0.9 }),
          },
          {
            name: 'challenger',
            weight: 1,
            model: (body) =>
              JSON.stringify({ label: body.toString().includes('win') ? 'spam' : 'ham' }),
          },
          {
            name: 'broken',
            weight: 0,
            model: () => {
              throw new Error('the model fell over');
            },
          },
        ],
      },
    ],
  });
  const { url } = await endpoint.listen(0);
  onTestFinished(() => endpoint.close());
  return url;
}

async function runInference(
  pipeline: Pipeline,
  endpointUrl: string,
  maxAttempts = 3,
): Promise<void> {
  const endpoint = createSageMakerEndpoint({
    region: 'us-east-1',
    endpointUrl,
    maxAttempts: 1,
    timeoutMs: 5_000,
  });
  const inference = await startInference({
    eventLog: pipeline.eventLog,
    endpoint,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId: uniqueName('inference'),
    transactionalId: uniqueName('inference-tx'),
    concurrency: 8,
    maxAttempts,
    predictedLabelField: 'label',
    now: () => 1_700_000_000_900,
    monotonicNow: () => performance.now(),
    logger: pipeline.logger,
  });
  onTestFinished(async () => {
    await inference.stop();
    endpoint.close();
  });
}

function assignment(requestId: string, variant: string, text = 'hello'): VariantAssigned {
  return {
    request: {
      requestId,
      experiment: 'spam-filter',
      payload: Buffer.from(text),
      contentType: 'text/plain',
      userId: null,
      targetVariant: null,
      eventTime: 1_700_000_000_000,
    },
    variant,
    policy: 'thompson-sampling',
    snapshotVersion: 12,
    propensity: 0.625,
    reason: 'posterior',
    decisionTime: 1_700_000_000_100,
    allocation: [{ variant, probability: 0.625 }],
    shadowVariants: [],
  };
}

describe('inference', () => {
  it('invokes the assigned variant and records its answer, its errors, and bad assignments', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await runInference(pipeline, await serveModels());
    const predictions = await pipeline.collect(topics.predictions);
    const letters = await pipeline.collect(topics.deadLetters);
    await pipeline.send([
      {
        topic: topics.assignments,
        key: 'c1',
        value: codecs.assignment.encode(assignment('c1', 'champion')),
      },
      {
        topic: topics.assignments,
        key: 'h1',
        value: codecs.assignment.encode(assignment('h1', 'challenger', 'win money now')),
      },
      {
        topic: topics.assignments,
        key: 'h2',
        value: codecs.assignment.encode(assignment('h2', 'challenger', 'lunch?')),
      },
      {
        topic: topics.assignments,
        key: 'b1',
        value: codecs.assignment.encode(assignment('b1', 'broken')),
      },
      {
        topic: topics.assignments,
        key: 'g1',
        value: codecs.assignment.encode(assignment('g1', 'ghost')),
      },
      { topic: topics.assignments, key: 'bad', value: Buffer.from([0xc3, 0x01, 1, 2, 3]) },
    ]);
    await waitFor('5 predictions and 1 dead letter', () =>
      predictions.length === 5 && letters.length === 1 ? true : undefined,
    );
    const byId = new Map<string, PredictionMade>(
      predictions.map((r) => {
        const p = codecs.prediction.decode(r.value ?? Buffer.alloc(0));
        return [p.requestId, p];
      }),
    );
    expect(byId.get('c1')).toMatchObject({
      requestedVariant: 'champion',
      invokedVariant: 'champion',
      predictedLabel: 'spam',
      error: null,
      propensity: 0.625,
      snapshotVersion: 12,
      policy: 'thompson-sampling',
      requestTime: 1_700_000_000_000,
      eventTime: 1_700_000_000_900,
    });
    expect(JSON.parse(Buffer.from(byId.get('c1')?.output ?? []).toString())).toEqual({
      label: 'spam',
      score: 0.9,
    });
    expect(byId.get('c1')?.latencyMs).toBeGreaterThan(0);
    expect(byId.get('h1')).toMatchObject({ invokedVariant: 'challenger', predictedLabel: 'spam' });
    expect(byId.get('h2')).toMatchObject({ invokedVariant: 'challenger', predictedLabel: 'ham' });
    expect(byId.get('b1')).toMatchObject({
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'MODEL_ERROR' },
    });
    expect(byId.get('b1')?.error?.message).toContain('the model fell over');
    expect(byId.get('g1')).toMatchObject({ error: { code: 'ENDPOINT_VALIDATION' } });
    const letter = codecs['dead-letter'].decode(letters[0]?.value ?? Buffer.alloc(0));
    expect(letter).toMatchObject({
      errorCode: 'MALFORMED_MESSAGE',
      service: 'inference',
      sourceTopic: topics.assignments,
    });
  });

  it('records an unreachable endpoint on the prediction after retrying', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    const closedPort = await findFreePort();
    await runInference(pipeline, `http://127.0.0.1:${closedPort}`, 2);
    const predictions = await pipeline.collect(topics.predictions);
    await pipeline.send([
      {
        topic: topics.assignments,
        key: 'x1',
        value: codecs.assignment.encode(assignment('x1', 'champion')),
      },
    ]);
    await waitFor('the failed prediction', () => (predictions.length === 1 ? true : undefined));
    expect(codecs.prediction.decode(predictions[0]?.value ?? Buffer.alloc(0))).toMatchObject({
      requestId: 'x1',
      error: { code: 'ENDPOINT_UNAVAILABLE' },
      invokedVariant: null,
    });
  });
});
