// `dynab audit <request-id>`: the trail of one request from the topics. It reads only partition
// murmur2(request id) of the request-keyed topics (where the producers put every record of the
// request) and, on each, only the offsets of a time slice (Kafka's offsets by timestamp), never
// whole topics; core/audit-trail.ts assembles and renders what it finds. Exit status: 0 found,
// 1 not found or failed, 2 usage error.
import { loadCodecs, type Codecs } from '../../lib/codec/avro-codec.ts';
import { decodeLabel, decodeRequest } from '../../lib/codec/json-ingress.ts';
import { loadConfig } from '../../lib/config/config.ts';
import { topicNames, type TopicNames } from '../../lib/contracts/topics.ts';
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import { partitionForKey } from '../../lib/event-log/murmur2.ts';
import {
  auditTrailJson,
  buildAuditTrail,
  formatAuditTrail,
  type AuditInput,
  type Found,
  type SliceRead,
} from './core/audit-trail.ts';
import { ArgumentError, parseOptions, parseTime } from './core/time-range.ts';
import { processIo, type CliIo } from './experiment-command.ts';

export const AUDIT_USAGE = `Usage: dynab audit REQUEST_ID [--json] [--at TIME | --from TIME --to TIME]
  The trail of one request: request, routing decision (policy, experiment revision, posterior
  snapshot version, allocation, propensity), prediction, labels, reward and how it resolved.
  Reads only the request id's partition, within a time slice:
    --at TIME     around a known request time: from TIME - 1h to TIME + the orphan horizon
    --from TIME   slice start (default: now - the orphan horizon, DYNAB_ORPHAN_AFTER_MS)
    --to TIME     slice end (default: now)
    --json        the trail as JSON
  TIME: ISO 8601 (2026-12-07T14:00:00Z), epoch ms, now, or -DURATION (-2h, -7d).`;

/** Before a given request time, the slice starts this much earlier (clock skew, queueing). */
const BEFORE_AT_MS = 3_600_000;

interface AuditArgs {
  readonly requestId: string;
  readonly json: boolean;
  readonly at: string | undefined;
  readonly from: string | undefined;
  readonly to: string | undefined;
}

