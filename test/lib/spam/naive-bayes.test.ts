import { describe, expect, it } from 'vitest';

import {
  predictNaiveBayes,
  selectFrequentTokens,
  trainNaiveBayes,
  type LabelledTokens,
} from '../../../lib/spam/naive-bayes.ts';

const EXAMPLES: LabelledTokens[] = [
  { tokens: ['free', 'money', 'now'], label: 'spam' },
  { tokens: ['free', 'offer'], label: 'spam' },
  { tokens: ['meeting', 'tomorrow', 'agenda'], label: 'ham' },
  { tokens: ['lunch', 'tomorrow'], label: 'ham' },
  { tokens: ['project', 'agenda', 'notes'], label: 'ham' },
];

describe('trainNaiveBayes / predictNaiveBayes', () => {
  it('computes Laplace-smoothed log-likelihood ratios and class priors', () => {
    const model = trainNaiveBayes(EXAMPLES);
    // 10 distinct tokens; spam has 5 token occurrences, ham 8.
    expect(model.vocabularySize).toBe(10);
    expect(model.logPriorOdds).toBeCloseTo(Math.log(2 / 3), 12);
    const free = Math.log((2 + 1) / (5 + 10)) - Math.log((0 + 1) / (8 + 10));
    expect(model.logLikelihoodRatios.get('free')).toBeCloseTo(free, 12);
  });

  it('gives the exact posterior for a one-token document', () => {
    const model = trainNaiveBayes(EXAMPLES);
    const odds = Math.exp(Math.log(2 / 3) + (model.logLikelihoodRatios.get('free') ?? Number.NaN));
    const prediction = predictNaiveBayes(model, ['free']);
    expect(prediction.score).toBeCloseTo(odds / (1 + odds), 12);
    expect(prediction.label).toBe('spam');
  });

  it('labels by the evidence and ignores unseen tokens', () => {
    const model = trainNaiveBayes(EXAMPLES);
    expect(predictNaiveBayes(model, ['free', 'money', 'unseen']).label).toBe('spam');
    expect(predictNaiveBayes(model, ['agenda', 'tomorrow', 'unseen']).label).toBe('ham');
    // No evidence at all: the prior decides (3 ham vs 2 spam).
    expect(predictNaiveBayes(model, ['unseen']).score).toBeCloseTo(0.4, 12);
  });

  it('keeps scores finite and ordered for very long documents', () => {
    const model = trainNaiveBayes(EXAMPLES);
    const spammy = predictNaiveBayes(
      model,
      Array.from({ length: 5000 }, () => 'free'),
    );
    const hammy = predictNaiveBayes(
      model,
      Array.from({ length: 5000 }, () => 'agenda'),
    );
    expect(spammy.score).toBe(1);
    expect(hammy.score).toBeGreaterThanOrEqual(0);
    expect(hammy.score).toBeLessThan(1e-100);
  });

  it('restricted to a vocabulary, ignores every other token', () => {
    const model = trainNaiveBayes(EXAMPLES, { vocabulary: new Set(['tomorrow']) });
    expect(model.vocabularySize).toBe(1);
    expect(predictNaiveBayes(model, ['free', 'money']).score).toBeCloseTo(0.4, 12);
    expect(predictNaiveBayes(model, ['tomorrow']).label).toBe('ham');
  });

  it('rejects training data without both classes, and bad parameters', () => {
    expect(() => trainNaiveBayes(EXAMPLES.filter((example) => example.label === 'ham'))).toThrow(
      RangeError,
    );
    expect(() => trainNaiveBayes(EXAMPLES, { alpha: 0 })).toThrow(RangeError);
    expect(() => trainNaiveBayes(EXAMPLES, { threshold: 1 })).toThrow(RangeError);
  });

  it('applies the threshold to the score', () => {
    const model = trainNaiveBayes(EXAMPLES, { threshold: 0.9 });
    const prediction = predictNaiveBayes(model, ['free']);
    expect(prediction.score).toBeGreaterThan(0.5);
    expect(prediction.score).toBeLessThan(0.9);
    expect(prediction.label).toBe('ham');
  });
});

describe('selectFrequentTokens', () => {
  it('picks the k most frequent tokens, ties alphabetically', () => {
    expect([...selectFrequentTokens(EXAMPLES, 3)]).toEqual(['agenda', 'free', 'tomorrow']);
    expect(selectFrequentTokens(EXAMPLES, 0).size).toBe(0);
  });
});
