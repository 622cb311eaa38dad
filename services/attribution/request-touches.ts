// The request side of the repartition by user: every request with a user id is written to
// `user-attribution`, keyed by (experiment, user), in the transaction that commits its offset.
// Requests without a user are skipped; requests that cannot be decoded are skipped and counted
// here (the router dead-letters them, once).
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { decodeRequest, recordEventTime } from '../../lib/codec/json-ingress.ts';
import { checkKey, checkRequestFields } from '../../lib/contracts/record-limits.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import { encodeUserAttribution, userAttributionKey } from '../../lib/contracts/user-attribution.ts';
import type { EventLog } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { startProcessorRunner, type RunnerStats } from '../../lib/stream/processor-runner.ts';

export interface RequestTouchesOptions {
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly groupId: string;
  readonly transactionalId: string;
  /** Requests with larger payloads are skipped (the router dead-letters them). */
  readonly maxPayloadBytes: number;
  readonly logger: Logger;
  readonly now: () => number;
  readonly onFatal?: (error: Error) => void;
}

export interface RequestTouchStats extends RunnerStats {
  /** Requests with a user id, written to `user-attribution`. */
  touches: number;
  /** Requests that could not be read, skipped. */
  skipped: number;
}

export async function startRequestTouches(
  options: RequestTouchesOptions,
): Promise<{ readonly stats: Readonly<RequestTouchStats>; stop(): Promise<void> }> {
  const { codecs, topics } = options;
  let touches = 0;
  let skipped = 0;
  const maxValueBytes = 6 * options.maxPayloadBytes + 64 * 1024;
  const runner = await startProcessorRunner(
    {
      service: 'attribution',
      eventLog: options.eventLog,
      groupId: options.groupId,
      topics: [topics.requests],
      deadLetterTopic: topics.deadLetters,
      transactionalId: options.transactionalId,
      concurrency: 1,
      maxAttempts: 3,
      encodeDeadLetter: (letter) => codecs['dead-letter'].encode(letter),
      logger: options.logger,
      now: options.now,
      ...(options.onFatal !== undefined ? { onFatal: options.onFatal } : {}),
    },
    {
      process(record) {
        let request;
        try {
          checkKey(record.key);
          if (record.value === null || record.value.byteLength > maxValueBytes) {
            throw new Error('no value, or too large');
          }
          request = decodeRequest(
            record.value,
            record.headers,
            codecs,
            recordEventTime(record, options.now),
          );
          checkRequestFields(request, options.maxPayloadBytes);
        } catch {
          skipped++;
          return [];
        }
        if (request.userId === null) return [];
        touches++;
        return [
          {
            topic: topics.userAttribution,
            key: userAttributionKey(request.experiment, request.userId),
            value: encodeUserAttribution({
              kind: 'request',
              experiment: request.experiment,
              userId: request.userId,
              requestId: request.requestId,
              eventTime: request.eventTime,
            }),
          },
        ];
      },
    },
  );
  return {
    get stats() {
      return { ...runner.stats, touches, skipped };
    },
    stop: () => runner.stop(),
  };
}
