// Last-touch attribution on the stateful runner. Input: `user-attribution`, keyed by (experiment,
// user): requests with a user id (from `requests`, see request-touches.ts) and labels that name
// only a user (from label ingestion). State of partition p, changelogged and restored like the
// aggregator's:
//   ua/<p>/t/<user key>                     the user's latest requests (core/last-touch.ts)
//   ua/<p>/l/<event time>/<offset>          a label waiting to be decided (its original record)
//   ua/<p>/w                                the request watermark of the partition
// A label is decided once the watermark passed its event time by the grace: credited to the
// latest request at or before it within the experiment's attribution window, it goes to `labels`
// keyed by that request id with the source `last-touch/<source>` (which the reward records), so
// the aggregator joins it like any other label; with no such
// request it goes to the dead letters (ORPHAN_LABEL) with the reason.
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import type { LabelReceived } from '../../lib/contracts/events.ts';
import { RECORD_LIMITS, toWellFormed, utf8Length } from '../../lib/contracts/record-limits.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import {
  decodeUserAttribution,
  type UserLabelReceived,
} from '../../lib/contracts/user-attribution.ts';
import { DynabError, toDynabError } from '../../lib/errors/catalogue.ts';
import type { LogBatch, LogRecord, OutRecord } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import type { KeyValueStore, StoreOperation } from '../../lib/store/key-value-store.ts';
import { buildDeadLetter, warnDeadLettered } from '../../lib/stream/processor-runner.ts';
import type { StateChange, StatefulProcessor } from '../../lib/stream/stateful-runner.ts';
import { addTouch, creditedTouch, isDecidable, type Touch } from './core/last-touch.ts';

export interface AttributionStats {
  requests: number;
  /** Labels that named only a user, received. */
  userLabels: number;
  /** Labels credited to a request and written to `labels`. */
  credited: number;
  /** Labels with no request of their user in the window, dead-lettered. */
  unattributed: number;
  deadLettered: number;
}

export interface AttributionProcessorOptions {
  readonly store: KeyValueStore;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly logger: Logger;
  readonly now: () => number;
  /** The attribution window of an experiment (ms). */
  readonly windowOf: (experiment: string) => number;
  readonly graceMs: number;
}

/** The header that names the user a label was attributed through. */
export const ATTRIBUTED_USER_HEADER = 'dynab-attributed-user';

/** Prefix of the source of a credited label, so its reward says how the request was found. */
export const LAST_TOUCH_PREFIX = 'last-touch/';

/** `last-touch/<source>`, the source cut so the whole stays within the label limit. */
export function lastTouchSource(source: string): string {
  const room = RECORD_LIMITS.sourceBytes - LAST_TOUCH_PREFIX.length;
  // A UTF-16 unit is at most 3 UTF-8 bytes: a third of the room in characters always fits.
  const kept = utf8Length(source) <= room ? source : source.slice(0, Math.floor(room / 3));
  return toWellFormed(LAST_TOUCH_PREFIX + kept);
}

/** Labels decided per batch at most; the rest wait for the next batch. */
const DECIDE_LIMIT = 10_000;

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
const prefixOf = (p: number): string => `ua/${pad(p, 5)}/`;
const touchesKey = (p: number, userKey: string): string => `${prefixOf(p)}t/${userKey}`;
const labelsPrefix = (p: number): string => `${prefixOf(p)}l/`;
// Event times are non-negative safe integers: 16 digits keep them in numeric order.
const labelKey = (p: number, eventTime: number, offset: string): string =>
  `${labelsPrefix(p)}${pad(eventTime, 16)}/${offset.padStart(20, '0')}`;
const watermarkKey = (p: number): string => `${prefixOf(p)}w`;

/** A waiting label: its original record, kept so a dead letter carries the original bytes. */
interface WaitingLabel {
  readonly key: string;
  readonly value: string;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: number;
}