function parseAuditArgs(args: readonly string[]): AuditArgs | 'help' {
  const parsed = parseOptions(args, { values: ['at', 'from', 'to'], flags: ['json', 'help'] });
  if (parsed.flags.has('help') || parsed.positionals[0] === 'help') return 'help';
  if (parsed.positionals.length !== 1) throw new ArgumentError('one request id is needed');
  const requestId = parsed.positionals[0] ?? '';
  if (requestId === '') throw new ArgumentError('the request id is empty');
  if (parsed.values.has('at') && (parsed.values.has('from') || parsed.values.has('to')))
    throw new ArgumentError('--at or --from/--to, not both');
  return {
    requestId,
    json: parsed.flags.has('json'),
    at: parsed.values.get('at'),
    from: parsed.values.get('from'),
    to: parsed.values.get('to'),
  };
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

export async function runAuditCommand(
  args: readonly string[],
  io: CliIo = processIo(),
): Promise<number> {
  let parsed: AuditArgs | 'help';
  let config;
  let sliceStart: number;
  let sliceEnd: number;
  try {
    parsed = parseAuditArgs(args);
    if (parsed === 'help') {
      io.stdout.write(`${AUDIT_USAGE}\n`);
      return 0;
    }
    config = loadConfig(io.env);
    if (config.brokers.length === 0) throw new ArgumentError('DYNAB_BROKERS is not set');
    const now = io.now();
    if (parsed.at !== undefined) {
      const at = parseTime(parsed.at, now);
      sliceStart = at - BEFORE_AT_MS;
      sliceEnd = at + config.orphanAfterMs;
    } else {
      sliceEnd = parsed.to === undefined ? now : parseTime(parsed.to, now);
      sliceStart =
        parsed.from === undefined ? sliceEnd - config.orphanAfterMs : parseTime(parsed.from, now);
    }
    if (!(sliceStart < sliceEnd)) throw new ArgumentError('the slice is empty (--from ≥ --to)');
  } catch (error) {
    io.stderr.write(`dynab audit: ${messageOf(error)}\n\n${AUDIT_USAGE}\n`);
    return 2;
  }
  const eventLog = new KafkaEventLog({ brokers: config.brokers, clientId: 'dynab-audit' });
  try {
    const input = await readTrail(eventLog, topicNames(config.topicPrefix), loadCodecs(), {
      requestId: parsed.requestId,
      sliceStart,
      sliceEnd,
    });
    const trail = buildAuditTrail(input);
    io.stdout.write(parsed.json ? `${auditTrailJson(trail)}\n` : `${formatAuditTrail(trail)}\n`);
    return trail.outcome === 'not-found' ? 1 : 0;
  } catch (error) {
    io.stderr.write(`dynab audit: failed: ${messageOf(error)}\n`);
    return 1;
  } finally {
    await eventLog.close();
  }
}

/** The slice [start, end) of one partition of a topic, as offsets. */
async function sliceOf(
  eventLog: EventLog,
  topic: string,
  partition: number,
  start: number,
  end: number,
): Promise<SliceRead> {
  const [offsets, from, until] = await Promise.all([
    eventLog.fetchOffsets(topic),
    eventLog.offsetsForTime(topic, start),
    eventLog.offsetsForTime(topic, end),
  ]);
  const log = offsets.find((o) => o.partition === partition);
  if (log === undefined) throw new Error(`topic ${topic} has no partition ${partition}`);
  const at = (list: readonly { partition: number; offset: string }[]): string =>
    list.find((o) => o.partition === partition)?.offset ?? log.high;
  return { topic, partition, from: at(from), until: at(until), low: log.low };
}

/**
 * Reads what the topics hold about one request: the slice [sliceStart, sliceEnd) of its partition
 * on every request-keyed topic, decoded. Exported for the audit benchmark, which times it on a
 * connected client (bench/audit-replay-bench.ts).
 */
export async function readTrail(
  eventLog: EventLog,
  topics: TopicNames,
  codecs: Codecs,
  options: { requestId: string; sliceStart: number; sliceEnd: number },
): Promise<AuditInput> {
  const { requestId, sliceStart, sliceEnd } = options;
  const key = Buffer.from(requestId, 'utf8');
  const partitions = (await eventLog.fetchOffsets(topics.requests)).length;
  const partition = partitionForKey(key, partitions);
  const deadLetterPartitions = (await eventLog.fetchOffsets(topics.deadLetters)).length;
  const unreadable: { topic: string; offset: string; reason: string }[] = [];

  /** The request's records of one topic's slice, decoded; undecodable ones are reported. */
  const read = async <T>(
    topic: string,
    p: number,
    decode: (record: LogRecord) => T,
  ): Promise<{ slice: SliceRead; found: Found<T>[] }> => {
    const slice = await sliceOf(eventLog, topic, p, sliceStart, sliceEnd);
    const found: Found<T>[] = [];
    await eventLog.readPartitions(
      topic,
      [{ partition: p, from: slice.from, until: slice.until }],
      (batch) => {
        for (const record of batch.records) {
          if (!record.key?.equals(key)) continue;
          try {
            found.push({
              topic,
              partition: p,
              offset: record.offset,
              timestamp: record.timestamp,
              value: decode(record),
            });
          } catch (error) {
            unreadable.push({ topic, offset: record.offset, reason: messageOf(error) });
          }
        }
        return Promise.resolve();
      },
    );
    return { slice, found };
  };
  const value = (record: LogRecord): Buffer => record.value ?? Buffer.alloc(0);
  const label = (record: LogRecord) =>
    decodeLabel(value(record), record.headers, codecs, record.timestamp);
  const [requests, assignments, predictions, labels, repartitioned, rewards, late, dead] =
    await Promise.all([
      read(topics.requests, partition, (r) =>
        decodeRequest(value(r), r.headers, codecs, r.timestamp),
      ),
      read(topics.assignments, partition, (r) => codecs.assignment.decode(value(r))),
      read(topics.predictions, partition, (r) => codecs.prediction.decode(value(r))),
      read(topics.labels, partition, label),
      read(topics.labelsRepartition, partition, label),
      read(topics.rewards, partition, (r) => codecs.reward.decode(value(r))),
      read(topics.lateLabels, partition, (r) => codecs.reward.decode(value(r))),
      read(topics.deadLetters, partitionForKey(key, deadLetterPartitions), (r) =>
        codecs['dead-letter'].decode(value(r)),
      ),
    ]);
  return {
    requestId,
    partition,
    partitions,
    sliceStart,
    sliceEnd,
    slices: [requests, assignments, predictions, labels, repartitioned, rewards, late, dead].map(
      (r) => r.slice,
    ),
    requests: requests.found,
    assignments: assignments.found,
    predictions: predictions.found,
    labels: [...labels.found, ...repartitioned.found],
    rewards: rewards.found,
    lateLabels: late.found,
    deadLetters: dead.found,
    unreadable,
  };
}
