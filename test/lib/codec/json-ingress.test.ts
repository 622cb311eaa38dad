import { describe, expect, it } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import {
  decodeLabel,
  decodeRequest,
  isJsonMessage,
  recordEventTime,
} from '../../../lib/codec/json-ingress.ts';
import { expectDynabError, SAMPLES } from './helpers.ts';

const codecs = loadCodecs();
const NOW = 1_700_000_555_000;
const JSON_HEADERS = { 'content-type': 'application/json' };
const utf8 = (text: string) => new TextEncoder().encode(text);
const json = (value: unknown) => utf8(JSON.stringify(value));

const requestJson = (overrides: Record<string, unknown> = {}) =>
  json({ requestId: 'req-9', experiment: 'spam-classifier', payload: 'hello', ...overrides });
const labelJson = (overrides: Record<string, unknown> = {}) =>
  json({ requestId: 'req-9', reward: 1, ...overrides });

const request = (value: Uint8Array, headers: Record<string, string | undefined> = JSON_HEADERS) =>
  decodeRequest(value, headers, codecs, NOW);
const label = (value: Uint8Array, headers: Record<string, string | undefined> = JSON_HEADERS) =>
  decodeLabel(value, headers, codecs, NOW);

describe('content-type header', () => {
  it.each([
    [{ 'content-type': 'application/json' }, true],
    [{ 'Content-Type': 'application/json' }, true],
    [{ 'content-type': 'application/json; charset=utf-8' }, true],
    [{ 'content-type': ' Application/JSON ' }, true],
    [{}, false],
    [{ 'content-type': undefined }, false],
    [{ 'content-type': 'avro/binary' }, false],
    [{ 'content-type': 'text/plain' }, false],
  ])('%j → JSON: %s', (headers, expected) => {
    expect(isJsonMessage(headers)).toBe(expected);
  });
});

describe('decodeRequest', () => {
  it('reads minimal JSON with defaults', () => {
    expect(request(requestJson())).toEqual({
      requestId: 'req-9',
      experiment: 'spam-classifier',
      payload: utf8('hello'),
      contentType: 'text/plain',
      userId: null,
      targetVariant: null,
      eventTime: NOW,
    });
  });

  it('reads every optional field, ignoring unknown ones', () => {
    const decoded = request(
      requestJson({
        payload: 'héllo 😀',
        contentType: 'application/x-text',
        userId: 'u1',
        targetVariant: 'variant-a',
        eventTime: 1_600_000_000_000,
        traceId: 'extra metadata is ignored',
      }),
    );
    expect(decoded).toEqual({
      requestId: 'req-9',
      experiment: 'spam-classifier',
      payload: utf8('héllo 😀'),
      contentType: 'application/x-text',
      userId: 'u1',
      targetVariant: 'variant-a',
      eventTime: 1_600_000_000_000,
    });
  });

  it('treats JSON null optional fields as absent', () => {
    const decoded = request(
      requestJson({ userId: null, targetVariant: null, eventTime: null, contentType: null }),
    );
    expect(decoded).toMatchObject({
      userId: null,
      targetVariant: null,
      eventTime: NOW,
      contentType: 'text/plain',
    });
  });

  it('decodes payloadBase64 as binary', () => {
    const decoded = request(
      requestJson({
        payload: undefined,
        payloadBase64: Buffer.of(0, 255, 1, 2).toString('base64'),
      }),
    );
    expect(decoded.payload).toEqual(Uint8Array.of(0, 255, 1, 2));
    expect(request(requestJson({ payload: undefined, payloadBase64: '' })).payload).toEqual(
      new Uint8Array(0),
    );
  });

  it('takes the Avro path without the JSON header', () => {
    const bytes = codecs.request.encode(SAMPLES.request);
    expect(request(bytes, {})).toEqual(SAMPLES.request);
    expect(request(bytes, { 'content-type': 'avro/binary' })).toEqual(SAMPLES.request);
    expectDynabError(() => request(requestJson(), {}), 'MALFORMED_MESSAGE');
  });

  it.each([
    ['empty requestId', { requestId: '' }, 'requestId'],
    ['blank experiment', { experiment: '  ' }, 'experiment'],
  ])('rejects an Avro request with %s', (_name, overrides, field) => {
    const bytes = codecs.request.encode({ ...SAMPLES.request, ...overrides });
    expectDynabError(() => request(bytes, {}), 'INVALID_FIELD', field);
  });

  it.each([
    ['not JSON', utf8('{"requestId": '), 'MALFORMED_MESSAGE'],
    ['not UTF-8', Uint8Array.of(0x7b, 0xff, 0x7d), 'MALFORMED_MESSAGE'],
    ['a JSON array', json([]), 'MALFORMED_MESSAGE'],
    ['JSON null', json(null), 'MALFORMED_MESSAGE'],
    ['empty', new Uint8Array(0), 'MALFORMED_MESSAGE'],
  ] as const)('rejects %s as malformed', (_name, value, code) => {
    expectDynabError(() => request(value), code);
  });

  it.each([
    ['missing requestId', { requestId: undefined }, /requestId.*required/],
    ['numeric requestId', { requestId: 7 }, /requestId.*string/],
    ['empty requestId', { requestId: '' }, /requestId/],
    ['missing experiment', { experiment: undefined }, /experiment.*required/],
    ['empty experiment', { experiment: '' }, /experiment/],
    ['no payload', { payload: undefined }, /payload.*required/],
    ['both payloads', { payloadBase64: 'aGk=' }, /payload.*not both/],
    ['non-string payload', { payload: { text: 'hi' } }, /payload.*string/],
    ['invalid base64', { payload: undefined, payloadBase64: 'not base64!' }, /payloadBase64/],
    ['unpadded base64', { payload: undefined, payloadBase64: 'aGk' }, /payloadBase64/],
    ['numeric contentType', { contentType: 1 }, /contentType/],
    ['empty contentType', { contentType: '' }, /contentType/],
    ['numeric userId', { userId: 42 }, /userId/],
    ['empty targetVariant', { targetVariant: '' }, /targetVariant/],
    ['string eventTime', { eventTime: '2024-01-01' }, /eventTime/],
    ['fractional eventTime', { eventTime: 1.5 }, /eventTime/],
    ['negative eventTime', { eventTime: -1 }, /eventTime/],
    ['unsafe eventTime', { eventTime: 2 ** 60 }, /eventTime/],
  ])('rejects JSON with %s', (_name, overrides, message) => {
    expectDynabError(() => request(requestJson(overrides)), 'INVALID_FIELD', message);
  });
});

