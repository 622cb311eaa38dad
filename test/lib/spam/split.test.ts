import { describe, expect, it } from 'vitest';

import { assignSplit, hashFnv1a, splitCorpus } from '../../../lib/spam/split.ts';

describe('hashFnv1a', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    expect(hashFnv1a('')).toBe(0x811c9dc5);
    expect(hashFnv1a('a')).toBe(0xe40c292c);
    expect(hashFnv1a('foobar')).toBe(0xbf9cf968);
  });
});

describe('assignSplit / splitCorpus', () => {
  const ids = Array.from(
    { length: 10_000 },
    (_, index) => `group-${index % 5}/${String(index).padStart(5, '0')}`,
  );

  it('is deterministic', () => {
    for (const id of ids.slice(0, 100)) expect(assignSplit(id)).toBe(assignSplit(id));
  });

  it('splits about half and half, also within sequential id ranges', () => {
    const serve = ids.filter((id) => assignSplit(id) === 'serve').length;
    // Binomial(10000, 0.5): sd = 50, so 5 sd = 250.
    expect(Math.abs(serve - 5000)).toBeLessThan(250);
    // Sequential ids must not split by a trivial pattern (e.g. last-digit parity).
    const evenIds = ids.filter((_, index) => index % 2 === 0);
    const evenServe = evenIds.filter((id) => assignSplit(id) === 'serve').length;
    expect(Math.abs(evenServe - evenIds.length / 2)).toBeLessThan(
      5 * Math.sqrt(evenIds.length / 4),
    );
  });

  it('honours the serve fraction and its bounds', () => {
    expect(ids.every((id) => assignSplit(id, 0) === 'train')).toBe(true);
    expect(ids.every((id) => assignSplit(id, 1) === 'serve')).toBe(true);
    const serve = ids.filter((id) => assignSplit(id, 0.2) === 'serve').length;
    expect(Math.abs(serve - 2000)).toBeLessThan(5 * 40);
    expect(() => assignSplit('x', 1.5)).toThrow(RangeError);
  });

  it('partitions a corpus, preserving order', () => {
    const corpus = ids.slice(0, 200).map((id, index) => ({ id, index }));
    const { train, serve } = splitCorpus(corpus);
    expect(train.length + serve.length).toBe(corpus.length);
    expect(train.every((item) => assignSplit(item.id) === 'train')).toBe(true);
    expect(serve.every((item) => assignSplit(item.id) === 'serve')).toBe(true);
    expect(train.map((item) => item.index)).toEqual(
      [...train.map((item) => item.index)].sort((a, b) => a - b),
    );
  });
});
