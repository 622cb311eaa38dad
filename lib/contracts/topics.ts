// One declarative definition of every topic. Services and `npm start` create them from here,
// idempotently. Requests, assignments, predictions, labels and rewards share one partition
// count and one key (the request id), so everything about a request lands on the same partition
// number and the aggregator's join stays local to one instance.
import type { TopicSpec } from '../event-log/event-log.ts';

export interface TopicNames {
  readonly requests: string;
  readonly assignments: string;
  readonly predictions: string;
  readonly labels: string;
  /**
   * Labels the aggregator found on a partition other than their request id's, written again to
   * the right partition number (Kafka Streams' repartition topic before a join).
   */
  readonly labelsRepartition: string;
  readonly rewards: string;
  readonly lateLabels: string;
  readonly posteriors: string;
  readonly experiments: string;
  readonly experimentStats: string;
  readonly decisions: string;
  /** Every revision, posterior version, allocation change and decision per experiment (append-only). */
  readonly experimentHistory: string;
  readonly deadLetters: string;
  /** The aggregator's state, compacted; partition p holds the state of input partition p. */
  readonly aggregatorChangelog: string;
  /**
   * Application logs that label ingestion turns into labels (the local default; a deployment
   * points DYNAB_APP_LOG_TOPIC at its own topic).
   */
  readonly appLogs: string;
  /**
   * Label ingestion's positions in external sources (Kinesis shards), compacted, keyed by
   * `<stream>/<shard>`; written in the same transaction as the labels they produced.
   */
  readonly labelSourceCheckpoints: string;
  /**
   * Requests with a user id and labels that name only a user, keyed by (experiment, user): the
   * repartition before last-touch attribution (services/attribution).
   */
  readonly userAttribution: string;
  /** The attribution service's state, compacted; partition p holds input partition p's. */
  readonly attributionChangelog: string;
}

export function topicNames(prefix: string): TopicNames {
  return {
    requests: `${prefix}requests`,
    assignments: `${prefix}assignments`,
    predictions: `${prefix}predictions`,
    labels: `${prefix}labels`,
    labelsRepartition: `${prefix}labels-repartition`,
    rewards: `${prefix}rewards`,
    lateLabels: `${prefix}late-labels`,
    posteriors: `${prefix}posteriors`,
    experiments: `${prefix}experiments`,
    experimentStats: `${prefix}experiment-stats`,
    decisions: `${prefix}decisions`,
    experimentHistory: `${prefix}experiment-history`,
    deadLetters: `${prefix}dead-letters`,
    aggregatorChangelog: `${prefix}aggregator-changelog`,
    appLogs: `${prefix}app-logs`,
    labelSourceCheckpoints: `${prefix}label-source-checkpoints`,
    userAttribution: `${prefix}user-attribution`,
    attributionChangelog: `${prefix}attribution-changelog`,
  };
}

export function topicSpecs(names: TopicNames, partitions: number): TopicSpec[] {
  // Dead letters carry the original bytes plus a reason, so they may exceed the 1 MiB default.
  const bigMessages = { 'max.message.bytes': String(4 * 1024 * 1024) };
  return [
    { name: names.requests, partitions, compacted: false },
    { name: names.assignments, partitions, compacted: false },
    { name: names.predictions, partitions, compacted: false },
    { name: names.labels, partitions, compacted: false },
    { name: names.labelsRepartition, partitions, compacted: false },
    // Rewards are the audit trail of every resolution (a late label after an implicit reward is
    // a second, different record for the same request), so they are not compacted.
    { name: names.rewards, partitions, compacted: false },
    // Labels that arrived after their attribution window, with the reward they would have earned.
    { name: names.lateLabels, partitions, compacted: false },
    { name: names.posteriors, partitions: 1, compacted: true },
    { name: names.experiments, partitions: 1, compacted: true },
    // Latest statistics per experiment, and the log of decisions (stopping rule, canary).
    { name: names.experimentStats, partitions: 1, compacted: true },
    { name: names.decisions, partitions: 1, compacted: false },
    // The timeline of every experiment, written by the decider; append-only (never compacted).
    { name: names.experimentHistory, partitions: 1, compacted: false },
    { name: names.deadLetters, partitions: 1, compacted: false, config: bigMessages },
    // State changes of the aggregator (join slots, counts, window index, watermark), one
    // partition per input partition; compaction keeps the latest value of every key and drops
    // deleted keys, so it grows with the state, not with history.
    {
      name: names.aggregatorChangelog,
      partitions,
      compacted: true,
      config: { ...bigMessages, 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': '600000' },
    },
    { name: names.appLogs, partitions, compacted: false },
    { name: names.labelSourceCheckpoints, partitions, compacted: true },
    { name: names.userAttribution, partitions, compacted: false },
    {
      name: names.attributionChangelog,
      partitions,
      compacted: true,
      config: { 'min.cleanable.dirty.ratio': '0.1', 'segment.ms': '600000' },
    },
  ];
}