export function createAttributionProcessor(
  options: AttributionProcessorOptions,
): StatefulProcessor & { readonly stats: AttributionStats } {
  const { store, codecs, topics, logger } = options;
  const stats: AttributionStats = {
    requests: 0,
    userLabels: 0,
    credited: 0,
    unattributed: 0,
    deadLettered: 0,
  };
  const watermarks = new Map<number, number>();

  const deadLetter = (record: LogRecord, error: DynabError): OutRecord => {
    warnDeadLettered(logger, record, error);
    stats.deadLettered++;
    return buildDeadLetter(record, error, 'attribution', topics.deadLetters, options.now(), (l) =>
      codecs['dead-letter'].encode(l),
    );
  };

  return {
    stats,
    stateKeyPrefixes: (p) => [prefixOf(p)],
    async load(p) {
      const stored = await store.get(watermarkKey(p));
      watermarks.set(p, stored === undefined ? -1 : Number(stored.toString()));
    },
    unload(p) {
      watermarks.delete(p);
    },
    async process(p, batches: readonly LogBatch[]): Promise<StateChange> {
      // This batch's writes, read back by its later records before they reach the store.
      const overlay = new Map<string, Buffer | null>();
      const read = async (key: string): Promise<Buffer | undefined> =>
        overlay.has(key) ? (overlay.get(key) ?? undefined) : store.get(key);
      const touchesOf = async (key: string): Promise<Touch[]> => {
        const stored = await read(key);
        return stored === undefined ? [] : (JSON.parse(stored.toString()) as Touch[]);
      };
      const before = watermarks.get(p) ?? -1;
      let watermark = before;
      const outputs: OutRecord[] = [];
      const counts = { requests: 0, userLabels: 0, credited: 0, unattributed: 0 };

      for (const batch of batches) {
        for (const record of batch.records) {
          try {
            if (record.value === null || record.key === null) {
              throw new DynabError('MALFORMED_MESSAGE', 'record has no key or no value');
            }
            const event = decodeUserAttribution(record.value);
            const userKey = record.key.toString('utf8');
            if (event.kind === 'request') {
              const key = touchesKey(p, userKey);
              const next = addTouch(await touchesOf(key), {
                requestId: event.requestId,
                eventTime: event.eventTime,
              });
              overlay.set(key, Buffer.from(JSON.stringify(next)));
              watermark = Math.max(watermark, event.eventTime);
              counts.requests++;
            } else {
              const waiting: WaitingLabel = {
                key: userKey,
                value: record.value.toString('base64'),
                topic: record.topic,
                partition: record.partition,
                offset: record.offset,
                timestamp: record.timestamp,
              };
              overlay.set(
                labelKey(p, event.eventTime, record.offset),
                Buffer.from(JSON.stringify(waiting)),
              );
              counts.userLabels++;
            }
          } catch (thrown) {
            outputs.push(deadLetter(record, toDynabError(thrown)));
          }
        }
      }

      // Decide every waiting label the watermark has passed by the grace, in event-time order.
      const until = watermark - options.graceMs;
      if (until >= 0) {
        const upper = `${labelsPrefix(p)}${pad(until + 1, 16)}`;
        const stored = await store.range(labelsPrefix(p), upper, DECIDE_LIMIT);
        const keys = new Set(stored.map(([key]) => key));
        for (const [key, value] of overlay) {
          if (key.startsWith(labelsPrefix(p)) && key < upper && value !== null) keys.add(key);
        }
        for (const key of [...keys].sort()) {
          const bytes = await read(key);
          if (bytes === undefined) continue;
          const waiting = JSON.parse(bytes.toString()) as WaitingLabel;
          const original: LogRecord = {
            topic: waiting.topic,
            partition: waiting.partition,
            offset: waiting.offset,
            key: Buffer.from(waiting.key),
            value: Buffer.from(waiting.value, 'base64'),
            headers: {},
            timestamp: waiting.timestamp,
          };
          const event = decodeUserAttribution(
            original.value ?? Buffer.alloc(0),
          ) as UserLabelReceived;
          if (isDecidable(event.eventTime, watermark, options.graceMs)) {
            const windowMs = options.windowOf(event.experiment);
            const credit = creditedTouch(
              await touchesOf(touchesKey(p, waiting.key)),
              event.eventTime,
              windowMs,
            );
            if (credit === null) {
              counts.unattributed++;
              outputs.push(
                deadLetter(
                  original,
                  new DynabError(
                    'ORPHAN_LABEL',
                    `no request of user ${JSON.stringify(event.userId)} in experiment ${JSON.stringify(event.experiment)} within ${windowMs} ms before the label's event time ${event.eventTime}`,
                  ),
                ),
              );
            } else {
              const label: LabelReceived = {
                requestId: credit.requestId,
                reward: event.reward,
                label: event.label,
                eventTime: event.eventTime,
                source: lastTouchSource(event.source),
              };
              outputs.push({
                topic: topics.labels,
                key: credit.requestId,
                value: codecs.label.encode(label),
                headers: { [ATTRIBUTED_USER_HEADER]: event.userId },
                timestamp: waiting.timestamp,
              });
              counts.credited++;
            }
            overlay.set(key, null);
          }
        }
      }
      if (watermark !== before) overlay.set(watermarkKey(p), Buffer.from(String(watermark)));

      const operations: StoreOperation[] = [...overlay].map(([key, value]) =>
        value === null ? { type: 'del', key } : { type: 'put', key, value },
      );
      return {
        outputs,
        operations,
        afterCommit: () => {
          watermarks.set(p, watermark);
          stats.requests += counts.requests;
          stats.userLabels += counts.userLabels;
          stats.credited += counts.credited;
          stats.unattributed += counts.unattributed;
        },
      };
    },
  };
}
