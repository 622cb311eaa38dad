// The inference service on the real broker, calling the local SageMaker endpoint through the
// real AWS SDK: the invoked variant, the predicted label, model errors recorded on the
// prediction, an unreachable endpoint, malformed assignments dead-lettered, and batch calls.
import { performance } from 'node:perf_hooks';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { BatchFormatSettings } from '../../../lib/config/config.ts';
import type { PredictionMade, VariantAssigned } from '../../../lib/contracts/events.ts';
import type { InvokeInput, ModelEndpoint } from '../../../lib/model-endpoint/model-endpoint.ts';
import { createSageMakerEndpoint } from '../../../lib/model-endpoint/sagemaker-endpoint.ts';
import { startInference } from '../../../services/inference/build-inference.ts';
import {
  buildLocalEndpoint,
  ModelInvocationError,
} from '../../../services/local-endpoint/local-endpoint.ts';
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

/** Starts inference against the endpoint and returns every call it makes, as sent. */
async function runInference(
  pipeline: Pipeline,
  endpointUrl: string,
  options: { maxAttempts?: number; batchFormats?: BatchFormatSettings } = {},
): Promise<InvokeInput[]> {
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
    concurrency: 8,
    maxAttempts: options.maxAttempts ?? 3,
    batching: {
      formats: options.batchFormats ?? { '*': 'none' },
      maxRecords: 100,
      maxBytes: 1024 * 1024,
    },
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
  variant: string,
  text = 'hello',
  shadowVariants: string[] = [],
): VariantAssigned {
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
    shadowVariants,
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
    await runInference(pipeline, `http://127.0.0.1:${closedPort}`, { maxAttempts: 2 });
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

  it('sends assignments that arrive together as batch calls, one prediction per request', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    // Echoes each record it sees, so a prediction shows whose record it answered.
    const echo = (variant: string) => (body: Buffer) => {
      const text = body.toString('utf8');
      if (text.includes('poison'))
        throw new ModelInvocationError(422, `${variant} cannot read this`);
      return JSON.stringify({ label: text.includes('win') ? 'spam' : 'ham', echo: text, variant });
    };
    const local = buildLocalEndpoint({
      endpoints: [
        {
          name: 'spam-filter',
          variants: [
            { name: 'champion', weight: 1, model: echo('champion') },
            { name: 'challenger', weight: 1, model: echo('challenger') },
          ],
        },
      ],
    });
    const { url } = await local.listen(0);
    onTestFinished(() => local.close());
    const calls = await runInference(pipeline, url, {
      batchFormats: { 'spam-filter': 'jsonlines' },
    });
    const predictions = await pipeline.collect(topics.predictions);

    // 60 requests: line breaks, quotes and commas in every mail; every third one also shadowed
    // by the challenger; one poisoned mail among the champion's.
    const mails = new Map<string, string>();
    const records = Array.from({ length: 60 }, (_, i) => {
      const requestId = `m${i}`;
      const text = `Subject: ${i % 4 === 0 ? 'win' : 'hello'} "${i}",\nline two, \\ ${i}${i === 17 ? ' poison' : ''}`;
      mails.set(requestId, text);
      const variant = i % 2 === 0 ? 'challenger' : 'champion';
      const shadows = i % 3 === 0 && variant === 'champion' ? ['challenger'] : [];
      return {
        topic: topics.assignments,
        key: requestId,
        value: codecs.assignment.encode(assignment(requestId, variant, text, shadows)),
      };
    });
    const shadowed = records.filter((_, i) => i % 3 === 0 && i % 2 === 1).length;
    const expected = records.length + shadowed;
    await pipeline.send(records);
    await waitFor(`${expected} predictions`, () =>
      predictions.length >= expected ? true : undefined,
    );

    const byId = new Map<string, PredictionMade>();
    for (const record of predictions) {
      const prediction = codecs.prediction.decode(record.value ?? Buffer.alloc(0));
      // Exactly one prediction per request (and per shadow copy).
      expect(byId.has(prediction.requestId)).toBe(false);
      byId.set(prediction.requestId, prediction);
      // Keyed by the original request, shadows included.
      expect(record.key?.toString()).toBe(prediction.shadowOf ?? prediction.requestId);
    }
    expect(byId.size).toBe(expected);
    for (const [requestId, text] of mails) {
      for (const id of [requestId, `${requestId}#shadow:challenger`]) {
        const prediction = byId.get(id);
        if (prediction === undefined) continue;
        if (text.includes('poison')) continue;
        // Each prediction carries the answer to its own mail, from the variant it asked for.
        expect(prediction.error).toBeNull();
        expect(JSON.parse(Buffer.from(prediction.output).toString('utf8'))).toEqual({
          label: text.includes('win') ? 'spam' : 'ham',
          echo: text,
          variant: prediction.requestedVariant,
        });
        expect(prediction.invokedVariant).toBe(prediction.requestedVariant);
        expect(prediction.predictedLabel).toBe(text.includes('win') ? 'spam' : 'ham');
        expect(prediction.latencyMs).toBeGreaterThan(0);
      }
    }
    // The poisoned mail fails alone; its batch neighbours were answered above.
    expect(byId.get('m17')).toMatchObject({
      requestedVariant: 'champion',
      invokedVariant: null,
      predictedLabel: null,
      error: { code: 'MODEL_ERROR' },
    });
    expect(byId.get('m17')?.error?.message).toContain('champion cannot read this');
    expect(byId.get('m18#shadow:challenger')).toBeUndefined();
    expect(byId.get('m15#shadow:challenger')).toMatchObject({ shadowOf: 'm15', propensity: 1 });

    // Far fewer calls than predictions: batches, plus one call per record of the poisoned batch.
    const batchCalls = calls.filter((call) => call.contentType === 'application/jsonlines');
    expect(batchCalls.length).toBeGreaterThan(0);
    expect(calls.length).toBeLessThan(expected / 2);
    for (const call of batchCalls) expect(call.accept).toBe('application/jsonlines');
    // The poisoned batch was retried record by record, each in its own format.
    const alone = calls.filter((call) => call.contentType === 'text/plain');
    expect(alone.map((call) => call.inferenceId)).toContain('m17');
  });
});
