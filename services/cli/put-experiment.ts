// `dynab experiment put FILE|-`: defines or replaces an experiment on the compacted experiments
// topic, where the router and aggregator pick it up without restart. The JSON has the shape of
// ExperimentDefined; omitted fields take the defaults below.
import { readFile } from 'node:fs/promises';
import { loadCodecs } from '../../lib/codec/avro-codec.ts';
import { loadConfig } from '../../lib/config/config.ts';
import type { ExperimentDefined } from '../../lib/contracts/events.ts';
import { defineExperiment } from '../../lib/contracts/experiment-defaults.ts';
import { topicNames, topicSpecs } from '../../lib/contracts/topics.ts';
import { DynabError } from '../../lib/errors/catalogue.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';

/** Fills defaults into a user's experiment JSON; the Avro codec validates the result. */
export function experimentFromJson(json: unknown, now: number): ExperimentDefined {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new DynabError('INVALID_FIELD', 'an experiment must be a JSON object');
  }
  const input = json as Partial<ExperimentDefined>;
  if (typeof input.experiment !== 'string' || input.experiment === '') {
    throw new DynabError('INVALID_FIELD', 'experiment: a non-empty name is required');
  }
  if (!Array.isArray(input.variants) || input.variants.length === 0) {
    throw new DynabError('INVALID_FIELD', 'variants: at least one {"name", "weight"} is required');
  }
  if (input.implicitReward != null && !(input.implicitReward >= 0 && input.implicitReward <= 1)) {
    throw new DynabError('INVALID_FIELD', 'implicitReward: must be null or a number in [0, 1]');
  }
  // JSON null means "use the default", except for implicitReward, where null means "drop".
  const given = Object.fromEntries(
    Object.entries(input).filter(([key, value]) => value !== null || key === 'implicitReward'),
  ) as Partial<ExperimentDefined>;
  return defineExperiment({
    ...given,
    experiment: input.experiment,
    variants: input.variants,
    updatedAt: now,
  });
}

export async function putExperiment(args: readonly string[]): Promise<number> {
  const source = args[0];
  if (source === undefined) {
    process.stderr.write('Usage: dynab experiment put FILE.json|-   (DYNAB_BROKERS must be set)\n');
    return 2;
  }
  const config = loadConfig();
  if (config.brokers.length === 0) {
    process.stderr.write('DYNAB_BROKERS is not set\n');
    return 2;
  }
  const text = source === '-' ? await readStdin() : await readFile(source, 'utf8');
  const codecs = loadCodecs();
  const experiment = experimentFromJson(JSON.parse(text), Date.now());
  const value = codecs.experiment.encode(experiment);
  const topics = topicNames(config.topicPrefix);
  const eventLog = new KafkaEventLog({ brokers: config.brokers, clientId: 'dynab-cli' });
  try {
    await eventLog.ensureTopics(topicSpecs(topics, config.partitions));
    const producer = await eventLog.createProducer();
    await producer.send([{ topic: topics.experiments, key: experiment.experiment, value }]);
    await producer.close();
  } finally {
    await eventLog.close();
  }
  process.stdout.write(`${JSON.stringify(experiment)}\n`);
  return 0;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