describe('decodeLabel', () => {
  it('reads a reward-only label with defaults', () => {
    expect(label(labelJson({ reward: 0 }))).toEqual({
      requestId: 'req-9',
      reward: 0,
      label: null,
      eventTime: NOW,
      source: 'json',
    });
  });

  it('reads a label-only label and every optional field', () => {
    expect(
      label(labelJson({ reward: null, label: 'ham', eventTime: 1_600_000_000_000, source: 'crm' })),
    ).toEqual({
      requestId: 'req-9',
      reward: null,
      label: 'ham',
      eventTime: 1_600_000_000_000,
      source: 'crm',
    });
  });

  it('leaves range checks to the aggregator', () => {
    expect(label(labelJson({ reward: 5 })).reward).toBe(5);
    expect(label(labelJson({ reward: -0.5, label: 'spam' }))).toMatchObject({
      reward: -0.5,
      label: 'spam',
    });
  });

  it('takes the Avro path without the JSON header', () => {
    expect(label(codecs.label.encode(SAMPLES.label), {})).toEqual(SAMPLES.label);
  });

  it.each([
    ['empty requestId', { requestId: '' }, /requestId/],
    ['NaN reward', { reward: Number.NaN }, /reward.*finite/],
    ['infinite reward', { reward: Number.POSITIVE_INFINITY }, /reward.*finite/],
    ['neither reward nor label', { reward: null, label: null }, /reward.*label/],
  ])('rejects an Avro label with %s', (_name, overrides, message) => {
    const bytes = codecs.label.encode({ ...SAMPLES.label, ...overrides });
    expectDynabError(() => label(bytes, {}), 'INVALID_FIELD', message);
  });

  it('rejects unparseable JSON as malformed', () => {
    expectDynabError(() => label(utf8('reward=1')), 'MALFORMED_MESSAGE');
    expectDynabError(() => label(utf8('{"requestId":"r","reward":NaN}')), 'MALFORMED_MESSAGE');
  });

  it.each([
    ['missing requestId', { requestId: undefined }, /requestId.*required/],
    ['blank requestId', { requestId: ' ' }, /requestId/],
    ['neither reward nor label', { reward: undefined }, /reward.*label/],
    ['string reward', { reward: '0.5' }, /reward.*number/],
    ['boolean reward', { reward: true }, /reward.*number/],
    ['numeric label', { reward: undefined, label: 1 }, /label.*string/],
    ['empty label', { reward: undefined, label: '' }, /label/],
    ['string eventTime', { eventTime: 'now' }, /eventTime/],
    ['numeric source', { source: 3 }, /source/],
  ])('rejects JSON with %s', (_name, overrides, message) => {
    expectDynabError(() => label(labelJson(overrides)), 'INVALID_FIELD', message);
  });

  it('rejects a reward that overflows to Infinity', () => {
    expectDynabError(
      () => label(utf8('{"requestId":"r","reward":1e999}')),
      'INVALID_FIELD',
      /reward.*finite/,
    );
  });
});

describe('recordEventTime', () => {
  it("is the record's own timestamp, and the clock only for a record without a usable one", () => {
    const clock = () => 42;
    expect(recordEventTime({ timestamp: 1_700_000_000_123 }, clock)).toBe(1_700_000_000_123);
    expect(recordEventTime({ timestamp: 0 }, clock)).toBe(0);
    expect(recordEventTime({ timestamp: -1 }, clock)).toBe(42);
    expect(recordEventTime({ timestamp: Number.NaN }, clock)).toBe(42);
  });
});
