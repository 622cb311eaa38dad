// `dynab history EXPERIMENT [--json] [--kind KIND]`: the experiment's timeline from the
// append-only experiment-history topic (written by the decider): revisions, posterior versions
// with P(best), allocation changes and decisions. Reads the partition the experiment's name
// hashes to. Exit status: 0 printed, 1 no history or failed, 2 usage error.
import { loadCodecs } from '../../lib/codec/avro-codec.ts';
import { loadConfig, type DynabConfig } from '../../lib/config/config.ts';
import type { ExperimentHistoryEntry, HistoryEntryKind } from '../../lib/contracts/events.ts';
import { topicNames } from '../../lib/contracts/topics.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import { partitionForKey } from '../../lib/event-log/murmur2.ts';
import { formatHistory } from './core/format-history.ts';
import { ArgumentError, parseOptions } from './core/time-range.ts';
import { processIo, type CliIo } from './experiment-command.ts';

export const HISTORY_USAGE = `Usage: dynab history EXPERIMENT [--kind revision|posterior|plan|decision] [--json]
  The experiment's timeline: every revision of its definition, its posterior (rewards, mean,
  P(best)) and allocation over time (at most once per DYNAB_HISTORY_INTERVAL_MS each), and
  every decision, from the experiment-history topic.`;

const KINDS: readonly HistoryEntryKind[] = ['revision', 'posterior', 'plan', 'decision'];

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

export async function runHistoryCommand(
  args: readonly string[],
  io: CliIo = processIo(),
): Promise<number> {
  let name: string;
  let json: boolean;
  let kind: HistoryEntryKind | undefined;
  let config: DynabConfig;
  try {
    const parsed = parseOptions(args, { values: ['kind'], flags: ['json', 'help'] });
    if (parsed.flags.has('help') || parsed.positionals[0] === 'help') {
      io.stdout.write(`${HISTORY_USAGE}\n`);
      return 0;
    }
    if (parsed.positionals.length !== 1 || parsed.positionals[0] === '')
      throw new ArgumentError('one experiment name is needed');
    name = parsed.positionals[0] ?? '';
    json = parsed.flags.has('json');
    const k = parsed.values.get('kind');
    if (k !== undefined && !KINDS.includes(k as HistoryEntryKind))
      throw new ArgumentError(`--kind must be one of ${KINDS.join(', ')}`);
    kind = k as HistoryEntryKind | undefined;
    config = loadConfig(io.env);
    if (config.brokers.length === 0) throw new ArgumentError('DYNAB_BROKERS is not set');
  } catch (error) {
    io.stderr.write(`dynab history: ${messageOf(error)}\n\n${HISTORY_USAGE}\n`);
    return 2;
  }
  const eventLog = new KafkaEventLog({ brokers: config.brokers, clientId: 'dynab-history' });
  try {
    const topic = topicNames(config.topicPrefix).experimentHistory;
    const codecs = loadCodecs();
    const log = await eventLog.fetchOffsets(topic);
    const partition = partitionForKey(name, log.length);
    const range = log.find((o) => o.partition === partition);
    const entries: ExperimentHistoryEntry[] = [];
    if (range !== undefined) {
      await eventLog.readPartitions(
        topic,
        [{ partition, from: range.low, until: range.high }],
        (batch) => {
          for (const record of batch.records) {
            if (record.key?.toString() !== name || record.value === null) continue;
            try {
              const entry = codecs['experiment-history'].decode(record.value);
              if (kind === undefined || entry.kind === kind) entries.push(entry);
            } catch (error) {
              io.stderr.write(
                `warning: skipped an unreadable entry at offset ${record.offset}: ${messageOf(error)}\n`,
              );
            }
          }
          return Promise.resolve();
        },
      );
    }
    io.stdout.write(
      json ? `${JSON.stringify(entries, null, 2)}\n` : `${formatHistory(name, entries)}\n`,
    );
    return entries.length === 0 ? 1 : 0;
  } catch (error) {
    io.stderr.write(`dynab history: failed: ${messageOf(error)}\n`);
    return 1;
  } finally {
    await eventLog.close();
  }
}
