// The records of the `user-attribution` topic: Kafka's repartition of requests and labels by
// (experiment, user), so that one attribution instance sees every request and every user-only
// label of a user. Key: `userAttributionKey`; value: JSON, an internal format that only dynab
// writes (label ingestion writes labels, the attribution service writes requests), checked on
// read like any input.
import { DynabError } from '../errors/catalogue.ts';
import { checkStringField, RECORD_LIMITS } from './record-limits.ts';

export interface UserRequestSeen {
  readonly kind: 'request';
  readonly experiment: string;
  readonly userId: string;
  readonly requestId: string;
  readonly eventTime: number;
}

export interface UserLabelReceived {
  readonly kind: 'label';
  readonly experiment: string;
  readonly userId: string;
  readonly reward: number | null;
  readonly label: string | null;
  readonly eventTime: number;
  readonly source: string;
}

export type UserAttributionEvent = UserRequestSeen | UserLabelReceived;

/** Largest value of the topic, checked before it is parsed. */
export const MAX_USER_ATTRIBUTION_BYTES = 16 * 1024;

/** The key of a user's records: the experiment and the user, unambiguously. */
export function userAttributionKey(experiment: string, userId: string): string {
  return JSON.stringify([experiment, userId]);
}

export function encodeUserAttribution(event: UserAttributionEvent): Buffer {
  return Buffer.from(JSON.stringify(event));
}

const invalid = (problem: string): DynabError =>
  new DynabError('INVALID_FIELD', `user-attribution record: ${problem}`);

function text(value: Readonly<Record<string, unknown>>, field: string, maxBytes: number): string {
  const found = value[field];
  if (typeof found !== 'string' || found.trim() === '') throw invalid(`${field} must be a string`);
  checkStringField(field, found, maxBytes);
  return found;
}

function time(value: Readonly<Record<string, unknown>>): number {
  const found = value['eventTime'];
  if (typeof found !== 'number' || !Number.isSafeInteger(found) || found < 0) {
    throw invalid('eventTime must be epoch milliseconds');
  }
  return found;
}

export function decodeUserAttribution(bytes: Uint8Array): UserAttributionEvent {
  if (bytes.byteLength > MAX_USER_ATTRIBUTION_BYTES) {
    throw new DynabError(
      'PAYLOAD_TOO_LARGE',
      `user-attribution record is ${bytes.byteLength} bytes; the limit is ${MAX_USER_ATTRIBUTION_BYTES}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new DynabError('MALFORMED_MESSAGE', 'user-attribution record is not UTF-8 JSON', {
      cause,
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DynabError('MALFORMED_MESSAGE', 'user-attribution record is not a JSON object');
  }
  const value = parsed as Readonly<Record<string, unknown>>;
  const experiment = text(value, 'experiment', RECORD_LIMITS.experimentBytes);
  const userId = text(value, 'userId', RECORD_LIMITS.userIdBytes);
  const eventTime = time(value);
  switch (value['kind']) {
    case 'request':
      return {
        kind: 'request',
        experiment,
        userId,
        requestId: text(value, 'requestId', RECORD_LIMITS.requestIdBytes),
        eventTime,
      };
    case 'label': {
      const reward = value['reward'] ?? null;
      const label = value['label'] ?? null;
      if (reward !== null && (typeof reward !== 'number' || !Number.isFinite(reward))) {
        throw invalid('reward must be a finite number or null');
      }
      if (label !== null && typeof label !== 'string') throw invalid('label must be a string');
      if (reward === null && label === null) throw invalid('reward or label is required');
      if (label !== null) checkStringField('label', label, RECORD_LIMITS.truthBytes);
      return {
        kind: 'label',
        experiment,
        userId,
        reward,
        label,
        eventTime,
        source: text(value, 'source', RECORD_LIMITS.sourceBytes),
      };
    }
    default:
      throw invalid('kind must be request or label');
  }
}
