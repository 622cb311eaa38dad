// `dynab replay --experiment X --from POS --to POS`: rebuilds the aggregator's partial posteriors
// by running the aggregator's own processor (services/aggregator/aggregator-processor.ts) over a
// range of the predictions and labels topics, into a fresh RocksDB directory. Nothing it computes
// is written to Kafka (the processor's outputs are dropped) and the live state directory is never
// opened. It then checks every posterior the aggregator published for the experiment against the
// replayed partial at the same position (core/posterior-diff.ts) and reports each divergence.
// Exit status: 0 no divergence, 1 a divergence or a failure, 2 usage error.
//
// To stand where the aggregator stood when it published a partial, the replay takes predictions
// until the partial's decisions and then labels until its other outcomes are reached
// (core/posterior-diff.ts, nextInput), in changes of at most as many records as are missing; the
// rest of the range follows in timestamp order, in changes of REPLAY_CHUNK records.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCodecs, type Codecs } from '../../lib/codec/avro-codec.ts';
import { loadConfig, type DynabConfig } from '../../lib/config/config.ts';
import type { ExperimentDefined, PosteriorPublished } from '../../lib/contracts/events.ts';
import { topicNames, type TopicNames } from '../../lib/contracts/topics.ts';
import type {
  EventLog,
  LogBatch,
  LogRecord,
  PartitionRange,
} from '../../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import { partitionForKey } from '../../lib/event-log/murmur2.ts';
import { createLogger } from '../../lib/log/logger.ts';
import type { KeyValueStore } from '../../lib/store/key-value-store.ts';
import { openRocksDbStore } from '../../lib/store/rocksdb-store.ts';
import type { StateChange } from '../../lib/stream/stateful-runner.ts';
import { createAggregatorProcessor } from '../aggregator/aggregator-processor.ts';
import {
  checkSnapshots,
  formatProgress,
  nextInput,
  positionOf,
  type Divergence,
  type SnapshotCheck,
} from './core/posterior-diff.ts';
import { ArgumentError, parseOptions, parsePosition, type LogPosition } from './core/time-range.ts';
import { processIo, type CliIo } from './experiment-command.ts';
import { readSnapshot } from './read-snapshot.ts';

export const REPLAY_USAGE = `Usage: dynab replay --experiment NAME --from POS --to POS [--state-dir DIR] [--json]
  Rebuilds the experiment's partial posteriors by running the aggregator's code over the
  predictions and labels in [--from, --to) into a fresh state directory (never the live one,
  never writing to Kafka), then compares them with every posterior the aggregator published
  for the experiment, version by version. Exit status 1 on any divergence.
    --from POS, --to POS  a time (ISO 8601, epoch ms, now, -2h) or offset:N (every partition)
    --state-dir DIR       an empty or new directory for the replayed state (default: a
                          temporary one, removed afterwards)
    --json                the report as JSON
  Published posteriors count from the start of the log: only a replay that starts at the log
  start of a partition can be compared with them; later starts are reported as not comparable.`;

/** Most records replayed as one change (one processor call, one store write). */
const REPLAY_CHUNK = 500;

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

interface ReplayArgs {
  readonly experiment: string;
  readonly from: LogPosition;
  readonly to: LogPosition;
  readonly stateDir: string | undefined;
  readonly json: boolean;
}

function parseReplayArgs(args: readonly string[], now: number): ReplayArgs | 'help' {
  const parsed = parseOptions(args, {
    values: ['experiment', 'from', 'to', 'state-dir'],
    flags: ['json', 'help'],
  });
  if (parsed.flags.has('help') || parsed.positionals[0] === 'help') return 'help';
  if (parsed.positionals.length > 0)
    throw new ArgumentError(`unexpected argument ${parsed.positionals[0] ?? ''}`);
  const experiment = parsed.values.get('experiment');
  const from = parsed.values.get('from');
  const to = parsed.values.get('to');
  if (experiment === undefined || experiment === '')
    throw new ArgumentError('--experiment is needed');
  if (from === undefined || to === undefined) throw new ArgumentError('--from and --to are needed');
  return {
    experiment,
    from: parsePosition(from, now),
    to: parsePosition(to, now),
    stateDir: parsed.values.get('state-dir'),
    json: parsed.flags.has('json'),
  };
}

