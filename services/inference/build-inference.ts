// The inference service: consumes assignments, invokes the assigned production variant
// through the model-endpoint port (SageMaker InvokeEndpoint + TargetVariant), and publishes one
// prediction per assignment, errors included. Invocations of one batch run concurrently; the
// batch's predictions and consumed offsets are committed in one transaction.
import type { PredictionMade } from '../../lib/contracts/events.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { DynabError } from '../../lib/errors/catalogue.ts';
import type { EventLog } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { ModelEndpoint } from '../../lib/model-endpoint/model-endpoint.ts';
import { startProcessorRunner, type RunnerStats } from '../../lib/stream/processor-runner.ts';
import { invokeVariant, type InvokeVariantDeps } from './invoke-variant.ts';

export interface InferenceDeps {
  readonly eventLog: EventLog;
  readonly endpoint: ModelEndpoint;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly predictedLabelField: string;
  readonly now: () => number;
  readonly monotonicNow: () => number;
  readonly logger: Logger;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
}

export interface RunningInference {
  readonly stats: Readonly<RunnerStats>;
  stop(): Promise<void>;
}

export async function startInference(deps: InferenceDeps): Promise<RunningInference> {
  const { codecs, topics, logger } = deps;
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const runner = await startProcessorRunner(
    {
      service: 'inference',
      eventLog: deps.eventLog,
      groupId: deps.groupId,
      topics: [topics.assignments],
      deadLetterTopic: topics.deadLetters,
      transactionalId: deps.transactionalId,
      concurrency: deps.concurrency,
      maxAttempts: 1,
      encodeDeadLetter: (letter) => codecs['dead-letter'].encode(letter),
      logger,
      now: deps.now,
      ...(deps.onFatal !== undefined ? { onFatal: deps.onFatal } : {}),
    },
    {
      async process(record) {
        if (record.value === null) throw new DynabError('MALFORMED_MESSAGE', 'record has no value');
        const assignment = codecs.assignment.decode(record.value);
        const invokeDeps: InvokeVariantDeps = {
          endpoint: deps.endpoint,
          maxAttempts: deps.maxAttempts,
          predictedLabelField: deps.predictedLabelField,
          now: deps.now,
          monotonicNow: deps.monotonicNow,
          sleep,
          onRetry: (a, attempt, error) =>
            logger.warn(
              {
                requestId: a.request.requestId,
                experiment: a.request.experiment,
                variant: a.variant,
                attempt,
                err: error,
              },
              'retrying invocation',
            ),
        };
        // The served variant and any shadow copies are invoked concurrently; all of them are
        // published in the batch's transaction, keyed by the original request id so the shadow
        // predictions land on the partition where the request's label will be joined.
        const predictions = await Promise.all([
          invokeVariant(assignment, invokeDeps),
          ...assignment.shadowVariants.map((v) => invokeVariant(assignment, invokeDeps, v)),
        ]);
        for (const prediction of predictions) logFailure(prediction);
        return predictions.map((prediction) => ({
          topic: topics.predictions,
          key: assignment.request.requestId,
          value: codecs.prediction.encode(prediction),
        }));
      },
    },
  );
  return { stats: runner.stats, stop: () => runner.stop() };

  function logFailure(prediction: PredictionMade): void {
    if (prediction.error !== null) {
      logger.warn(
        {
          requestId: prediction.requestId,
          experiment: prediction.experiment,
          variant: prediction.requestedVariant,
          code: prediction.error.code,
        },
        'invocation failed; recorded on the prediction',
      );
    }
  }
}
