// The decider: reads experiments and partial posteriors, recomputes each changed experiment's
// statistics at most every `intervalMs`, publishes them on `experiment-stats`, and acts on the
// stopping rule and the canary guard. A decision and the experiment revision it writes (the
// promotion or the roll-back) go out in one Kafka transaction, so routers never see one without
// the other. One instance runs per cluster; its transactional id fences a zombie predecessor.
import type {
  DecisionMade,
  ExperimentDefined,
  PosteriorPublished,
} from '../../lib/contracts/events.ts';
import { mergeExperimentTotals } from '../../lib/contracts/posterior-totals.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { validExperimentOf } from '../../lib/contracts/validate-experiment.ts';
import { DynabError, toDynabError } from '../../lib/errors/catalogue.ts';
import type {
  EventLog,
  LogProducer,
  LogRecord,
  OutRecord,
  TopicPartitionOffset,
} from '../../lib/event-log/event-log.ts';
import { buildDeadLetter } from '../../lib/stream/processor-runner.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { Metrics } from '../../lib/metrics/metrics.ts';
import { DECIDER_SERIES, RUNNER_SERIES } from '../../lib/metrics/series.ts';
import { startTableReader, type TableReader } from '../../lib/stream/table-reader.ts';
import { buildExperimentRoute } from '../router/core/routing-table.ts';
import { evaluateExperiment } from './core/evaluate.ts';
import { foldHistory, historyEntries, type HistoryCursor } from './core/history-entries.ts';

export interface DeciderDeps {
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly logger: Logger;
  readonly now: () => number;
  /** Recompute changed experiments at most this often (ms). */
  readonly intervalMs: number;
  /** Where the decider's series go (evaluations, decisions). */
  readonly metrics?: Metrics;
  /**
   * Posterior versions and allocation changes go to the experiment history at most this often per
   * experiment (ms; revisions and decisions always). Default 60 s.
   */
  readonly historyIntervalMs?: number;
}

export interface DeciderStats {
  evaluations: number;
  statisticsPublished: number;
  decisions: number;
  /** Evaluations that threw: that experiment waits for its next change, the others go on. */
  failedEvaluations: number;
  /** Invalid records of the topics it reads, dead-lettered (once each). */
  deadLettered: number;
}

