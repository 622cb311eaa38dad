// Attribution by user id: requests with a user id and labels that name only a user are
// repartitioned by (experiment, user) into `user-attribution` (request-touches.ts, and label
// ingestion for the labels), and a stateful processor there credits each label to the user's
// latest request in the experiment within its attribution window (attribution-processor.ts).
// Both steps are exactly-once: Kafka transactions, and the stateful runner's changelog.
import { randomUUID } from 'node:crypto';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import type { ExperimentDefined } from '../../lib/contracts/events.ts';
import { EXPERIMENT_DEFAULTS } from '../../lib/contracts/experiment-defaults.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import { validExperimentOf } from '../../lib/contracts/validate-experiment.ts';
import type { EventLog } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { KeyValueStore } from '../../lib/store/key-value-store.ts';
import { startStatefulRunner } from '../../lib/stream/stateful-runner.ts';
import { startTableReader } from '../../lib/stream/table-reader.ts';
import { createAttributionProcessor, type AttributionStats } from './attribution-processor.ts';
import { startRequestTouches, type RequestTouchStats } from './request-touches.ts';

export interface AttributionDeps {
  readonly eventLog: EventLog;
  readonly store: KeyValueStore;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  /** Group prefix: `<groupId>-touches` reads requests, `<groupId>` the repartition topic. */
  readonly groupId: string;
  /** Unique per instance, stable across restarts; default random. */
  readonly transactionalId?: string;
  readonly graceMs: number;
  readonly maxPayloadBytes: number;
  readonly logger: Logger;
  readonly now: () => number;
  readonly onFatal?: (error: Error) => void;
}

export interface RunningAttribution {
  readonly stats: Readonly<AttributionStats & { touches: RequestTouchStats }>;
  stop(): Promise<void>;
}

export async function startAttribution(deps: AttributionDeps): Promise<RunningAttribution> {
  const { codecs, topics, logger } = deps;
  const experiments = await startTableReader<ExperimentDefined>({
    eventLog: deps.eventLog,
    topic: topics.experiments,
    decode: (r) =>
      validExperimentOf(
        r.key?.toString() ?? '',
        codecs.experiment.decode(r.value ?? new Uint8Array()),
      ),
    onInvalid: (r, error) =>
      logger.warn({ topic: r.topic, offset: r.offset, err: error }, 'invalid experiment ignored'),
    groupPrefix: `${deps.groupId}-experiments`,
  });
  await experiments.waitForCatchUp(30_000);
  const transactionalId = deps.transactionalId ?? `${deps.groupId}-${randomUUID()}`;
  const processor = createAttributionProcessor({
    store: deps.store,
    codecs,
    topics,
    logger,
    now: deps.now,
    // An experiment not (yet) defined gets the default window.
    windowOf: (name) =>
      experiments.get(name)?.attributionWindowMs ?? EXPERIMENT_DEFAULTS.attributionWindowMs,
    graceMs: deps.graceMs,
  });
  const runner = await startStatefulRunner(
    {
      eventLog: deps.eventLog,
      store: deps.store,
      groupId: deps.groupId,
      topics: [topics.userAttribution],
      changelogTopic: topics.attributionChangelog,
      transactionalId,
      transactionTimeoutMs: 15_000,
      logger,
      ...(deps.onFatal !== undefined ? { onFatal: deps.onFatal } : {}),
    },
    processor,
  );
  const touches = await startRequestTouches({
    eventLog: deps.eventLog,
    codecs,
    topics,
    groupId: `${deps.groupId}-touches`,
    transactionalId: `${transactionalId}-touches`,
    maxPayloadBytes: deps.maxPayloadBytes,
    logger,
    now: deps.now,
    ...(deps.onFatal !== undefined ? { onFatal: deps.onFatal } : {}),
  });
  return {
    get stats() {
      return { ...processor.stats, touches: touches.stats };
    },
    async stop() {
      await touches.stop();
      await runner.stop();
      await experiments.stop();
    },
  };
}
