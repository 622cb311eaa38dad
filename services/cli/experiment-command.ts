// `dynab experiment create|update|show|pause|resume|stop|promote|put`: the thin I/O shell around
// services/cli/core. It parses the arguments, reads files, reads the current definitions from
// the compacted experiments topic, lets core compute and validate the next definition, encodes
// it (the Avro codec checks the shape) and only then writes it. Returns the exit status
// (0 done, 1 refused or failed, 2 usage error) instead of exiting, so tests can run it in-process.
import { readFile } from 'node:fs/promises';
import { loadCodecs, type Codecs } from '../../lib/codec/avro-codec.ts';
import { loadConfig, type DynabConfig } from '../../lib/config/config.ts';
import type {
  DecisionMade,
  ExperimentDefined,
  ExperimentStatistics,
} from '../../lib/contracts/events.ts';
import { topicNames, topicSpecs, type TopicNames } from '../../lib/contracts/topics.ts';
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import { applyCommand, resolveDefinitionCommand, type WriteCommand } from './core/apply-command.ts';
import {
  EXPERIMENT_USAGE,
  parseExperimentCommand,
  UsageError,
  type ExperimentCommand,
} from './core/experiment-args.ts';
import { parseExperimentJson, type ExperimentFile } from './core/experiment-json.ts';
import {
  formatExperimentList,
  formatExperimentView,
  type ExperimentView,
} from './core/format-experiment.ts';
import { readSnapshot } from './read-snapshot.ts';

export interface TextSink {
  write(text: string): unknown;
}

/** Everything the command touches besides Kafka, injectable for tests. */
export interface CliIo {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly now: () => number;
  /** The text of a file, or of stdin for "-". */
  readonly readText: (source: string) => Promise<string>;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    now: () => Date.now(),
    readText: (source) => (source === '-' ? readStdin() : readFile(source, 'utf8')),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** A failure already explained to the user; `status` is the exit status. */
class CommandFailure extends Error {
  constructor(
    message: string,
    readonly status: 1 | 2,
  ) {
    super(message);
  }
}

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Runs `dynab experiment ARGS...` and returns the exit status. */
export async function runExperimentCommand(
  args: readonly string[],
  io: CliIo = processIo(),
): Promise<number> {
  try {
    let command: ExperimentCommand;
    try {
      command = parseExperimentCommand(args);
    } catch (error) {
      if (error instanceof UsageError) throw new CommandFailure(error.message, 2);
      throw error;
    }
    if (command.kind === 'help') {
      io.stdout.write(`${EXPERIMENT_USAGE}\n`);
      return 0;
    }
    const config = readConfig(io);
    if (command.kind === 'show') return await show(command, config, io);
    const write = await toWriteCommand(command, io);
    return await applyAndWrite(write, config, io);
  } catch (error) {
    if (error instanceof CommandFailure) {
      io.stderr.write(`dynab experiment: ${error.message}\n`);
      if (error.status === 2) io.stderr.write(`\n${EXPERIMENT_USAGE}\n`);
      return error.status;
    }
    io.stderr.write(`dynab experiment: failed: ${messageOf(error)}\n`);
    return 1;
  }
}

function readConfig(io: CliIo): DynabConfig {
  let config: DynabConfig;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    throw new CommandFailure(messageOf(error), 2);
  }
  if (config.brokers.length === 0) {
    throw new CommandFailure('DYNAB_BROKERS is not set (comma-separated bootstrap brokers)', 2);
  }
  return config;
}

async function readExperimentFile(source: string, io: CliIo): Promise<ExperimentFile> {
  const where = source === '-' ? 'stdin' : source;
  let text: string;
  try {
    text = await io.readText(source);
  } catch (error) {
    throw new CommandFailure(`cannot read ${where}: ${messageOf(error)}`, 1);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CommandFailure(`${where} is not JSON: ${messageOf(error)}`, 1);
  }
  try {
    return parseExperimentJson(json);
  } catch (error) {
    throw new CommandFailure(`${where}: ${messageOf(error)}`, 1);
  }
}

async function toWriteCommand(
  command: Exclude<ExperimentCommand, { kind: 'help' | 'show' }>,
  io: CliIo,
): Promise<WriteCommand> {
  switch (command.kind) {
    case 'put': {
      const file = await readExperimentFile(command.source, io);
      if (file.name === undefined || file.name === '') {
        throw new CommandFailure('experiment: a non-empty name is required', 1);
      }
      return { kind: 'put', name: file.name, file };
    }
    case 'create':
    case 'update': {
      const file =
        command.file === undefined ? undefined : await readExperimentFile(command.file, io);
      try {
        return resolveDefinitionCommand(command, file);
      } catch (error) {
        throw new CommandFailure(messageOf(error), 2);
      }
    }
    case 'pause':
    case 'resume':
    case 'stop':
    case 'promote':
      return command;
  }
}

