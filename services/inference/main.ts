import { performance } from 'node:perf_hooks';
import { createSageMakerEndpoint } from '../../lib/model-endpoint/sagemaker-endpoint.ts';
import { runService } from '../../lib/runtime/service-main.ts';
import { startInference } from './build-inference.ts';

await runService('inference', async (context) => {
  const { config, eventLog, codecs, topics, logger, metrics, readiness, onFatal } = context;
  const endpoint = createSageMakerEndpoint({
    region: config.sagemakerRegion,
    ...(config.sagemakerEndpointUrl !== undefined
      ? { endpointUrl: config.sagemakerEndpointUrl }
      : {}),
    timeoutMs: config.inferenceTimeoutMs,
    // Retries are the inference service's (DYNAB_INFERENCE_MAX_ATTEMPTS), not the SDK's too.
    maxAttempts: 1,
  });
  const running = await startInference({
    eventLog,
    endpoint,
    codecs,
    topics,
    logger,
    metrics,
    readiness,
    onFatal,
    groupId: `${config.topicPrefix}inference`,
    transactionalId: `${config.topicPrefix}inference-${config.instanceId}`,
    concurrency: config.inferenceConcurrency,
    maxAttempts: config.inferenceMaxAttempts,
    batching: {
      formats: config.inferenceBatchFormats,
      maxRecords: config.inferenceMaxBatchRecords,
      maxBytes: config.inferenceMaxBatchBytes,
    },
    predictedLabelField: config.predictedLabelField,
    now: Date.now,
    monotonicNow: () => performance.now(),
  });
  return {
    async stop() {
      await running.stop();
      endpoint.close();
    },
  };
});
