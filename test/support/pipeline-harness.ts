// Integration-test harness: unique topics per test on the shared real broker, codecs, a silent
// logger, producers and collectors that register their own cleanup.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { createSeededRandom } from '../../lib/bandit/random.ts';
import { experimentDefined } from './fixtures.ts';
import { startRouter, type RunningRouter } from '../../services/router/build-router.ts';
import { loadCodecs, type Codecs } from '../../lib/codec/avro-codec.ts';
import type { UnknownExperimentMode } from '../../lib/config/config.ts';
import type {
  ExperimentDefined,
  LabelReceived,
  PredictionMade,
} from '../../lib/contracts/events.ts';
import {
  emptyTotals,
  sumPartials,
  type VariantTotals,
} from '../../lib/contracts/posterior-totals.ts';
import { topicNames, topicSpecs, type TopicNames } from '../../lib/contracts/topics.ts';
import type { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import type { LogProducer, LogRecord, OutRecord } from '../../lib/event-log/event-log.ts';
import { createLogger, type Logger } from '../../lib/log/logger.ts';
import { openRocksDbStore } from '../../lib/store/rocksdb-store.ts';
import {
  startAggregator,
  type RunningAggregator,
} from '../../services/aggregator/build-aggregator.ts';
import { collectTopic, openTestEventLog, uniqueName } from './kafka-test-kit.ts';

export interface Pipeline {
  readonly eventLog: KafkaEventLog;
  readonly topics: TopicNames;
  readonly codecs: Codecs;
  readonly logger: Logger;
  readonly prefix: string;
  readonly producer: LogProducer;
  send(records: readonly OutRecord[]): Promise<void>;
  defineExperiment(experiment: ExperimentDefined): Promise<void>;
  /** Collects every record of a topic (read committed) from the beginning. */
  collect(topic: string): Promise<LogRecord[]>;
  tempDir(): Promise<string>;
}

/**
 * Topics of a pipeline with their own settings, e.g. a requests topic that accepts larger
 * records than the topics the services write.
 */
export type TopicOverrides = Partial<Record<keyof TopicNames, Readonly<Record<string, string>>>>;

export async function openPipeline(
  partitions = 2,
  overrides: TopicOverrides = {},
): Promise<Pipeline> {
  const prefix = `${uniqueName('t')}.`;
  const eventLog = openTestEventLog();
  const topics = topicNames(prefix);
  const configOf = new Map(
    Object.entries(overrides).map(([stream, config]) => [
      topics[stream as keyof TopicNames],
      config,
    ]),
  );
  await eventLog.ensureTopics(
    topicSpecs(topics, partitions).map((spec) => {
      const extra = configOf.get(spec.name);
      return extra === undefined ? spec : { ...spec, config: { ...spec.config, ...extra } };
    }),
  );
  const codecs = loadCodecs();
  const producer = await eventLog.createProducer();
  onTestFinished(() => producer.close());
  const pipeline: Pipeline = {
    eventLog,
    topics,
    codecs,
    logger: createLogger('test', process.env['DYNAB_TEST_LOG_LEVEL'] ?? 'silent'),
    prefix,
    producer,
    send: (records) => producer.send(records),
    async defineExperiment(experiment) {
      await producer.send([
        {
          topic: topics.experiments,
          key: experiment.experiment,
          value: codecs.experiment.encode(experiment),
        },
      ]);
    },
    collect: (topic) => collectTopic(eventLog, topic),
    async tempDir() {
      const dir = await mkdtemp(join(tmpdir(), 'dynab-test-'));
      onTestFinished(() => rm(dir, { recursive: true, force: true }));
      return dir;
    },
  };
  return pipeline;
}

/** The unit-test experiment with the demo's champion/challenger pair and a one-day window. */
export function experimentFixture(overrides: Partial<ExperimentDefined> = {}): ExperimentDefined {
  return experimentDefined({
    variants: [
      { name: 'champion', weight: 0.5 },
      { name: 'challenger', weight: 0.5 },
    ],
    attributionWindowMs: 86_400_000,
    ...overrides,
  });
}

export function predictionFixture(
  requestId: string,
  overrides: Partial<PredictionMade> = {},
): PredictionMade {
  return {
    requestId,
    experiment: 'spam-filter',
    requestedVariant: 'champion',
    invokedVariant: 'champion',
    output: Buffer.from('{"label":"spam"}'),
    outputContentType: 'application/json',
    predictedLabel: 'spam',
    latencyMs: 3,
    error: null,
    propensity: 0.5,
    snapshotVersion: -1,
    policy: 'static-weights',
    requestTime: 1_700_000_000_000,
    eventTime: 1_700_000_000_010,
    // As in predictions logged before allocations existed; tests of decision counts set one.
    allocation: [],
    shadowVariants: [],
    shadowOf: null,
    inferenceId: null,
    experimentRevision: 1,
    ...overrides,
  };
}

export function labelFixture(
  requestId: string,
  overrides: Partial<LabelReceived> = {},
): LabelReceived {
  return {
    requestId,
    reward: null,
    label: 'spam',
    eventTime: 1_700_000_001_000,
    source: 'test',
    ...overrides,
  };
}

/** Per-variant totals as the router sees them: the latest partial of each partition, summed. */
export type Tally = { -readonly [K in keyof VariantTotals]: VariantTotals[K] };

export const emptyTally = (): Tally => emptyTotals();

export function mergePosteriors(
  records: readonly LogRecord[],
  codecs: Codecs,
  experiment: string,
): Map<string, Tally> {
  const partials = records.flatMap((r) =>
    r.value === null ? [] : [codecs.posterior.decode(r.value)],
  );
  return sumPartials(partials, experiment);
}

/** Rewards folded in, summed over variants. */
export const foldedCount = (tallies: ReadonlyMap<string, Tally>): number =>
  [...tallies.values()].reduce((sum, t) => sum + t.count, 0);

/**
 * Builds the per-variant totals a test expects, outcome by outcome. Decision counts (assigned,
 * expectedAssigned) are checked exactly once the test records decisions with `decision()`;
 * tests about rewards only leave them out and they match any number.
 */
export class ExpectedTally {
  private readonly tallies = new Map<string, Tally>();
  private decisionsTracked = false;

  get byVariant(): Map<string, Tally> {
    if (this.decisionsTracked) return this.tallies;
    return new Map(
      [...this.tallies].map(([variant, t]) => [
        variant,
        {
          ...t,
          assigned: expect.any(Number) as number,
          expectedAssigned: expect.any(Number) as number,
        },
      ]),
    );
  }

  private at(variant: string): Tally {
    let t = this.tallies.get(variant);
    if (t === undefined) {
      t = emptyTally();
      this.tallies.set(variant, t);
    }
    return t;
  }

  reward(variant: string, reward: number, implicit = false): this {
    const t = this.at(variant);
    t.successes += reward;
    t.failures += 1 - reward;
    t.count += 1;
    t.rewardSum += reward;
    t.rewardSumSquares += reward * reward;
    // Without a half-life every weight is 1: the decayed sums are the plain sums.
    t.decayed = {
      weight: t.decayed.weight + 1,
      rewardSum: t.decayed.rewardSum + reward,
      rewardSumSquares: t.decayed.rewardSumSquares + reward * reward,
    };
    if (implicit) t.implicit += 1;
    return this;
  }

  dropped(variant: string): this {
    this.at(variant).dropped += 1;
    return this;
  }

  late(variant: string): this {
    this.at(variant).late += 1;
    return this;
  }

  /** One distinct prediction served `variant`, drawn from `allocation`. */
  decision(variant: string, allocation: PredictionMade['allocation']): this {
    this.decisionsTracked = true;
    this.at(variant).assigned += 1;
    for (const { variant: name, probability } of allocation) {
      if (probability > 0) this.at(name).expectedAssigned += probability;
    }
    return this;
  }
}

/**
 * An aggregator in this process on the pipeline's topics, with its own RocksDB store in
 * `stateDir`; stopped (store closed) when the test ends, or earlier through `stop()`.
 */
export async function startTestAggregator(
  pipeline: Pipeline,
  stateDir: string,
  groupId: string,
  options: { now: number; snapshotIntervalMs: number },
): Promise<RunningAggregator> {
  const store = await openRocksDbStore(stateDir);
  const aggregator = await startAggregator({
    eventLog: pipeline.eventLog,
    store,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId,
    logger: pipeline.logger,
    now: () => options.now,
    snapshotIntervalMs: options.snapshotIntervalMs,
    orphanAfterMs: 3_600_000,
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await aggregator.stop();
    await store.close();
  };
  onTestFinished(stop);
  return { ...aggregator, stats: aggregator.stats, stop };
}

/** A router in this process on the pipeline's topics, stopped when the test ends. */
export async function startTestRouter(
  pipeline: Pipeline,
  options: {
    seed: number;
    now: number;
    maxPayloadBytes?: number;
    unknownExperiment?: UnknownExperimentMode;
  },
): Promise<RunningRouter> {
  const router = await startRouter({
    eventLog: pipeline.eventLog,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId: uniqueName('router'),
    transactionalId: uniqueName('router-tx'),
    maxPayloadBytes: options.maxPayloadBytes ?? 1024,
    unknownExperiment: options.unknownExperiment ?? 'fallback',
    random: createSeededRandom(options.seed),
    now: () => options.now,
    logger: pipeline.logger,
  });
  onTestFinished(() => router.stop());
  return router;
}