interface Connection {
  readonly eventLog: EventLog;
  readonly topics: TopicNames;
  readonly codecs: Codecs;
  readonly warn: (record: LogRecord, error: unknown) => void;
}

async function withConnection<T>(
  config: DynabConfig,
  io: CliIo,
  use: (connection: Connection) => Promise<T>,
): Promise<T> {
  const topics = topicNames(config.topicPrefix);
  const eventLog = new KafkaEventLog({ brokers: config.brokers, clientId: 'dynab-cli' });
  try {
    await eventLog.ensureTopics(topicSpecs(topics, config.partitions));
    return await use({
      eventLog,
      topics,
      codecs: loadCodecs(),
      warn: (record, error) => {
        io.stderr.write(
          `warning: skipped an unreadable record (${record.topic} partition ${record.partition} offset ${record.offset}): ${messageOf(error)}\n`,
        );
      },
    });
  } finally {
    await eventLog.close();
  }
}

function readExperiments(c: Connection): Promise<Map<string, ExperimentDefined>> {
  return readSnapshot({
    eventLog: c.eventLog,
    topic: c.topics.experiments,
    decode: (value) => c.codecs.experiment.decode(value),
    onInvalid: c.warn,
  });
}

async function applyAndWrite(
  command: WriteCommand,
  config: DynabConfig,
  io: CliIo,
): Promise<number> {
  return withConnection(config, io, async (c) => {
    // Read-modify-write: see the note on races at applyCommand.
    const current = (await readExperiments(c)).get(command.name);
    const outcome = applyCommand(current, command, io.now());
    switch (outcome.kind) {
      case 'refused':
        io.stderr.write(
          `dynab experiment: ${command.kind} ${command.name} refused, nothing written:\n  ${outcome.problems.join('\n  ')}\n`,
        );
        return 1;
      case 'unchanged':
        io.stdout.write(`${outcome.summary}\n`);
        return 0;
      case 'write': {
        let value: Buffer;
        try {
          value = c.codecs.experiment.encode(outcome.next);
        } catch (error) {
          io.stderr.write(
            `dynab experiment: ${command.kind} ${command.name} refused, nothing written:\n  ${messageOf(error)}\n`,
          );
          return 1;
        }
        const producer = await c.eventLog.createProducer();
        try {
          await producer.send([{ topic: c.topics.experiments, key: command.name, value }]);
        } finally {
          await producer.close();
        }
        // put has always printed the definition it wrote, as JSON.
        io.stdout.write(
          command.kind === 'put' ? `${JSON.stringify(outcome.next)}\n` : `${outcome.summary}\n`,
        );
        return 0;
      }
    }
  });
}

async function show(
  command: Extract<ExperimentCommand, { kind: 'show' }>,
  config: DynabConfig,
  io: CliIo,
): Promise<number> {
  return withConnection(config, io, async (c) => {
    const [experiments, statistics, decisions] = await Promise.all([
      readExperiments(c),
      readSnapshot<ExperimentStatistics>({
        eventLog: c.eventLog,
        topic: c.topics.experimentStats,
        decode: (value) => c.codecs['experiment-stats'].decode(value),
        onInvalid: c.warn,
      }),
      // Not compacted: the last record per key is the latest decision.
      readSnapshot<DecisionMade>({
        eventLog: c.eventLog,
        topic: c.topics.decisions,
        decode: (value) => c.codecs.decision.decode(value),
        onInvalid: c.warn,
      }),
    ]);
    const viewOf = (definition: ExperimentDefined): ExperimentView => ({
      definition,
      statistics: statistics.get(definition.experiment) ?? null,
      decision: decisions.get(definition.experiment) ?? null,
    });
    if (command.name !== undefined) {
      const definition = experiments.get(command.name);
      if (definition === undefined) {
        io.stderr.write(`dynab experiment: experiment "${command.name}" does not exist\n`);
        return 1;
      }
      const view = viewOf(definition);
      io.stdout.write(
        command.json ? `${JSON.stringify(view, null, 2)}\n` : `${formatExperimentView(view)}\n`,
      );
      return 0;
    }
    const views = [...experiments.values()]
      .sort((a, b) => (a.experiment < b.experiment ? -1 : a.experiment > b.experiment ? 1 : 0))
      .map(viewOf);
    io.stdout.write(
      command.json ? `${JSON.stringify(views, null, 2)}\n` : `${formatExperimentList(views)}\n`,
    );
    return 0;
  });
}