export interface RunningDecider {
  readonly stats: Readonly<DeciderStats>;
  /** Evaluates every changed experiment now. */
  evaluateNow(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDecider(deps: DeciderDeps): Promise<RunningDecider> {
  const { codecs, topics, logger } = deps;
  const stats: DeciderStats = {
    evaluations: 0,
    statisticsPublished: 0,
    decisions: 0,
    failedEvaluations: 0,
    deadLettered: 0,
  };
  deps.metrics?.counterFrom(DECIDER_SERIES.evaluations, () => stats.evaluations);
  deps.metrics?.counterFrom(DECIDER_SERIES.decisions, () => stats.decisions);
  const deadLetters = deps.metrics?.counter(RUNNER_SERIES.deadLetters);
  const dirty = new Set<string>();
  const valueOf = (record: LogRecord): Uint8Array => {
    if (record.value === null) throw new DynabError('MALFORMED_MESSAGE', 'record has no value');
    return record.value;
  };
  // The control topics are read from the start at every start, so their invalid records are met
  // again each time. Each is dead-lettered once: the transaction that publishes dead letters also
  // commits, for this group, the offset past the last one, and records below it are skipped.
  const readTopics = [topics.experiments, topics.posteriors, topics.decisions];
  const judged = new Map<string, bigint>(
    (await deps.eventLog.fetchCommittedOffsets(deps.groupId, readTopics)).map((o) => [
      `${o.topic}\u0000${o.partition}`,
      BigInt(o.offset),
    ]),
  );
  const letters: { readonly record: LogRecord; readonly error: DynabError }[] = [];
  const warnInvalid = (r: LogRecord, error: unknown): void => {
    const below = judged.get(`${r.topic}\u0000${r.partition}`) ?? 0n;
    if (BigInt(r.offset) < below) return;
    logger.warn({ topic: r.topic, offset: r.offset, err: error }, 'invalid record ignored');
    letters.push({ record: r, error: toDynabError(error, 'MALFORMED_MESSAGE') });
  };

  const experiments: TableReader<ExperimentDefined> = await startTableReader({
    eventLog: deps.eventLog,
    topic: topics.experiments,
    // An invalid definition is ignored (and dead-lettered): the previous valid one stays.
    decode: (r) => validExperimentOf(r.key?.toString() ?? '', codecs.experiment.decode(valueOf(r))),
    onChange: (changed) => {
      for (const name of changed.keys()) dirty.add(name);
    },
    onInvalid: warnInvalid,
    groupPrefix: `${deps.groupId}-experiments`,
  });
  const posteriors: TableReader<PosteriorPublished> = await startTableReader({
    eventLog: deps.eventLog,
    topic: topics.posteriors,
    decode: (r) => codecs.posterior.decode(valueOf(r)),
    onChange: (changed) => {
      for (const partial of changed.values()) if (partial !== null) dirty.add(partial.experiment);
    },
    onInvalid: warnInvalid,
    groupPrefix: `${deps.groupId}-posteriors`,
  });
  // The latest decision per experiment: a decision already taken on a revision is not repeated.
  const decisions: TableReader<DecisionMade> = await startTableReader({
    eventLog: deps.eventLog,
    topic: topics.decisions,
    decode: (r) => codecs.decision.decode(valueOf(r)),
    onInvalid: warnInvalid,
    groupPrefix: `${deps.groupId}-decisions`,
  });
  await Promise.all([
    experiments.waitForCatchUp(30_000),
    posteriors.waitForCatchUp(30_000),
    decisions.waitForCatchUp(30_000),
  ]);
  const taken = new Map<string, DecisionMade>();
  const alreadyTaken = (d: DecisionMade): boolean => {
    const last = taken.get(d.experiment) ?? decisions.get(d.experiment);
    return last?.revision === d.revision && last.kind === d.kind && last.variant === d.variant;
  };

  // What the history already holds, so a restart appends only what is new.
  const history = new Map<string, HistoryCursor>();
  /** Experiments with a history entry held back by the interval, and when it is due. */
  const historyRetries = new Map<string, number>();
  const historyLog = await deps.eventLog.fetchOffsets(topics.experimentHistory);
  await deps.eventLog.readPartitions(
    topics.experimentHistory,
    historyLog.map((o) => ({ partition: o.partition, from: o.low, until: o.high })),
    (batch) => {
      for (const record of batch.records) {
        try {
          const entry = codecs['experiment-history'].decode(valueOf(record));
          history.set(entry.experiment, foldHistory(history.get(entry.experiment), entry));
        } catch (error) {
          logger.warn(
            { topic: record.topic, offset: record.offset, err: error },
            'unreadable history entry skipped',
          );
        }
      }
      return Promise.resolve();
    },
  );

  const producer: LogProducer = await deps.eventLog.createProducer({
    transactionalId: deps.transactionalId,
  });

  const evaluate = async (name: string): Promise<void> => {
    const experiment = experiments.get(name);
    if (experiment === undefined) return;
    const totals = mergeExperimentTotals(posteriors.values(), name, experiment.halfLifeMs);
    const { statistics, decision, update } = evaluateExperiment(experiment, totals, deps.now());
    stats.evaluations++;
    const records: OutRecord[] = [
      {
        topic: topics.experimentStats,
        key: name,
        value: codecs['experiment-stats'].encode(statistics),
      },
    ];
    const fresh = decision !== null && !alreadyTaken(decision);
    const route = buildExperimentRoute(
      experiment,
      [...posteriors.values()].filter((p) => p.experiment === name),
    );
    const timeline = historyEntries(history.get(name), {
      experiment,
      statistics,
      posteriorVersion: totals.version,
      plan: { policy: route.policy, reason: route.reason, allocation: route.allocation },
      decision: fresh ? decision : null,
      now: deps.now(),
      minIntervalMs: deps.historyIntervalMs ?? 60_000,
    });
    for (const entry of timeline.entries) {
      records.push({
        topic: topics.experimentHistory,
        key: name,
        value: codecs['experiment-history'].encode(entry),
      });
    }
    if (fresh) {
      records.push({ topic: topics.decisions, key: name, value: codecs.decision.encode(decision) });
      if (update !== null) {
        records.push({
          topic: topics.experiments,
          key: name,
          value: codecs.experiment.encode(update),
        });
      }
    }
    await producer.sendWithOffsets(records, deps.groupId, []);
    history.set(name, timeline.cursor);
    // A change held back by the history interval: evaluated again once it is due.
    if (timeline.retryAt === null) historyRetries.delete(name);
    else historyRetries.set(name, timeline.retryAt);
    stats.statisticsPublished++;
    if (fresh) {
      taken.set(name, decision);
      stats.decisions++;
      logger.info(
        {
          experiment: name,
          kind: decision.kind,
          variant: decision.variant,
          applied: decision.applied,
        },
        decision.reason,
      );
    }
  };

  /** Publishes the dead letters collected so far, with the offsets past them, in one transaction. */
  const flushDeadLetters = async (): Promise<void> => {
    if (letters.length === 0) return;
    const batch = letters.splice(0);
    const offsets = new Map<string, TopicPartitionOffset>();
    for (const { record } of batch) {
      const key = `${record.topic}\u0000${record.partition}`;
      const next = BigInt(record.offset) + 1n;
      if (next > (judged.get(key) ?? 0n))
        offsets.set(key, {
          topic: record.topic,
          partition: record.partition,
          offset: String(next),
        });
    }
    try {
      await producer.sendWithOffsets(
        batch.map(({ record, error }) =>
          buildDeadLetter(record, error, 'decider', topics.deadLetters, deps.now(), (l) =>
            codecs['dead-letter'].encode(l),
          ),
        ),
        deps.groupId,
        [...offsets.values()],
      );
    } catch (error) {
      letters.unshift(...batch);
      throw error;
    }
    for (const [key, entry] of offsets) judged.set(key, BigInt(entry.offset));
    stats.deadLettered += batch.length;
    for (const { error } of batch) deadLetters?.labels(error.code).inc();
  };

  /**
   * Evaluates each changed experiment on its own: one that cannot be evaluated is logged and
   * left until its definition or its posteriors change again, and never holds back the others.
   * A failed publication (the broker) keeps the experiment changed for the next tick.
   */
  const evaluateNow = async (): Promise<void> => {
    const names = [...dirty];
    dirty.clear();
    let failure: Error | null = null;
    for (const name of names) {
      try {
        await evaluate(name);
      } catch (error) {
        const fromBroker = (error as { retriable?: unknown } | null)?.retriable === true;
        if (fromBroker) {
          dirty.add(name);
          failure = error instanceof Error ? error : new Error(String(error));
        } else {
          stats.failedEvaluations++;
          logger.warn(
            { experiment: name, err: error },
            'evaluation failed; this experiment waits for its next change',
          );
        }
      }
    }
    await flushDeadLetters();
    if (failure !== null) throw failure;
  };

  let running: Promise<void> | null = null;
  const tick = (): void => {
    if (historyRetries.size > 0) {
      const now = deps.now();
      for (const [name, at] of historyRetries) {
        if (at <= now) {
          historyRetries.delete(name);
          dirty.add(name);
        }
      }
    }
    if (running !== null || (dirty.size === 0 && letters.length === 0)) return;
    running = evaluateNow()
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'evaluation failed; will retry');
      })
      .finally(() => {
        running = null;
      });
  };
  const timer = setInterval(tick, deps.intervalMs);
  for (const experiment of experiments.values()) dirty.add(experiment.experiment);
  tick();

  return {
    stats,
    async evaluateNow() {
      await running;
      await evaluateNow();
    },
    async stop() {
      clearInterval(timer);
      await running;
      await producer.close();
      await Promise.all([experiments.stop(), posteriors.stop(), decisions.stop()]);
    },
  };
}
