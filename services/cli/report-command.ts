// `dynab report <experiment> [--out file.html] [--true-rates a=0.7,b=0.8]`: reads the rewards,
// statistics and decisions topics from the beginning, lets core/report-data.ts compute the
// charts' data and core/report-html.ts write one self-contained HTML file, with Chart.js's UMD
// build (read from node_modules now) inlined. Returns the exit status (0 written, 1 failed,
// 2 usage error).
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { loadCodecs } from '../../lib/codec/avro-codec.ts';
import { loadConfig } from '../../lib/config/config.ts';
import type {
  DecisionMade,
  ExperimentDefined,
  ExperimentStatistics,
  RewardResolved,
} from '../../lib/contracts/events.ts';
import { topicNames } from '../../lib/contracts/topics.ts';
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import { parseReportArgs, REPORT_USAGE, type ReportArgs } from './core/report-args.ts';
import { buildReportData } from './core/report-data.ts';
import { renderReportHtml, type ChartLibrary } from './core/report-html.ts';
import { processIo, type CliIo } from './experiment-command.ts';
import { readSnapshot } from './read-snapshot.ts';

/** Chart.js's UMD build, which defines the global `Chart`, from the installed package. */
export async function loadChartLibrary(): Promise<ChartLibrary> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('chart.js');
  const root = dirname(dirname(main));
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  return {
    name: 'Chart.js',
    version: pkg.version,
    source: await readFile(join(root, 'dist', 'chart.umd.min.js'), 'utf8'),
  };
}

/** Every record of a topic from its earliest offset to its end now, decoded, in offset order. */
async function readWholeTopic<T>(
  eventLog: EventLog,
  topic: string,
  decode: (value: Buffer) => T,
  onInvalid: (record: LogRecord, error: unknown) => void,
): Promise<T[]> {
  const offsets = await eventLog.fetchOffsets(topic);
  const out: T[] = [];
  await eventLog.readPartitions(
    topic,
    offsets.map((o) => ({ partition: o.partition, from: o.low, until: o.high })),
    (batch) => {
      for (const record of batch.records) {
        if (record.value === null) continue;
        try {
          out.push(decode(record.value));
        } catch (error) {
          onInvalid(record, error);
        }
      }
      return Promise.resolve();
    },
  );
  return out;
}

export interface WriteReportOptions {
  readonly eventLog: EventLog;
  readonly topicPrefix: string;
  readonly experiment: string;
  readonly out: string;
  readonly trueRates: ReadonlyMap<string, number> | null;
  readonly now: number;
  readonly warn?: (message: string) => void;
}

/** Reads the topics and writes the report; resolves with the absolute path written. */
export async function writeReport(options: WriteReportOptions): Promise<string> {
  const topics = topicNames(options.topicPrefix);
  const codecs = loadCodecs();
  const onInvalid = (record: LogRecord, error: unknown): void =>
    options.warn?.(
      `skipped an unreadable record (${record.topic} partition ${record.partition} offset ${record.offset}): ${error instanceof Error ? error.message : String(error)}`,
    );
  const [experiments, rewards, statistics, decisions, library] = await Promise.all([
    readSnapshot<ExperimentDefined>({
      eventLog: options.eventLog,
      topic: topics.experiments,
      decode: (value) => codecs.experiment.decode(value),
      onInvalid,
    }),
    readWholeTopic<RewardResolved>(
      options.eventLog,
      topics.rewards,
      (v) => codecs.reward.decode(v),
      onInvalid,
    ),
    readWholeTopic<ExperimentStatistics>(
      options.eventLog,
      topics.experimentStats,
      (v) => codecs['experiment-stats'].decode(v),
      onInvalid,
    ),
    readWholeTopic<DecisionMade>(
      options.eventLog,
      topics.decisions,
      (v) => codecs.decision.decode(v),
      onInvalid,
    ),
    loadChartLibrary(),
  ]);
  const definition = experiments.get(options.experiment);
  const data = buildReportData({
    experiment: options.experiment,
    variants: definition?.variants.map((v) => v.name) ?? [],
    prior:
      definition === undefined
        ? { alpha: 1, beta: 1 }
        : { alpha: definition.priorAlpha, beta: definition.priorBeta },
    rewards: rewards.filter((r) => !(definition?.shadowVariants.includes(r.variant) ?? false)),
    statistics,
    decisions,
    trueRates: options.trueRates,
    generatedAt: options.now,
  });
  const path = resolve(options.out);
  await writeFile(path, renderReportHtml(data, library));
  return path;
}

/** Runs `dynab report ARGS...` and returns the exit status. */
export async function runReportCommand(
  args: readonly string[],
  io: CliIo = processIo(),
): Promise<number> {
  let parsed: ReportArgs | 'help';
  try {
    parsed = parseReportArgs(args);
  } catch (error) {
    io.stderr.write(
      `dynab report: ${error instanceof Error ? error.message : String(error)}\n\n${REPORT_USAGE}\n`,
    );
    return 2;
  }
  if (parsed === 'help') {
    io.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  let config;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    io.stderr.write(`dynab report: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  if (config.brokers.length === 0) {
    io.stderr.write('dynab report: DYNAB_BROKERS is not set (comma-separated bootstrap brokers)\n');
    return 2;
  }
  const eventLog = new KafkaEventLog({ brokers: config.brokers, clientId: 'dynab-report' });
  try {
    const path = await writeReport({
      eventLog,
      topicPrefix: config.topicPrefix,
      experiment: parsed.experiment,
      out: parsed.out,
      trueRates: parsed.trueRates,
      now: io.now(),
      warn: (message) => io.stderr.write(`warning: ${message}\n`),
    });
    io.stdout.write(`report written to ${path}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(
      `dynab report: failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  } finally {
    await eventLog.close();
  }
}
