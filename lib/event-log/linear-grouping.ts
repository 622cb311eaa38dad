// kafkajs groups the messages of a produce call per partition by copying the partition's array
// for every message (`[...current, message]`), which is quadratic in the messages per partition:
// 8% of the aggregator's CPU in a profile of 50,000 pending joins, where one transaction carries
// thousands of small changelog records per partition. kafkajs's sender takes the grouping
// function from its module when it is first loaded, so the linear version below is put in the
// module cache before kafkajs is. If kafkajs was loaded first, its own grouping stays (slower,
// same result).
import { replaceKafkajsModule } from './kafkajs-modules.ts';

interface GroupingInput<M> {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly M[];
  readonly partitioner: (args: {
    topic: string;
    partitionMetadata: readonly unknown[];
    message: M;
  }) => number;
}

/** The partition of every message, in message order per partition (what kafkajs returns). */
export function groupMessagesPerPartition<M>(input: GroupingInput<M>): Record<number, M[]> {
  const grouped: Record<number, M[]> = {};
  if (input.partitionMetadata.length === 0) return grouped;
  for (const message of input.messages) {
    const partition = input.partitioner({
      topic: input.topic,
      partitionMetadata: input.partitionMetadata,
      message,
    });
    (grouped[partition] ??= []).push(message);
  }
  return grouped;
}

/** Installs the linear grouping for kafkajs's sender; true when it will be used. */
export function installLinearGrouping(): boolean {
  return replaceKafkajsModule(
    'kafkajs/src/producer/groupMessagesPerPartition.js',
    'kafkajs/src/producer/sendMessages.js',
    () => groupMessagesPerPartition,
  );
}

installLinearGrouping();
