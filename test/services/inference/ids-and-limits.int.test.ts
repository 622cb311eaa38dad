// Inference against hostile assignments on the real broker, through the real AWS SDK and the
// local endpoint: request ids that cannot be sent as an InferenceId header still invoke the
// model (with a derived id, recorded on the prediction); an answer too large for the predictions
// topic and an assignment over its limits are dead-lettered, and the partition moves on.
import { performance } from 'node:perf_hooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { VariantAssigned } from '../../../lib/contracts/events.ts';
import type { InvokeInput, ModelEndpoint } from '../../../lib/model-endpoint/model-endpoint.ts';
import { createSageMakerEndpoint } from '../../../lib/model-endpoint/sagemaker-endpoint.ts';
import { startInference } from '../../../services/inference/build-inference.ts';
import { buildLocalEndpoint } from '../../../services/local-endpoint/local-endpoint.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import { openPipeline, type Pipeline } from '../../support/pipeline-harness.ts';

async function serveModels(): Promise<string> {
  const endpoint = buildLocalEndpoint({
    endpoints: [
      {
        name: 'spam-filter',
        variants: [
          { name: 'champion', weight: 1, model: () => JSON.stringify({ label: 'spam' }) },
          // An answer larger than the predictions topic accepts (1 MiB by default).
          {
            name: 'verbose',
            weight: 0,
            model: () => JSON.stringify({ label: 'x'.repeat(1_200_000) }),
          },
        ],
      },
    ],
  });
  const { url } = await endpoint.listen(0);
  onTestFinished(() => endpoint.close());
  return url;
}

async function runInference(pipeline: Pipeline, endpointUrl: string): Promise<InvokeInput[]> {
  const sdk = createSageMakerEndpoint({
    region: 'us-east-1',
    endpointUrl,
    maxAttempts: 1,
    timeoutMs: 5_000,
  });
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
    concurrency: 4,
    maxAttempts: 1,
    batching: { formats: { '*': 'none' }, maxRecords: 100, maxBytes: 1024 * 1024 },
    predictedLabelField: 'label',
    now: () => 1_700_000_000_900,
    monotonicNow: () => performance.now(),
    logger: pipeline.logger,
  });
  onTestFinished(async () => {
    await inference.stop();
    endpoint.close();
  });
  return calls;
}

function assignment(
  requestId: string,
  variant = 'champion',
  overrides: Partial<VariantAssigned> = {},
): VariantAssigned {
  return {
    request: {
      requestId,
      experiment: 'spam-filter',
      payload: Buffer.from('hello'),
      contentType: 'text/plain',
      userId: null,
      targetVariant: null,
      eventTime: 1_700_000_000_000,
    },
    variant,
    policy: 'thompson-sampling',
    snapshotVersion: 3,
    propensity: 0.5,
    reason: 'posterior',
    decisionTime: 1_700_000_000_100,
    allocation: [{ variant, probability: 0.5 }],
    shadowVariants: [],
    ...overrides,
  };
}

describe('inference ids and limits', () => {
  it('invokes the model for ids that cannot be an InferenceId header, with a derived id', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    const calls = await runInference(pipeline, await serveModels());
    const predictions = await pipeline.collect(topics.predictions);
    const ids = [
      'plain-id-1',
      'Ω-漢字-😀',
      'zero\u200bwidth',
      '\u202eright-to-left',
      'é-latin-1',
      'a'.repeat(65),
      ' leading space',
    ];
    await pipeline.send(
      ids.map((id) => ({
        topic: topics.assignments,
        key: id,
        value: codecs.assignment.encode(assignment(id)),
      })),
    );
    await waitFor(`${ids.length} predictions`, () =>
      predictions.length === ids.length ? true : undefined,
    );
    const byId = new Map(
      predictions.map((r) => {
        const p = codecs.prediction.decode(r.value ?? Buffer.alloc(0));
        return [p.requestId, p];
      }),
    );
    for (const id of ids) {
      const prediction = byId.get(id);
      expect(prediction?.error, id).toBeNull();
      expect(prediction?.predictedLabel, id).toBe('spam');
    }
    expect(byId.get('plain-id-1')?.inferenceId).toBe('plain-id-1');
    for (const id of ids.slice(1)) {
      expect(byId.get(id)?.inferenceId, id).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    }
    const derived = new Set(ids.slice(1).map((id) => byId.get(id)?.inferenceId));
    expect(derived.size).toBe(ids.length - 1);
    // What went over the wire is what the predictions say.
    expect(new Set(calls.map((c) => c.inferenceId))).toEqual(
      new Set(ids.map((id) => byId.get(id)?.inferenceId)),
    );
  });

  it('dead-letters an assignment whose prediction would exceed the predictions topic', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    await runInference(pipeline, await serveModels());
    const predictions = await pipeline.collect(topics.predictions);
    const letters = await pipeline.collect(topics.deadLetters);
    await pipeline.send([
      {
        topic: topics.assignments,
        key: 'loud',
        value: codecs.assignment.encode(assignment('loud', 'verbose')),
      },
      ...Array.from({ length: 5 }, (_, i) => ({
        topic: topics.assignments,
        key: `ok${i}`,
        value: codecs.assignment.encode(assignment(`ok${i}`)),
      })),
    ]);
    await waitFor(
      '5 predictions and 1 dead letter',
      () => (predictions.length === 5 && letters.length === 1 ? true : undefined),
      20_000,
    );
    const letter = codecs['dead-letter'].decode(letters[0]?.value ?? Buffer.alloc(0));
    expect(letter).toMatchObject({ errorCode: 'PAYLOAD_TOO_LARGE', service: 'inference' });
    expect(letter.reason).toMatch(/^the prediction would take \d+ bytes; the topic accepts/);
  });

  it('dead-letters an assignment over its limits before invoking anything', async () => {
    const pipeline = await openPipeline(1);
    const { topics, codecs } = pipeline;
    const calls = await runInference(pipeline, await serveModels());
    const predictions = await pipeline.collect(topics.predictions);
    const letters = await pipeline.collect(topics.deadLetters);
    const shadows = Array.from({ length: 500 }, (_, i) => `shadow-${i}`);
    await pipeline.send([
      {
        topic: topics.assignments,
        key: 'many',
        value: codecs.assignment.encode(
          assignment('many', 'champion', { shadowVariants: shadows }),
        ),
      },
      {
        topic: topics.assignments,
        key: 'ok',
        value: codecs.assignment.encode(assignment('ok')),
      },
    ]);
    await waitFor('1 prediction and 1 dead letter', () =>
      predictions.length === 1 && letters.length === 1 ? true : undefined,
    );
    const letter = codecs['dead-letter'].decode(letters[0]?.value ?? Buffer.alloc(0));
    expect(letter).toMatchObject({ errorCode: 'INVALID_FIELD' });
    expect(letter.reason).toBe('shadowVariants is 500 entries; the limit is 100');
    expect(calls).toHaveLength(1);
  });
});