/** Per partition: the replayed range of each input topic and whether it starts at the log start. */
interface PartitionPlan {
  readonly partition: number;
  readonly ranges: ReadonlyMap<string, PartitionRange>;
  /** Every input topic's range starts at its log start, which is offset 0 (nothing removed). */
  readonly fromLogStart: boolean;
  readonly note: string | null;
}

export interface ReplayReport {
  readonly experiment: string;
  readonly records: number;
  readonly elapsedMs: number;
  /** SHA-256 of the whole replayed store (every key and value, in key order). */
  readonly stateDigest: string;
  readonly partitions: readonly {
    readonly partition: number;
    readonly records: number;
    readonly comparable: boolean;
    readonly note: string | null;
    readonly final: PosteriorPublished | null;
  }[];
  readonly published: number;
  readonly matched: number;
  readonly unaligned: number;
  readonly beyondRange: number;
  readonly notComparable: number;
  readonly divergences: readonly Divergence[];
}

export async function runReplayCommand(
  args: readonly string[],
  io: CliIo = processIo(),
): Promise<number> {
  let parsed: ReplayArgs | 'help';
  let config: DynabConfig;
  try {
    parsed = parseReplayArgs(args, io.now());
    if (parsed === 'help') {
      io.stdout.write(`${REPLAY_USAGE}\n`);
      return 0;
    }
    config = loadConfig(io.env);
    if (config.brokers.length === 0) throw new ArgumentError('DYNAB_BROKERS is not set');
  } catch (error) {
    io.stderr.write(`dynab replay: ${messageOf(error)}\n\n${REPLAY_USAGE}\n`);
    return 2;
  }
  const eventLog = new KafkaEventLog({ brokers: config.brokers, clientId: 'dynab-replay' });
  let stateDir: string;
  let temporary = false;
  try {
    if (parsed.stateDir === undefined) {
      stateDir = await mkdtemp(join(tmpdir(), 'dynab-replay-'));
      temporary = true;
    } else {
      stateDir = parsed.stateDir;
      const existing = await readdir(stateDir).catch(() => []);
      if (existing.length > 0) {
        io.stderr.write(
          `dynab replay: --state-dir ${stateDir} is not empty; replay writes only into a fresh directory\n`,
        );
        return 2;
      }
    }
  } catch (error) {
    io.stderr.write(`dynab replay: failed: ${messageOf(error)}\n`);
    await eventLog.close();
    return 1;
  }
  try {
    const store = await openRocksDbStore(stateDir);
    try {
      const report = await replay(eventLog, store, config, parsed, io);
      io.stdout.write(
        parsed.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`,
      );
      return report.divergences.length > 0 ? 1 : 0;
    } finally {
      await store.close();
    }
  } catch (error) {
    io.stderr.write(`dynab replay: failed: ${messageOf(error)}\n`);
    return 1;
  } finally {
    if (temporary) await rm(stateDir, { recursive: true, force: true });
    await eventLog.close();
  }
}

async function offsetsAt(
  eventLog: EventLog,
  topic: string,
  position: LogPosition,
  log: readonly { partition: number; low: string; high: string }[],
): Promise<Map<number, bigint>> {
  const clamp = (p: number, offset: bigint): bigint => {
    const range = log.find((o) => o.partition === p);
    if (range === undefined) return offset;
    const low = BigInt(range.low);
    const high = BigInt(range.high);
    return offset < low ? low : offset > high ? high : offset;
  };
  if (position.kind === 'offset')
    return new Map(log.map((o) => [o.partition, clamp(o.partition, position.offset)]));
  const found = await eventLog.offsetsForTime(topic, position.time);
  return new Map(found.map((o) => [o.partition, clamp(o.partition, BigInt(o.offset))]));
}

async function planPartitions(
  eventLog: EventLog,
  inputs: readonly string[],
  from: LogPosition,
  to: LogPosition,
): Promise<PartitionPlan[]> {
  const perTopic = await Promise.all(
    inputs.map(async (topic) => {
      const log = await eventLog.fetchOffsets(topic);
      const [start, end] = await Promise.all([
        offsetsAt(eventLog, topic, from, log),
        offsetsAt(eventLog, topic, to, log),
      ]);
      return { topic, log, start, end };
    }),
  );
  const partitions = perTopic[0]?.log.map((o) => o.partition).sort((a, b) => a - b) ?? [];
  return partitions.map((partition) => {
    const ranges = new Map<string, PartitionRange>();
    const notes: string[] = [];
    let fromLogStart = true;
    for (const { topic, log, start, end } of perTopic) {
      const low = BigInt(log.find((o) => o.partition === partition)?.low ?? '0');
      const from = start.get(partition) ?? low;
      const until = end.get(partition) ?? from;
      ranges.set(topic, {
        partition,
        from: String(from),
        until: String(until > from ? until : from),
      });
      if (low > 0n) {
        fromLogStart = false;
        notes.push(`${topic} lost its first ${low} records to retention`);
      } else if (from > low) {
        fromLogStart = false;
        notes.push(`${topic} is replayed from offset ${from}, after the log start`);
      }
    }
    return {
      partition,
      ranges,
      fromLogStart,
      note:
        notes.length === 0
          ? null
          : `not comparable with the published posteriors (they count from the log start): ${notes.join('; ')}`,
    };
  });
}

async function readRanges(
  eventLog: EventLog,
  topic: string,
  plans: readonly PartitionPlan[],
): Promise<Map<number, LogRecord[]>> {
  const byPartition = new Map<number, LogRecord[]>();
  const ranges = plans.flatMap((plan) => {
    const range = plan.ranges.get(topic);
    return range === undefined ? [] : [range];
  });
  await eventLog.readPartitions(topic, ranges, (batch) => {
    const list = byPartition.get(batch.partition) ?? [];
    list.push(...batch.records);
    byPartition.set(batch.partition, list);
    return Promise.resolve();
  });
  return byPartition;
}

async function readPublished(
  eventLog: EventLog,
  topics: TopicNames,
  codecs: Codecs,
  experiment: string,
  to: LogPosition,
): Promise<PosteriorPublished[]> {
  const log = await eventLog.fetchOffsets(topics.posteriors);
  const published: PosteriorPublished[] = [];
  await eventLog.readPartitions(
    topics.posteriors,
    log.map((o) => ({ partition: o.partition, from: o.low, until: o.high })),
    (batch) => {
      for (const record of batch.records) {
        if (record.value === null || !record.key?.toString().startsWith(`${experiment}/`)) continue;
        let snapshot: PosteriorPublished;
        try {
          snapshot = codecs.posterior.decode(record.value);
        } catch {
          continue;
        }
        if (snapshot.experiment !== experiment) continue;
        if (to.kind === 'time' && snapshot.publishedAt >= to.time) continue;
        published.push(snapshot);
      }
      return Promise.resolve();
    },
  );
  return published;
}

/** The inputs of a partition in the order they are replayed: record time, then topic, offset. */
function mergeInputs(
  inputs: readonly string[],
  records: ReadonlyMap<string, readonly LogRecord[]>,
): LogRecord[] {
  const rank = new Map(inputs.map((topic, i) => [topic, i]));
  return inputs
    .flatMap((topic) => records.get(topic) ?? [])
    .sort(
      (a, b) =>
        a.timestamp - b.timestamp ||
        (rank.get(a.topic) ?? 0) - (rank.get(b.topic) ?? 0) ||
        Number(BigInt(a.offset) - BigInt(b.offset)),
    );
}

async function digestOf(store: KeyValueStore): Promise<string> {
  const hash = createHash('sha256');
  for await (const [key, value] of store.entries('')) {
    hash.update(`${key.length}:${key}`);
    hash.update(`${value.length}:`);
    hash.update(value);
  }
  return hash.digest('hex');
}

async function replay(
  eventLog: EventLog,
  store: KeyValueStore,
  config: DynabConfig,
  args: ReplayArgs,
  io: CliIo,
): Promise<ReplayReport> {
  const topics = topicNames(config.topicPrefix);
  const codecs = loadCodecs();
  const inputs = [topics.predictions, topics.labels, topics.labelsRepartition];
  const definitions = await readSnapshot<ExperimentDefined>({
    eventLog,
    topic: topics.experiments,
    decode: (value) => codecs.experiment.decode(value),
  });
  if (!definitions.has(args.experiment))
    throw new Error(`experiment "${args.experiment}" is not defined on ${topics.experiments}`);
  const plans = await planPartitions(eventLog, inputs, args.from, args.to);
  const published = await readPublished(eventLog, topics, codecs, args.experiment, args.to);
  io.stderr.write(`reading ${inputs.join(', ')} ...\n`);
  const read = await Promise.all(inputs.map((topic) => readRanges(eventLog, topic, plans)));
  const total = plans.reduce(
    (sum, plan) =>
      sum + inputs.reduce((n, _t, i) => n + (read[i]?.get(plan.partition)?.length ?? 0), 0),
    0,
  );

  // The replay's clock is the time of the record being processed: the same range gives the same
  // resolution times, so the same state, whenever it is replayed.
  let clock = 0;
  const partitions = plans.length;
  const processor = createAggregatorProcessor({
    store,
    codecs,
    topics,
    logger: createLogger('replay', 'silent'),
    now: () => clock,
    experiment: (name) => definitions.get(name),
    orphanAfterMs: config.orphanAfterMs,
    eventTimeAllowanceMs: config.eventTimeAllowanceMs,
    partitionOf: (requestId) => partitionForKey(requestId, partitions),
  });
  const commit = async (change: StateChange): Promise<void> => {
    await store.write([...change.operations, ...(change.localOperations ?? [])]);
    change.afterCommit?.();
  };

  const replayed = new Map<string, PosteriorPublished>();
  const finals = new Map<number, PosteriorPublished>();
  const counted = new Map<number, number>();
  const started = io.now();
  let done = 0;
  let lastProgress = started;
  const comparable = new Set(plans.filter((p) => p.fromLogStart).map((p) => p.partition));
  for (const plan of plans) {
    const p = plan.partition;
    await processor.load(p, false);
    const predictions = mergeInputs(
      [topics.predictions],
      new Map([[topics.predictions, read[0]?.get(p) ?? []]]),
    );
    const labels = mergeInputs(
      inputs.slice(1),
      new Map(inputs.slice(1).map((topic, i) => [topic, read[i + 1]?.get(p) ?? []])),
    );
    counted.set(p, predictions.length + labels.length);
    let current: PosteriorPublished | undefined;
    let pi = 0;
    let li = 0;
    /** Processes records as one change (consecutive records of a topic as one batch). */
    const step = async (records: readonly LogRecord[]): Promise<void> => {
      if (records.length === 0) return;
      const batches: LogBatch[] = [];
      for (const record of records) {
        clock = Math.max(clock, record.timestamp);
        const last = batches[batches.length - 1];
        if (last?.topic === record.topic) (last.records as LogRecord[]).push(record);
        else
          batches.push({
            topic: record.topic,
            partition: p,
            records: [record],
            highWatermark: '0',
          });
      }
      await commit(await processor.process(p, batches));
      while (processor.hasLeftovers()) {
        for (const leftover of (await processor.closeLeftovers()).values()) await commit(leftover);
      }
      for (const s of processor.takeSnapshots()) if (s.experiment === args.experiment) current = s;
      done += records.length;
      const now = io.now();
      if (now - lastProgress >= 500) {
        lastProgress = now;
        io.stderr.write(`${formatProgress(done, total, now - started)}\n`);
      }
    };
    // Walk to each published partial of this partition in turn (see nextInput), then replay the
    // rest of the range in timestamp order.
    const targets = comparable.has(p)
      ? [...new Map(published.filter((s) => s.partition === p).map((s) => [s.version, s])).values()]
          .map(positionOf)
          .sort((a, b) => a.version - b.version)
      : [];
    for (const target of targets) {
      for (;;) {
        const next = nextInput(positionOf(current), target, {
          predictions: pi < predictions.length,
          labels: li < labels.length,
        });
        if (next === 'stop') break;
        // A prediction adds one decision, a label at most one outcome besides the windows it
        // closes: as many as are missing can go in one change without passing the target.
        const at = positionOf(current);
        if (next === 'prediction') {
          const n = Math.min(REPLAY_CHUNK, target.decisions - at.decisions);
          await step(predictions.slice(pi, pi + n));
          pi += n;
        } else {
          const n = Math.min(REPLAY_CHUNK, target.resolutions - at.resolutions);
          await step(labels.slice(li, li + n));
          li += n;
        }
      }
      const at = positionOf(current);
      if (
        current !== undefined &&
        at.version === target.version &&
        at.decisions === target.decisions
      )
        replayed.set(`${p}/${target.version}`, current);
    }
    const rest = mergeInputs(
      inputs,
      new Map([
        [topics.predictions, predictions.slice(pi)],
        [topics.labels, labels.slice(li)],
      ]),
    );
    for (let i = 0; i < rest.length; i += REPLAY_CHUNK) await step(rest.slice(i, i + REPLAY_CHUNK));
    if (current !== undefined) finals.set(p, current);
    processor.unload(p);
  }
  const elapsedMs = io.now() - started;
  io.stderr.write(`${formatProgress(done, total, elapsedMs)}\n`);

  const checks: SnapshotCheck[] = checkSnapshots(
    published.filter((s) => comparable.has(s.partition)),
    (p, v) => replayed.get(`${p}/${v}`),
    (p) => finals.get(p)?.version ?? 0,
  );
  const divergences = checks.flatMap((c) => (c.kind === 'diverged' ? c.divergences : []));
  return {
    experiment: args.experiment,
    records: done,
    elapsedMs,
    stateDigest: await digestOf(store),
    partitions: plans.map((plan) => ({
      partition: plan.partition,
      records: counted.get(plan.partition) ?? 0,
      comparable: plan.fromLogStart,
      note: plan.note,
      final: finals.get(plan.partition) ?? null,
    })),
    published: published.length,
    matched: checks.filter((c) => c.kind === 'match').length,
    unaligned: checks.filter((c) => c.kind === 'unaligned').length,
    beyondRange: checks.filter((c) => c.kind === 'beyond-range').length,
    notComparable: published.filter((s) => !comparable.has(s.partition)).length,
    divergences,
  };
}

function formatReport(report: ReplayReport): string {
  const lines = [
    `replayed ${report.records} records of ${report.experiment} in ${report.elapsedMs} ms (${report.elapsedMs > 0 ? Math.round((report.records * 1000) / report.elapsedMs) : report.records} records/s)`,
  ];
  for (const p of report.partitions) {
    const variants =
      p.final === null
        ? 'nothing counted'
        : p.final.variants.map((v) => `${v.variant} ${v.successes}/${v.count}`).join(', ');
    lines.push(
      `partition ${p.partition}: ${p.records} records, version ${p.final?.version ?? 0}: ${variants}${p.note === null ? '' : `\n  ${p.note}`}`,
    );
  }
  lines.push(
    `published posteriors: ${report.published} (${report.matched} match, ${report.divergences.length === 0 ? 0 : new Set(report.divergences.map((d) => `${d.partition}/${d.version}`)).size} diverge, ${report.unaligned} inside one replayed step, ${report.beyondRange} beyond the range, ${report.notComparable} not comparable)`,
  );
  for (const d of report.divergences)
    lines.push(
      `DIVERGENCE ${d.experiment} partition ${d.partition} version ${d.version}: ${d.field} published ${d.published}, replayed ${d.replayed}`,
    );
  lines.push(`state digest sha256:${report.stateDigest}`);
  return lines.join('\n');
}
