// The router: consumes inference requests, picks a variant per request from the latest merged
// posterior of its experiment, and publishes the assignment with policy, snapshot version,
// propensity and reason. Experiments and partial posteriors are read from their compacted
// topics into a routing table that is swapped per experiment, so requests never wait on the
// aggregator. A request for an experiment it does not know falls back to the endpoint's own
// weights (core/fallback.ts) or is dead-lettered, as configured.
import type { UnknownExperimentMode } from '../../lib/config/config.ts';
import type {
  ExperimentDefined,
  PosteriorPublished,
  VariantAssigned,
} from '../../lib/contracts/events.ts';
import {
  checkHeaders,
  checkKey,
  checkOutputSize,
  checkRequestFields,
} from '../../lib/contracts/record-limits.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { decodeRequest, recordEventTime } from '../../lib/codec/json-ingress.ts';
import type { RandomSource } from '../../lib/bandit/random.ts';
import { DynabError } from '../../lib/errors/catalogue.ts';
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { discardMetrics, type Metrics } from '../../lib/metrics/metrics.ts';
import type { Readiness } from '../../lib/metrics/readiness.ts';
import { ROUTER_SERIES } from '../../lib/metrics/series.ts';
import { startProcessorRunner, type RunnerStats } from '../../lib/stream/processor-runner.ts';
import { startTableReader, type TableReader } from '../../lib/stream/table-reader.ts';
import { assignVariant } from './core/assign-variant.ts';
import { FallbackReporter } from './core/fallback.ts';
import { RoutingTable } from './core/routing-table.ts';

export interface RouterDeps {
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly maxPayloadBytes: number;
  /**
   * `max.message.bytes` of the assignments topic (default: as the broker reports it at start). An assignment
   * that would not fit is not produced: its request is dead-lettered.
   */
  readonly maxMessageBytes?: number;
  /** A request for an experiment the router does not know (DYNAB_UNKNOWN_EXPERIMENT). */
  readonly unknownExperiment: UnknownExperimentMode;
  readonly random: RandomSource;
  readonly now: () => number;
  readonly logger: Logger;
  readonly concurrency?: number;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
  /** Where the router's series go (assignments, snapshot age, plan build time, the runner's). */
  readonly metrics?: Metrics;
  /** Gets the router's readiness conditions: tables read to their end, partitions assigned. */
  readonly readiness?: Readiness;
}

export interface RouterStats extends RunnerStats {
  /**
   * Requests for an unknown experiment served by the endpoint's own weights (counted when
   * processed, so a batch processed again after a failed transaction counts again).
   */
  fallbacks: number;
}

export interface RunningRouter {
  readonly table: RoutingTable;
  /** A snapshot of the counters at the time of reading. */
  readonly stats: Readonly<RouterStats>;
  stop(): Promise<void>;
}

/** A line about an experiment's fallbacks at most this often (the first one at once). */
const FALLBACK_LOG_INTERVAL_MS = 60_000;
/** Unknown experiments remembered for that rate limit; request fields are not to be trusted. */
const FALLBACK_LOG_EXPERIMENTS = 1_000;

/**
 * Largest request value read at all, before decoding: a JSON request may spell its payload with
 * escapes (up to 6 bytes per byte), and the other fields are bounded by RECORD_LIMITS.
 */
function maxRequestValueBytes(maxPayloadBytes: number): number {
  return 6 * maxPayloadBytes + 64 * 1024;
}

/**
 * The assignment's key, the request id: as the request record's own key bytes when they are
 * exactly its UTF-8 (requests are usually keyed by their id), so that the producer neither
 * encodes it from the string nor copies it to hash it for the partition; else the string.
 */
function keyOf(key: Buffer | null, requestId: string): Buffer | string {
  if (key?.length !== requestId.length) return requestId;
  for (let i = 0; i < requestId.length; i++) {
    const code = requestId.charCodeAt(i);
    // Beyond ASCII a character is not one byte of UTF-8.
    if (code >= 0x80 || key[i] !== code) return requestId;
  }
  return key;
}

