// The inference service: consumes assignments, invokes the assigned production variant (and any
// shadow variants) through the model-endpoint port (SageMaker InvokeEndpoint + TargetVariant, or
// no TargetVariant when the router left the choice to the endpoint's own weights), and publishes
// one prediction per invocation, errors included, with the variant that answered. Assignments
// consumed together for the same endpoint and variant are sent as batch calls where the
// experiment's batch format allows (`core/plan-calls.ts`); calls run concurrently up to the
// configured number in flight. The predictions and the consumed offsets are committed in one
// transaction.
import { SAGEMAKER_MAX_PAYLOAD_BYTES, type BatchFormatSettings } from '../../lib/config/config.ts';
import type { PredictionMade, VariantAssigned } from '../../lib/contracts/events.ts';
import {
  checkHeaders,
  checkKey,
  checkListLength,
  checkOutputSize,
  checkRequestFields,
  checkStringField,
  RECORD_LIMITS,
} from '../../lib/contracts/record-limits.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { DynabError, toDynabError } from '../../lib/errors/catalogue.ts';
import type { EventLog, LogRecord, OutRecord } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { discardMetrics, type Metrics } from '../../lib/metrics/metrics.ts';
import type { Readiness } from '../../lib/metrics/readiness.ts';
import { INFERENCE_SERIES } from '../../lib/metrics/series.ts';
import type { ModelEndpoint } from '../../lib/model-endpoint/model-endpoint.ts';
import { startProcessorRunner, type RunnerStats } from '../../lib/stream/processor-runner.ts';
import {
  batchFormatFor,
  invocationsOf,
  planCalls,
  variantOf,
  type Invocation,
  type PlannedCall,
} from './core/plan-calls.ts';
import { predictionOf } from './core/prediction.ts';
import { limitInFlight } from './in-flight-limit.ts';
import { invokeCall, type InvokeCallDeps } from './invoke-calls.ts';
import { invokeVariant, type InvokeVariantDeps } from './invoke-variant.ts';

export interface BatchingOptions {
  /** Batch format per experiment (DYNAB_INFERENCE_BATCH_FORMATS). */
  readonly formats: BatchFormatSettings;
  /** Most records in one call (DYNAB_INFERENCE_MAX_BATCH_RECORDS). */
  readonly maxRecords: number;
  /** Largest batch body in bytes (DYNAB_INFERENCE_MAX_BATCH_BYTES). */
  readonly maxBytes: number;
}

export interface InferenceDeps {
  readonly eventLog: EventLog;
  readonly endpoint: ModelEndpoint;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly transactionalId: string;
  /** Model calls in flight at once. */
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly batching: BatchingOptions;
  readonly predictedLabelField: string;
  /**
   * `max.message.bytes` of the predictions topic (default: as the broker reports it at start). An assignment whose
   * prediction would not fit (a model answer too large) is dead-lettered instead.
   */
  readonly maxMessageBytes?: number;
  readonly now: () => number;
  readonly monotonicNow: () => number;
  readonly logger: Logger;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
  /** Where the series go (invocations, model latency and errors, the runner's). */
  readonly metrics?: Metrics;
  /** Gets the consumer's readiness condition (partitions assigned). */
  readonly readiness?: Readiness;
}

export interface RunningInference {
  readonly stats: Readonly<RunnerStats>;
  stop(): Promise<void>;
}

