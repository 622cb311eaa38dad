// `dynab ope --experiment X --policy DEF [--from TIME] [--to TIME] [--json]`: off-policy
// evaluation of a fixed policy from the logged decisions of an experiment. Reads the rewards of
// the experiment (every partition; a time slice when given) and the predictions that carry each
// decision's whole allocation, joins them by request id, and hands them to the pure estimators
// (lib/stats/off-policy.ts). Exit status: 0 done, 1 no data or failed, 2 usage error.
import { loadCodecs } from '../../lib/codec/avro-codec.ts';
import { loadConfig, type DynabConfig } from '../../lib/config/config.ts';
import type {
  ExperimentDefined,
  PredictionMade,
  RewardResolved,
} from '../../lib/contracts/events.ts';
import { topicNames } from '../../lib/contracts/topics.ts';
import type { EventLog, PartitionRange } from '../../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';
import { evaluateOffPolicy, type LoggedDecision } from '../../lib/stats/off-policy.ts';
import { formatOffPolicyReport, parseTargetPolicy } from './core/ope.ts';
import { ArgumentError, parseOptions, parseTime } from './core/time-range.ts';
import { processIo, type CliIo } from './experiment-command.ts';
import { readSnapshot } from './read-snapshot.ts';

export const OPE_USAGE = `Usage: dynab ope --experiment NAME --policy POLICY [--from TIME] [--to TIME] [--json]
  Off-policy evaluation: what POLICY would have earned on the experiment's logged decisions,
  from their propensities and rewards: IPS, self-normalised IPS and doubly robust estimates with
  95% intervals, the effective sample size, and a warning where the logging policy gave no
  support to what POLICY would play.
    --policy      variant:NAME | uniform | weights:a=0.2,b=0.8
    --from, --to  the rewards resolved in this time slice (default: all that the topics hold)
  TIME: ISO 8601, epoch ms, now, or -DURATION (-2h, -7d).`;

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

async function rangesOf(
  eventLog: EventLog,
  topic: string,
  from: number | undefined,
  to: number | undefined,
): Promise<PartitionRange[]> {
  const log = await eventLog.fetchOffsets(topic);
  const start = from === undefined ? undefined : await eventLog.offsetsForTime(topic, from);
  const end = to === undefined ? undefined : await eventLog.offsetsForTime(topic, to);
  return log.map((o) => ({
    partition: o.partition,
    from: start?.find((s) => s.partition === o.partition)?.offset ?? o.low,
    until: end?.find((s) => s.partition === o.partition)?.offset ?? o.high,
  }));
}

export async function runOpeCommand(
  args: readonly string[],
  io: CliIo = processIo(),
): Promise<number> {
  let experimentName: string;
  let policyText: string;
  let from: number | undefined;
  let to: number | undefined;
  let json: boolean;
  let config: DynabConfig;
  try {
    const parsed = parseOptions(args, {
      values: ['experiment', 'policy', 'from', 'to'],
      flags: ['json', 'help'],
    });
    if (parsed.flags.has('help') || parsed.positionals[0] === 'help') {
      io.stdout.write(`${OPE_USAGE}\n`);
      return 0;
    }
    if (parsed.positionals.length > 0)
      throw new ArgumentError(`unexpected argument ${parsed.positionals[0] ?? ''}`);
    experimentName = parsed.values.get('experiment') ?? '';
    policyText = parsed.values.get('policy') ?? '';
    if (experimentName === '') throw new ArgumentError('--experiment is needed');
    if (policyText === '') throw new ArgumentError('--policy is needed');
    const now = io.now();
    const f = parsed.values.get('from');
    const t = parsed.values.get('to');
    from = f === undefined ? undefined : parseTime(f, now);
    to = t === undefined ? undefined : parseTime(t, now);
    json = parsed.flags.has('json');
    config = loadConfig(io.env);
    if (config.brokers.length === 0) throw new ArgumentError('DYNAB_BROKERS is not set');
  } catch (error) {
    io.stderr.write(`dynab ope: ${messageOf(error)}\n\n${OPE_USAGE}\n`);
    return 2;
  }
  const eventLog = new KafkaEventLog({ brokers: config.brokers, clientId: 'dynab-ope' });
  try {
    const topics = topicNames(config.topicPrefix);
    const codecs = loadCodecs();
    const definitions = await readSnapshot<ExperimentDefined>({
      eventLog,
      topic: topics.experiments,
      decode: (value) => codecs.experiment.decode(value),
    });
    const experiment = definitions.get(experimentName);
    if (experiment === undefined) {
      io.stderr.write(`dynab ope: experiment "${experimentName}" is not defined\n`);
      return 1;
    }
    let policy;
    try {
      policy = parseTargetPolicy(
        policyText,
        experiment.variants.map((v) => v.name),
      );
    } catch (error) {
      io.stderr.write(`dynab ope: ${messageOf(error)}\n\n${OPE_USAGE}\n`);
      return 2;
    }
    // A decision's prediction comes before its reward, by up to the window and its grace.
    const lookBack = experiment.attributionWindowMs + experiment.graceMs;
    const rewards = new Map<string, RewardResolved>();
    const predictions = new Map<string, PredictionMade>();
    await Promise.all([
      rangesOf(eventLog, topics.rewards, from, to).then((ranges) =>
        eventLog.readPartitions(topics.rewards, ranges, (batch) => {
          for (const record of batch.records) {
            if (record.value === null) continue;
            try {
              const reward = codecs.reward.decode(record.value);
              if (reward.experiment === experimentName && !rewards.has(reward.requestId))
                rewards.set(reward.requestId, reward);
            } catch {
              // An unreadable reward is not a decision we can use; the audit shows it.
            }
          }
          return Promise.resolve();
        }),
      ),
      rangesOf(
        eventLog,
        topics.predictions,
        from === undefined ? undefined : from - lookBack,
        to,
      ).then((ranges) =>
        eventLog.readPartitions(topics.predictions, ranges, (batch) => {
          for (const record of batch.records) {
            if (record.value === null) continue;
            try {
              const prediction = codecs.prediction.decode(record.value);
              if (prediction.experiment === experimentName)
                predictions.set(prediction.requestId, prediction);
            } catch {
              // As above.
            }
          }
          return Promise.resolve();
        }),
      ),
    ]);
    const decisions: LoggedDecision[] = [];
    for (const reward of rewards.values()) {
      const prediction = predictions.get(reward.requestId);
      // Shadow copies are not decisions of the logging policy.
      if (prediction?.shadowOf != null || reward.requestId.includes('#shadow:')) continue;
      if (!(reward.propensity > 0)) continue;
      decisions.push({
        variant: reward.variant,
        reward: reward.reward,
        propensity: reward.propensity,
        allocation: prediction?.allocation ?? [],
      });
    }
    if (decisions.length === 0) {
      io.stderr.write(`dynab ope: no resolved decisions of "${experimentName}" in the range\n`);
      return 1;
    }
    const report = evaluateOffPolicy(decisions, policy);
    io.stdout.write(
      json
        ? `${JSON.stringify({ experiment: experimentName, policy: Object.fromEntries(policy), ...report }, null, 2)}\n`
        : `${formatOffPolicyReport(experimentName, policy, report)}\n`,
    );
    return 0;
  } catch (error) {
    io.stderr.write(`dynab ope: failed: ${messageOf(error)}\n`);
    return 1;
  } finally {
    await eventLog.close();
  }
}