export async function startRouter(deps: RouterDeps): Promise<RunningRouter> {
  const { codecs, topics, logger } = deps;
  const metrics = deps.metrics ?? discardMetrics;
  const assignments = metrics.counter(ROUTER_SERIES.assignments);
  const planBuild = metrics.histogram(ROUTER_SERIES.planBuildSeconds).labels();
  /** Newest publication time of a posterior per experiment, for the snapshot age. */
  const publishedAt = new Map<string, number>();
  metrics.gaugeFrom(ROUTER_SERIES.snapshotAge, (set) => {
    const now = deps.now();
    for (const [experiment, at] of publishedAt) set(Math.max(0, now - at) / 1000, experiment);
  });
  const tablesRead = deps.readiness?.condition(
    'experiments and posteriors tables not read to their end yet',
  );
  const table = new RoutingTable();
  /** Rebuilds routing plans, timing it: the plan build time series. */
  const timed = (rebuild: () => void): void => {
    const started = performance.now();
    rebuild();
    planBuild.observe((performance.now() - started) / 1000);
  };
  let fallbacks = 0;
  const fallbackReporter = new FallbackReporter({
    intervalMs: FALLBACK_LOG_INTERVAL_MS,
    maxExperiments: FALLBACK_LOG_EXPERIMENTS,
  });
  const noteFallback = (assignment: VariantAssigned): void => {
    fallbacks++;
    const { experiment, requestId } = assignment.request;
    const report = fallbackReporter.note(experiment, assignment.decisionTime);
    if (report === null) return;
    const fields = { experiment, requestId, fallbacks: report.fallbacks };
    if (report.first) {
      logger.warn(fields, 'unknown experiment: served by the endpoint weights');
    } else {
      logger.info(fields, 'unknown experiment: more requests served by the endpoint weights');
    }
  };
  // What the broker takes, asked once at start: a topic configured below Kafka's default would
  // otherwise refuse outputs that the default lets through.
  const maxMessageBytes =
    deps.maxMessageBytes ?? (await deps.eventLog.maxMessageBytes(topics.assignments));
  const maxValueBytes = maxRequestValueBytes(deps.maxPayloadBytes);
  const assignOptions = {
    maxPayloadBytes: deps.maxPayloadBytes,
    unknownExperiment: deps.unknownExperiment,
  };
  // The decoded request lives only until its assignment is encoded, below: its payload may be a
  // view of the record's value rather than a copy.
  const requestCodec = {
    request: { decode: (bytes: Uint8Array) => codecs.request.decodeSharing(bytes) },
  };
  const valueOf = (record: LogRecord): Uint8Array => {
    if (record.value === null) throw new DynabError('MALFORMED_MESSAGE', 'record has no value');
    return record.value;
  };

  const experiments: TableReader<ExperimentDefined> = await startTableReader({
    eventLog: deps.eventLog,
    topic: topics.experiments,
    decode: (r) => codecs.experiment.decode(valueOf(r)),
    onChange: (changed) => {
      for (const [name, definition] of changed) {
        let problems: string[] = [];
        timed(() => (problems = table.applyExperiment(name, definition)));
        if (problems.length > 0) {
          logger.warn(
            { experiment: name, problems },
            'invalid experiment definition ignored; the previous one stays in force',
          );
        }
      }
    },
    onInvalid: (r, error) =>
      logger.warn(
        { topic: r.topic, offset: r.offset, err: error },
        'invalid experiment record ignored',
      ),
    groupPrefix: `${deps.groupId}-experiments`,
  });
  const posteriors: TableReader<PosteriorPublished> = await startTableReader({
    eventLog: deps.eventLog,
    topic: topics.posteriors,
    decode: (r) => codecs.posterior.decode(valueOf(r)),
    onChange: (changed) => {
      for (const partial of changed.values()) {
        if (partial === null) continue;
        timed(() => table.applyPosterior(partial));
        const known = publishedAt.get(partial.experiment);
        if (known === undefined || partial.publishedAt > known)
          publishedAt.set(partial.experiment, partial.publishedAt);
      }
    },
    onInvalid: (r, error) =>
      logger.warn(
        { topic: r.topic, offset: r.offset, err: error },
        'invalid posterior record ignored',
      ),
    groupPrefix: `${deps.groupId}-posteriors`,
  });
  // Requests for an experiment created a moment ago must not be dead-lettered as unknown, so
  // the router starts routing only once it has read the experiments that exist now.
  await experiments.waitForCatchUp(30_000);
  await posteriors.waitForCatchUp(30_000);
  tablesRead?.set(true);

  const runner = await startProcessorRunner(
    {
      service: 'router',
      eventLog: deps.eventLog,
      groupId: deps.groupId,
      topics: [topics.requests],
      deadLetterTopic: topics.deadLetters,
      transactionalId: deps.transactionalId,
      concurrency: deps.concurrency ?? 1,
      maxAttempts: 3,
      encodeDeadLetter: (letter) => codecs['dead-letter'].encode(letter),
      logger,
      now: deps.now,
      ...(deps.onFatal !== undefined ? { onFatal: deps.onFatal } : {}),
      metrics,
      ...(deps.readiness !== undefined ? { readiness: deps.readiness } : {}),
    },
    {
      process(record) {
        // Sizes first: nothing below (decoding, sticky hashing, encoding, partitioning by key)
        // may cost more than the limits allow.
        checkKey(record.key);
        checkHeaders(record.headers);
        const value = valueOf(record);
        if (value.byteLength > maxValueBytes) {
          throw new DynabError(
            'PAYLOAD_TOO_LARGE',
            `request value is ${value.byteLength} bytes; the limit is ${maxValueBytes}`,
          );
        }
        const request = decodeRequest(
          value,
          record.headers,
          requestCodec,
          recordEventTime(record, deps.now),
        );
        checkRequestFields(request, deps.maxPayloadBytes);
        const assignment = assignVariant(
          request,
          table.route(request.experiment),
          assignOptions,
          deps.random,
          deps.now(),
        );
        // An Avro request of the current schema is carried over as it came (the assignment
        // embeds it unchanged); a JSON request, or an older one, is encoded afresh.
        const encoded = codecs.assignment.encodeEmbedding(assignment, value);
        checkOutputSize('assignment', request.requestId, encoded, maxMessageBytes);
        if (assignment.policy === 'fallback-weights') noteFallback(assignment);
        // Counted when processed: a batch processed again after a failed transaction counts
        // again (the committed decisions are on the assignments topic).
        assignments.labels(request.experiment, assignment.variant).inc();
        return [
          { topic: topics.assignments, key: keyOf(record.key, request.requestId), value: encoded },
        ];
      },
    },
  );

  return {
    table,
    get stats() {
      return { ...runner.stats, fallbacks };
    },
    async stop() {
      await runner.stop();
      await experiments.stop();
      await posteriors.stop();
    },
  };
}
