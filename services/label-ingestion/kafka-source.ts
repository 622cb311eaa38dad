// The Kafka label source: a raw topic of application logs, consumed by the generic stateless
// runner, whose transactions carry the labels and the consumed offsets together (exactly once
// from the topic to `labels`, like every other service).
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import type { EventLog } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { startProcessorRunner } from '../../lib/stream/processor-runner.ts';
import type { LabelSource } from './label-source.ts';

export interface KafkaLabelSourceOptions {
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topic: string;
  readonly groupId: string;
  readonly transactionalId: string;
  readonly deadLetterTopic: string;
  readonly logger: Logger;
  readonly now: () => number;
  readonly onFatal?: (error: Error) => void;
}

export function kafkaLabelSource(options: KafkaLabelSourceOptions): LabelSource {
  return {
    name: `kafka:${options.topic}`,
    async start(handle) {
      const runner = await startProcessorRunner(
        {
          service: 'label-ingestion',
          eventLog: options.eventLog,
          groupId: options.groupId,
          topics: [options.topic],
          deadLetterTopic: options.deadLetterTopic,
          transactionalId: options.transactionalId,
          concurrency: 1,
          maxAttempts: 3,
          encodeDeadLetter: (letter) => options.codecs['dead-letter'].encode(letter),
          logger: options.logger,
          now: options.now,
          ...(options.onFatal !== undefined ? { onFatal: options.onFatal } : {}),
        },
        { process: handle },
      );
      return {
        get stats() {
          const { processed, deadLettered, transactions } = runner.stats;
          return { records: processed, deadLettered, transactions };
        },
        stop: () => runner.stop(),
      };
    },
  };
}
