// Backlog drains of the scale benchmark: each stream service beside its no-op twin, and 1 vs 2
// instances of inference and of the aggregator.
//
// A drain starts the drainers, waits until they are consuming, then makes a backlog of N records
// appear at once — written in one Kafka transaction, so read-committed consumers see none of it
// before the commit — and times from the commit to the moment the N-th output is readable. The
// services write their outputs in the same transaction as their consumed offsets, so that moment
// is also when their consumer lag reached 0. Every drainer gets a fresh copy of the same backlog
// on its own topic, written the same way, so service and twin drain under the same conditions.
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { LogRecord } from '../lib/event-log/event-log.ts';
import { stopChild, waitForReady, type Child } from '../services/launcher/service-processes.ts';
import { startKeyWatcher } from './scale-harness.ts';
import { indexOf, ratePerSecond, requestIdOf } from './scale-measures.ts';
import type { DrainResult, SizeDrains } from './scale-results.ts';
import {
  ENDPOINTS,
  READY_TIMEOUT_MS,
  SCRIPTS,
  STALL_MS,
  backlogOf,
  deadlineFor,
  labelRecord,
  requestRecord,
  type BacklogRecord,
  type PayloadSize,
  type ScaleContext,
  type Stage,
} from './scale-stage.ts';

interface DrainSpec {
  readonly name: string;
  /** The backlog, per topic; all of it is written in one transaction. */
  readonly inputs: readonly { topic: string; records: readonly BacklogRecord[] }[];
  readonly output: string;
  readonly expected: number;
  readonly spawn: () => Child[];
  /** Other processes the drain depends on (an endpoint): the drain fails if one exits. */
  readonly dependsOn?: readonly Child[];
  /** Keep the outputs (the next drain's backlog). */
  readonly capture?: boolean;
  /** Whether an output records a failure (counted and reported). */
  readonly isFailure?: (record: LogRecord) => boolean;
}

type CapturedDrain = DrainResult & { readonly captured: readonly LogRecord[] };

async function drain(ctx: ScaleContext, stage: Stage, spec: DrainSpec): Promise<CapturedDrain> {
  let failedOutputs = 0;
  const isFailure = spec.isFailure;
  const watcher = await startKeyWatcher({
    eventLog: ctx.eventLog,
    topic: spec.output,
    groupId: `${stage.prefix}watch-${spec.name}`,
    capture: spec.capture === true,
    ...(isFailure === undefined
      ? {}
      : {
          onRecord: (record: LogRecord) => {
            if (isFailure(record)) failedOutputs++;
          },
        }),
  });
  try {
    const children = spec.spawn();
    await Promise.all(children.map((child) => waitForReady(child, READY_TIMEOUT_MS)));
    const records = spec.inputs.flatMap(({ topic, records: backlog }) =>
      backlog.map((r) => ({ ...r, topic })),
    );
    ctx.note(`${spec.name}: backlog of ${records.length} records, ${children.length} drainer(s)`);
    const writeStarted = performance.now();
    try {
      await stage.backlogProducer.sendWithOffsets(records, `${stage.prefix}backlog`, []);
    } catch (error) {
      throw new Error(
        `${spec.name}: writing the backlog in one transaction failed (it must finish within the producer's transaction timeout, 60 s; try fewer --requests)`,
        { cause: error },
      );
    }
    const drainStarted = performance.now();
    const drained = await watcher.waitFor(spec.expected, undefined, {
      what: `${spec.expected} records on ${spec.output} (${spec.name})`,
      timeoutMs: deadlineFor(spec.expected),
      stallMs: STALL_MS,
      children: [...children, ...(spec.dependsOn ?? [])],
      logDir: ctx.logDir,
    });
    await Promise.all(children.map(stopChild));
    const result: CapturedDrain = {
      name: spec.name,
      instances: children.length,
      records: spec.expected,
      seconds: (drained - drainStarted) / 1000,
      perSecond: ratePerSecond(spec.expected, drainStarted, drained),
      backlogWriteSeconds: (drainStarted - writeStarted) / 1000,
      failedOutputs,
      captured: watcher.captured,
    };
    const quarters = [1, 2, 3].map((q) => {
      const at = watcher.reachedAt(Math.ceil((q * spec.expected) / 4));
      return at === undefined ? '?' : ((at - drainStarted) / 1000).toFixed(2);
    });
    ctx.note(
      `${spec.name}: ${result.perSecond.toFixed(0)} records/s (backlog written in ${result.backlogWriteSeconds.toFixed(1)} s; 25%, 50%, 75% drained after ${quarters.join(', ')} s)`,
    );
    return result;
  } finally {
    await watcher.stop();
  }
}