export async function startInference(deps: InferenceDeps): Promise<RunningInference> {
  const { codecs, topics, logger, batching } = deps;
  const metrics = deps.metrics ?? discardMetrics;
  const invocations = metrics.counter(INFERENCE_SERIES.invocations);
  const modelLatency = metrics.histogram(INFERENCE_SERIES.modelLatency);
  const modelErrors = metrics.counter(INFERENCE_SERIES.modelErrors);
  /**
   * Counted when the prediction is made (a batch processed again after a failed transaction
   * counts again), by the variant asked for: the one the bandit chose.
   */
  const recordInvocation = (prediction: PredictionMade): void => {
    const { experiment, requestedVariant } = prediction;
    invocations.labels(experiment, requestedVariant).inc();
    modelLatency.labels(experiment, requestedVariant).observe(prediction.latencyMs / 1000);
    if (prediction.error !== null)
      modelErrors.labels(experiment, requestedVariant, prediction.error.code).inc();
  };
  const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
  const endpoint = limitInFlight(deps.endpoint, deps.concurrency);
  const invokeDeps: InvokeVariantDeps = {
    endpoint,
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
  const callDeps: InvokeCallDeps = {
    endpoint,
    maxAttempts: deps.maxAttempts,
    monotonicNow: deps.monotonicNow,
    sleep,
    onRetry: (call, attempt, error) =>
      logger.warn({ ...callFields(call), attempt, err: error }, 'retrying invocation'),
    onFallback: (call, reason, error) =>
      logger.warn(
        {
          ...callFields(call),
          reason,
          ...(error === null ? {} : { code: error.code, err: error }),
        },
        'batch call replaced by one call per record',
      ),
  };
  const formatOf = (experiment: string) => batchFormatFor(batching.formats, experiment);
  const limits = { maxRecords: batching.maxRecords, maxBytes: batching.maxBytes };

  // What the broker takes, asked once at start: a topic configured below Kafka's default would
  // otherwise refuse outputs that the default lets through.
  const maxMessageBytes =
    deps.maxMessageBytes ?? (await deps.eventLog.maxMessageBytes(topics.predictions));
  // Sizes are checked before decoding and before any call: an assignment is the router's
  // output, but anyone can produce to the topic.
  const decode = (record: LogRecord): VariantAssigned => {
    checkKey(record.key);
    checkHeaders(record.headers);
    if (record.value === null) throw new DynabError('MALFORMED_MESSAGE', 'record has no value');
    if (record.value.byteLength > MAX_ASSIGNMENT_BYTES) {
      throw new DynabError(
        'PAYLOAD_TOO_LARGE',
        `assignment is ${record.value.byteLength} bytes; the limit is ${MAX_ASSIGNMENT_BYTES}`,
      );
    }
    // The assignment lives only while its batch is processed, as the record does: its payload
    // may be a view of the record's value rather than a copy.
    const assignment = codecs.assignment.decodeSharing(record.value);
    checkAssignmentFields(assignment);
    return assignment;
  };
  const toOutRecord = (prediction: PredictionMade, key: string): OutRecord => {
    recordInvocation(prediction);
    const value = codecs.prediction.encode(prediction);
    // A model may answer with more than the topic takes; the broker would reject the
    // transaction again on every retry, so the assignment is dead-lettered instead.
    checkOutputSize('prediction', key, value, maxMessageBytes);
    logFailure(prediction);
    // Shadow predictions are keyed by the original request id so they land on the partition
    // where the request's label will be joined.
    return { topic: topics.predictions, key, value };
  };
  /** The records of one assignment's predictions, or why the assignment is dead-lettered. */
  const outRecordsOf = (
    invocations: readonly Invocation[],
    predictions: ReadonlyMap<Invocation, PredictionMade>,
  ): readonly OutRecord[] | DynabError => {
    try {
      return invocations.map((invocation) => {
        const prediction = predictions.get(invocation);
        if (prediction === undefined) throw new Error('unreachable: every invocation was planned');
        return toOutRecord(prediction, invocation.assignment.request.requestId);
      });
    } catch (thrown) {
      return toDynabError(thrown);
    }
  };

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
      metrics,
      ...(deps.readiness !== undefined ? { readiness: deps.readiness } : {}),
    },
    {
      async process(record) {
        const assignment = decode(record);
        // The served variant and any shadow copies are invoked concurrently, one call each.
        const predictions = await Promise.all([
          invokeVariant(assignment, invokeDeps),
          ...assignment.shadowVariants.map((v) => invokeVariant(assignment, invokeDeps, v)),
        ]);
        return predictions.map((p) => toOutRecord(p, assignment.request.requestId));
      },

      async processBatch(records) {
        const results: (readonly OutRecord[] | DynabError)[] = [];
        const invocationsByRecord: (readonly Invocation[])[] = [];
        for (const [index, record] of records.entries()) {
          try {
            const invocations = invocationsOf(decode(record), index);
            invocationsByRecord.push(invocations);
            results.push([]);
          } catch (thrown) {
            invocationsByRecord.push([]);
            results.push(toDynabError(thrown));
          }
        }
        const calls = planCalls(invocationsByRecord.flat(), formatOf, limits);
        const predictions = new Map<Invocation, PredictionMade>();
        await Promise.all(
          calls.map(async (call) => {
            const callResults = await invokeCall(call, callDeps);
            const eventTime = deps.now();
            for (const [i, invocation] of membersOf(call).entries()) {
              const result = callResults[i];
              if (result === undefined) throw new Error('unreachable: one result per invocation');
              predictions.set(
                invocation,
                predictionOf(invocation, result, eventTime, deps.predictedLabelField),
              );
            }
          }),
        );
        for (const [index, invocations] of invocationsByRecord.entries()) {
          if (invocations.length === 0) continue;
          results[index] = outRecordsOf(invocations, predictions);
        }
        return results;
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

/**
 * Largest assignment read at all: SageMaker's payload limit plus room for the other fields,
 * each bounded by RECORD_LIMITS.
 */
const MAX_ASSIGNMENT_BYTES = SAGEMAKER_MAX_PAYLOAD_BYTES + 512 * 1024;

/** Throws when a field of an assignment is over its limit (see RECORD_LIMITS). */
function checkAssignmentFields(assignment: VariantAssigned): void {
  checkRequestFields(assignment.request, SAGEMAKER_MAX_PAYLOAD_BYTES);
  checkStringField('variant', assignment.variant, RECORD_LIMITS.variantBytes);
  checkListLength('shadowVariants', assignment.shadowVariants.length, RECORD_LIMITS.variants);
  for (const shadow of assignment.shadowVariants) {
    checkStringField('shadow variant', shadow, RECORD_LIMITS.variantBytes);
  }
  checkListLength('allocation', assignment.allocation.length, RECORD_LIMITS.variants);
  for (const { variant } of assignment.allocation) {
    checkStringField('allocation variant', variant, RECORD_LIMITS.variantBytes);
  }
  checkStringField('reason', assignment.reason, MAX_REASON_BYTES);
  checkStringField('policy', assignment.policy, RECORD_LIMITS.variantBytes);
}

/** The router writes a sentence or two of reason; anything much longer is not from it. */
const MAX_REASON_BYTES = 4096;

function membersOf(call: PlannedCall): readonly Invocation[] {
  return call.kind === 'single' ? [call.invocation] : call.invocations;
}

function callFields(call: PlannedCall): Record<string, unknown> {
  const [first] = membersOf(call);
  return {
    experiment: first?.assignment.request.experiment,
    variant: first === undefined ? undefined : variantOf(first),
    records: membersOf(call).length,
    ...(call.kind === 'single' ? { requestId: first?.assignment.request.requestId } : {}),
  };
}
