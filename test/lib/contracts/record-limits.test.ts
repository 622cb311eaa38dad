import { describe, expect, it } from 'vitest';
import {
  checkHeaders,
  checkLabelFields,
  checkLabelRecord,
  checkPredictionFields,
  checkOutputSize,
  checkRequestFields,
  isWellFormed,
  toWellFormed,
  utf8Length,
} from '../../../lib/contracts/record-limits.ts';

const request = {
  requestId: 'r1',
  experiment: 'spam-filter',
  payload: new Uint8Array(10),
  contentType: 'text/plain',
  userId: null,
  targetVariant: null,
};

describe('record limits', () => {
  it('measures UTF-8 length like the encoder, lone surrogates as U+FFFD', () => {
    for (const s of ['', 'abc', 'é', '漢字', '😀', 'a\ud800', '\udc00b', '\ud800\ud800'])
      expect(utf8Length(s)).toBe(Buffer.byteLength(s, 'utf8'));
  });

  it('finds and replaces lone surrogates only', () => {
    expect(isWellFormed('😀 ok')).toBe(true);
    expect(isWellFormed('a\ud800')).toBe(false);
    expect(isWellFormed('\udc00')).toBe(false);
    expect(toWellFormed('a\ud800b😀\udc00')).toBe('a\ufffdb😀\ufffd');
  });

  it('checks every request field against its limit', () => {
    expect(() => checkRequestFields(request, 10)).not.toThrow();
    expect(() => checkRequestFields({ ...request, requestId: 'x'.repeat(1025) }, 10)).toThrow(
      'requestId is 1025 characters; the limit is 1024',
    );
    // 400 characters of 3 bytes each: within the characters, over the bytes.
    expect(() => checkRequestFields({ ...request, requestId: '漢'.repeat(400) }, 10)).toThrow(
      'requestId is 1200 bytes; the limit is 1024',
    );
    expect(() => checkRequestFields({ ...request, requestId: '' }, 10)).toThrow('empty');
    expect(() => checkRequestFields({ ...request, userId: 'u\ud800' }, 10)).toThrow(
      'userId holds a lone surrogate',
    );
    expect(() => checkRequestFields({ ...request, targetVariant: 'v'.repeat(300) }, 10)).toThrow(
      'targetVariant',
    );
    expect(() => checkRequestFields(request, 9)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });

  it('checks headers and output sizes', () => {
    expect(() => checkHeaders({ a: 'x'.repeat(20_000) })).toThrow('headers');
    expect(() => checkOutputSize('assignment', 'k', new Uint8Array(1000), 2000)).not.toThrow();
    expect(() => checkOutputSize('assignment', 'k', new Uint8Array(1900), 2000)).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
  });

  it('checks a label record before decoding and its fields after', () => {
    const record = { key: Buffer.from('r1'), value: new Uint8Array(100), headers: {} };
    expect(() => checkLabelRecord(record)).not.toThrow();
    expect(() => checkLabelRecord({ ...record, value: new Uint8Array(64 * 1024 + 1) })).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
    expect(() => checkLabelRecord({ ...record, key: Buffer.alloc(1025) })).toThrow('record key');
    expect(() => checkLabelRecord({ ...record, headers: { h: 'x'.repeat(17_000) } })).toThrow(
      'headers',
    );

    const label = { requestId: 'r1', label: 'spam', source: 'app' };
    expect(() => checkLabelFields(label)).not.toThrow();
    // A shadow copy's id of the longest request id and variant name still fits.
    const longest = `${'r'.repeat(1024)}#shadow:${'v'.repeat(256)}`;
    expect(() => checkLabelFields({ ...label, requestId: longest })).not.toThrow();
    expect(() => checkLabelFields({ ...label, requestId: `${longest}x` })).toThrow('requestId');
    expect(() => checkLabelFields({ ...label, label: 't'.repeat(4097) })).toThrow('label');
    expect(() => checkLabelFields({ ...label, source: 's'.repeat(1025) })).toThrow('source');
    expect(() => checkLabelFields({ ...label, source: '\udc00' })).toThrow('lone surrogate');
  });

  it('checks the fields of a prediction read by the aggregator', () => {
    const prediction = {
      requestId: 'r1',
      experiment: 'spam-filter',
      requestedVariant: 'champion',
      invokedVariant: null,
      predictedLabel: 'spam',
      allocation: [],
      shadowVariants: [],
    };
    expect(() => checkPredictionFields(prediction)).not.toThrow();
    expect(() => checkPredictionFields({ ...prediction, requestId: 'r'.repeat(2_000) })).toThrow(
      'requestId',
    );
    expect(() => checkPredictionFields({ ...prediction, invokedVariant: 'v'.repeat(257) })).toThrow(
      'invokedVariant',
    );
    expect(() =>
      checkPredictionFields({ ...prediction, predictedLabel: 'p'.repeat(4_097) }),
    ).toThrow('predictedLabel');
    expect(() =>
      checkPredictionFields({ ...prediction, allocation: Array.from({ length: 101 }) }),
    ).toThrow('allocation');
  });
});