/** Two drains of the same service as one: their records over their seconds. */
function pooled(first: DrainResult, second: DrainResult): DrainResult {
  const records = first.records + second.records;
  const seconds = first.seconds + second.seconds;
  return {
    name: first.name,
    instances: first.instances,
    records,
    seconds,
    perSecond: seconds > 0 ? records / seconds : Number.NaN,
    backlogWriteSeconds: first.backlogWriteSeconds + second.backlogWriteSeconds,
    failedOutputs: first.failedOutputs + second.failedOutputs,
  };
}

const withoutCapture = (result: DrainResult): DrainResult => ({
  name: result.name,
  instances: result.instances,
  records: result.records,
  seconds: result.seconds,
  perSecond: result.perSecond,
  backlogWriteSeconds: result.backlogWriteSeconds,
  failedOutputs: result.failedOutputs,
});

/**
 * The drains of one record size, in this order: router, its twin, the twin again, the router
 * again (requests backlog; each side's two drains pooled); inference
 * against the instant model (the router's assignments as backlog), with `scaleOut` also with 2
 * instances; its twin; inference against the spam model; with `scaleOut` the aggregator with 1
 * and 2 instances (the spam model's predictions plus a truth label each as backlog).
 */
export async function runDrains(
  ctx: ScaleContext,
  stage: Stage,
  size: PayloadSize,
  requests: number,
  scaleOut: boolean,
): Promise<SizeDrains> {
  const { codecs } = ctx;
  const phase = `drain-${size.key}`;
  const requestBacklog = Array.from({ length: requests }, (_, i) =>
    requestRecord(codecs, size, requestIdOf(phase, i), i),
  );
  const predictionFailed = (record: LogRecord): boolean =>
    record.value === null || codecs.prediction.decode(record.value).error !== null;
  const twinDrain = async (
    name: string,
    records: readonly BacklogRecord[],
    concurrency: string,
  ) => {
    const input = `${stage.prefix}${name}.in`;
    const output = `${stage.prefix}${name}.out`;
    // The twin's dead letters (none expected) go to the dynab topics of this prefix.
    const prefix = `${stage.prefix}${name}.`;
    await stage.prepareTopics(prefix, [input, output]);
    return drain(ctx, stage, {
      name: `${size.key}-${name}`,
      inputs: [{ topic: input, records }],
      output,
      expected: records.length,
      spawn: () => [
        stage.spawn(
          `${size.key}-${name}`,
          SCRIPTS.noopTwin,
          stage.serviceEnv(prefix, {
            DYNAB_TWIN_INPUT: input,
            DYNAB_TWIN_OUTPUT: output,
            DYNAB_TWIN_GROUP: `${prefix}group`,
            DYNAB_TWIN_CONCURRENCY: concurrency,
          }),
        ),
      ],
    });
  };

  // The router and its twin drain twice each, in the order router, twin, twin, router, each time
  // on a fresh copy of the same backlog, and each side's two drains are pooled (records over
  // seconds): a drift through the stage (the broker's compiler warming up, other load on the
  // machine) then weighs on both sides alike instead of favouring whichever drains second.
  const routerDrain = async (name: string, capture: boolean): Promise<CapturedDrain> => {
    const prefix = `${stage.prefix}${name}.`;
    const topics = await stage.prepareTopics(prefix);
    return drain(ctx, stage, {
      name: `${size.key}-${name}`,
      inputs: [{ topic: topics.requests, records: requestBacklog }],
      output: topics.assignments,
      expected: requests,
      capture,
      spawn: () => [stage.spawn(`${size.key}-${name}`, SCRIPTS.router, stage.serviceEnv(prefix))],
    });
  };
  const routerFirst = await routerDrain('router', true);
  // The router runs its per-record path one record at a time (concurrency 1), like its twin.
  const routerTwinFirst = await twinDrain('twin-router', requestBacklog, '1');
  const routerTwinSecond = await twinDrain('twin-router-again', requestBacklog, '1');
  const routerSecond = await routerDrain('router-again', false);
  const router = pooled(routerFirst, routerSecond);
  const routerTwin = pooled(routerTwinFirst, routerTwinSecond);
  const assignments = backlogOf(routerFirst.captured);

  const inferenceDrain = async (
    name: string,
    instances: number,
    endpoint: { child: Child; url: string },
  ): Promise<CapturedDrain> => {
    const prefix = `${stage.prefix}${name}.`;
    const topics = await stage.prepareTopics(prefix);
    return drain(ctx, stage, {
      name: `${size.key}-${name}`,
      inputs: [{ topic: topics.assignments, records: assignments }],
      output: topics.predictions,
      expected: assignments.length,
      capture: true,
      dependsOn: [endpoint.child],
      isFailure: predictionFailed,
      spawn: () =>
        Array.from({ length: instances }, (_, i) =>
          stage.spawn(
            `${size.key}-${name}-${i}`,
            SCRIPTS.inference,
            stage.serviceEnv(prefix, {
              DYNAB_SAGEMAKER_ENDPOINT_URL: endpoint.url,
              DYNAB_INSTANCE_ID: `bench-${i}`,
            }),
          ),
        ),
    });
  };
  const instant = await stage.endpoint(
    `${size.key}-instant-endpoint`,
    ENDPOINTS.instant,
    stage.serviceEnv(stage.prefix),
  );
  const inferenceInstant = await inferenceDrain('inference-instant', 1, instant);
  const inferenceTwoInstances = scaleOut
    ? await inferenceDrain('inference-instant-x2', 2, instant)
    : null;
  // As many records in flight as the inference service processes at once.
  const inferenceTwin = await twinDrain(
    'twin-inference',
    assignments,
    process.env['DYNAB_INFERENCE_CONCURRENCY'] ?? '64',
  );

  const spamEndpoint = await stage.endpoint(
    `${size.key}-spam-endpoint`,
    ENDPOINTS.spam,
    stage.serviceEnv(stage.prefix),
  );
  const inferenceRealModel = await inferenceDrain('inference-spam-model', 1, spamEndpoint);

  const drains: SizeDrains = {
    size: size.key,
    router,
    routerTwin,
    inferenceInstant: withoutCapture(inferenceInstant),
    inferenceTwin: withoutCapture(inferenceTwin),
    inferenceRealModel: withoutCapture(inferenceRealModel),
  };
  if (inferenceTwoInstances === null) return drains;

  // The aggregator: the spam model's predictions plus a truth label for each, on its partition.
  const predictions = backlogOf(inferenceRealModel.captured);
  const labels: BacklogRecord[] = [];
  let scorable = 0;
  for (const record of inferenceRealModel.captured) {
    const prediction = codecs.prediction.decode(record.value ?? Buffer.alloc(0));
    if (prediction.error === null && prediction.predictedLabel !== null) scorable++;
    labels.push({
      ...labelRecord(codecs, prediction.requestId, size.truth(indexOf(prediction.requestId)), null),
      partition: record.partition,
    });
  }
  const aggregatorDrain = async (name: string, instances: number): Promise<DrainResult> => {
    const prefix = `${stage.prefix}${name}.`;
    const topics = await stage.prepareTopics(prefix);
    const result = await drain(ctx, stage, {
      name: `${size.key}-${name}`,
      inputs: [
        { topic: topics.predictions, records: predictions },
        { topic: topics.labels, records: labels },
      ],
      output: topics.rewards,
      expected: scorable,
      spawn: () =>
        Array.from({ length: instances }, (_, i) =>
          stage.spawn(
            `${size.key}-${name}-${i}`,
            SCRIPTS.aggregator,
            stage.serviceEnv(prefix, {
              DYNAB_INSTANCE_ID: `bench-${i}`,
              DYNAB_STATE_DIR: join(ctx.runDir, 'state', prefix, `instance-${i}`),
            }),
          ),
        ),
    });
    return withoutCapture(result);
  };
  return {
    ...drains,
    scaleOut: {
      inferenceTwoInstances: withoutCapture(inferenceTwoInstances),
      aggregatorOneInstance: await aggregatorDrain('aggregator', 1),
      aggregatorTwoInstances: await aggregatorDrain('aggregator-x2', 2),
    },
  };
}
