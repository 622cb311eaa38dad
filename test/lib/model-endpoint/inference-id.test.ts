import { describe, expect, it } from 'vitest';
import { inferenceIdFor } from '../../../lib/model-endpoint/inference-id.ts';

describe('inferenceIdFor', () => {
  it('sends ids SageMaker accepts as they are', () => {
    for (const id of ['r1', 'a b', 'x'.repeat(64), '~!#$%&*()'])
      expect(inferenceIdFor(id)).toBe(id);
  });

  it('derives a printable id of at most 64 characters from any other id', () => {
    const ids = [
      'x'.repeat(65),
      'Ω',
      ' lead',
      '',
      'tab\there',
      'é',
      'a\ud800',
      'a\udc00',
      'a\ufffd',
    ];
    const derived = ids.map(inferenceIdFor);
    for (const id of derived) expect(id).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    // Lone surrogates and U+FFFD are told apart: the digest is over UTF-16 code units.
    expect(new Set(derived).size).toBe(ids.length);
    expect(inferenceIdFor('Ω')).toBe(inferenceIdFor('Ω'));
  });
});
