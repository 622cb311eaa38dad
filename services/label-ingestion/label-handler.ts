// One application-log record in, its labels out: checks the size before anything else, decodes
// JSON lines (one object per non-blank line) or one Avro record, applies the mapping
// (core/mapping.ts) and encodes each label for the `labels` topic, keyed by its request id; a
// label that names only a user and an experiment goes to `user-attribution`, keyed by both, where
// the attribution service credits it to the user's latest request (services/attribution).
// A record that cannot be read or mapped throws the DynabError that dead-letters it, whole: a
// JSON-lines record with one bad line yields no label at all, so a replay after the producer's
// fix cannot count its good lines twice.
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import { recordEventTime } from '../../lib/codec/json-ingress.ts';
import type { LabelReceived } from '../../lib/contracts/events.ts';
import {
  checkLabelFields,
  checkStringField,
  RECORD_LIMITS,
} from '../../lib/contracts/record-limits.ts';
import {
  encodeUserAttribution,
  userAttributionKey,
  type UserLabelReceived,
} from '../../lib/contracts/user-attribution.ts';
import { DynabError } from '../../lib/errors/catalogue.ts';
import type { OutRecord } from '../../lib/event-log/event-log.ts';
import { applyMapping, type MappedLabel } from './core/mapping.ts';
import type { RecordHandler } from './label-source.ts';
import type { LoadedMapping } from './load-mapping.ts';

export interface LabelHandlerOptions {
  readonly loaded: LoadedMapping;
  readonly codecs: Codecs;
  readonly labelsTopic: string;
  /** Where labels that name only a user go (topics.userAttribution). */
  readonly userAttributionTopic: string;
  /** Larger records are dead-lettered before they are parsed. */
  readonly maxRecordBytes: number;
  readonly now: () => number;
}

export interface LabelHandlerStats {
  /** Labels produced. */
  labels: number;
  /** Decoded log records that passed no rule (or not the filter). */
  unmatched: number;
  /** Labels made per rule name. */
  readonly byRule: Map<string, number>;
}

export interface LabelHandler {
  readonly handle: RecordHandler;
  readonly stats: Readonly<LabelHandlerStats>;
}

/** The header that names the mapping rule that made a label, for audits. */
export const LABEL_RULE_HEADER = 'dynab-label-rule';

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

function decodeJsonLines(value: Uint8Array): unknown[] {
  let text: string;
  try {
    text = utf8Strict.decode(value);
  } catch (cause) {
    throw new DynabError('MALFORMED_MESSAGE', 'app-log record is not UTF-8', { cause });
  }
  const records: unknown[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    if (line.trim() === '') continue;
    try {
      records.push(JSON.parse(line));
    } catch (cause) {
      const where = lines.length > 1 ? ` (line ${i + 1})` : '';
      throw new DynabError('MALFORMED_MESSAGE', `app-log record is not JSON${where}`, { cause });
    }
  }
  return records;
}

export function createLabelHandler(options: LabelHandlerOptions): LabelHandler {
  const { mapping, avro } = options.loaded;
  const { codecs, labelsTopic, userAttributionTopic } = options;
  const stats: LabelHandlerStats = { labels: 0, unmatched: 0, byRule: new Map() };

  const toOutput = (label: MappedLabel, recordTime: number): OutRecord => {
    const headers = { [LABEL_RULE_HEADER]: label.rule };
    if (label.requestId === null) {
      // Only a user: repartitioned by (experiment, user) for last-touch attribution.
      if (label.userId === null || label.experiment === null) {
        throw new DynabError('INTERNAL', 'a mapped label has neither a request nor a user');
      }
      const event: UserLabelReceived = {
        kind: 'label',
        experiment: label.experiment,
        userId: label.userId,
        reward: label.reward,
        label: label.label,
        eventTime: label.eventTime,
        source: label.source,
      };
      checkStringField('experiment', event.experiment, RECORD_LIMITS.experimentBytes);
      checkStringField('userId', event.userId, RECORD_LIMITS.userIdBytes);
      checkLabelFields({ requestId: '-', label: event.label, source: event.source });
      return {
        topic: userAttributionTopic,
        key: userAttributionKey(event.experiment, event.userId),
        value: encodeUserAttribution(event),
        headers,
        timestamp: recordTime,
      };
    }
    const received: LabelReceived = {
      requestId: label.requestId,
      reward: label.reward,
      label: label.label,
      eventTime: label.eventTime,
      source: label.source,
    };
    checkLabelFields(received);
    return {
      topic: labelsTopic,
      key: received.requestId,
      value: codecs.label.encode(received),
      headers,
      // The label carries its log record's time, so the aggregator bounds its event time by
      // when the log was written, not by when it was ingested.
      timestamp: recordTime,
    };
  };

  const handle: RecordHandler = (record) => {
    if (record.value === null) throw new DynabError('MALFORMED_MESSAGE', 'record has no value');
    if (record.value.byteLength > options.maxRecordBytes) {
      throw new DynabError(
        'PAYLOAD_TOO_LARGE',
        `app-log record is ${record.value.byteLength} bytes; the limit is ${options.maxRecordBytes}`,
      );
    }
    const decoded = avro === null ? decodeJsonLines(record.value) : [avro.decode(record.value)];
    const recordTime = recordEventTime(record, options.now);
    const labels: MappedLabel[] = [];
    let unmatched = 0;
    for (const [i, entry] of decoded.entries()) {
      const result = applyMapping(mapping, entry, recordTime);
      switch (result.kind) {
        case 'unmatched':
          unmatched++;
          break;
        case 'invalid': {
          const where = decoded.length > 1 ? `line ${i + 1}: ` : '';
          throw new DynabError('INVALID_FIELD', `${where}${result.reason}`);
        }
        case 'labels':
          labels.push(...result.labels);
          break;
      }
    }
    const outputs = labels.map((label) => toOutput(label, recordTime));
    stats.unmatched += unmatched;
    stats.labels += outputs.length;
    for (const label of labels)
      stats.byRule.set(label.rule, (stats.byRule.get(label.rule) ?? 0) + 1);
    return outputs;
  };
  return { handle, stats };
}
