// The router: consumes inference requests, picks a variant per request from the latest merged
// posterior of its experiment, and publishes the assignment with policy, snapshot version,
// propensity and reason. Experiments and partial posteriors are read from their compacted
// topics into a routing table that is swapped per experiment, so requests never wait on the
// aggregator.
import type { ExperimentDefined, PosteriorPublished } from '../../lib/contracts/events.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { decodeRequest, recordEventTime } from '../../lib/codec/json-ingress.ts';
import type { RandomSource } from '../../lib/bandit/random.ts';
import { DynabError } from '../../lib/errors/catalogue.ts';
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { startProcessorRunner, type RunnerStats } from '../../lib/stream/processor-runner.ts';
import { startTableReader, type TableReader } from '../../lib/stream/table-reader.ts';
import { assignVariant } from './core/assign-variant.ts';
import { RoutingTable } from './core/routing-table.ts';

export interface RouterDeps {
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly maxPayloadBytes: number;
  readonly random: RandomSource;
  readonly now: () => number;
  readonly logger: Logger;
  readonly concurrency?: number;
  /** Called when consumption stopped for good; the process should exit so it gets restarted. */
  readonly onFatal?: (error: Error) => void;
}

export interface RunningRouter {
  readonly table: RoutingTable;
  readonly stats: Readonly<RunnerStats>;
  stop(): Promise<void>;
}

export async function startRouter(deps: RouterDeps): Promise<RunningRouter> {
  const { codecs, topics, logger } = deps;
  const table = new RoutingTable();
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
        const problems = table.applyExperiment(name, definition);
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
      for (const partial of changed.values()) if (partial !== null) table.applyPosterior(partial);
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
    },
    {
      process(record) {
        const request = decodeRequest(
          valueOf(record),
          record.headers,
          codecs,
          recordEventTime(record, deps.now),
        );
        const assignment = assignVariant(
          request,
          table.route(request.experiment),
          { maxPayloadBytes: deps.maxPayloadBytes },
          deps.random,
          deps.now(),
        );
        return [
          {
            topic: topics.assignments,
            key: request.requestId,
            value: codecs.assignment.encode(assignment),
          },
        ];
      },
    },
  );

  return {
    table,
    stats: runner.stats,
    async stop() {
      await runner.stop();
      await experiments.stop();
      await posteriors.stop();
    },
  };
}
