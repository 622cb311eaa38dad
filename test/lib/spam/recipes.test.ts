import { describe, expect, it } from 'vitest';

import {
  findSpamRecipe,
  measureAccuracy,
  SPAM_RECIPES,
  trainSpamClassifier,
  trainSpamClassifiers,
  type LabelledText,
} from '../../../lib/spam/recipes.ts';

const MAILS: LabelledText[] = [
  { text: 'Subject: win free money\n\nclaim your free prize money now', label: 'spam' },
  { text: 'Subject: free offer inside\n\ncheap pills free shipping', label: 'spam' },
  { text: 'Subject: re: meeting notes\n\nsee the agenda for tomorrow', label: 'ham' },
  { text: 'Subject: lunch tomorrow?\n\nare you free for lunch tomorrow', label: 'ham' },
  { text: 'Subject: re: build failure\n\nthe nightly build failed again', label: 'ham' },
];

describe('SPAM_RECIPES', () => {
  it('defines champion, challenger and challenger-weak with distinct names', () => {
    expect(SPAM_RECIPES.map((recipe) => recipe.name)).toEqual([
      'champion',
      'challenger',
      'challenger-weak',
    ]);
    expect(findSpamRecipe('challenger')?.vocabularyLimit).toBeNull();
    expect(findSpamRecipe('nope')).toBeUndefined();
  });
});

describe('trainSpamClassifiers', () => {
  it('trains one classifier per recipe, with the recipe’s vocabulary limit', () => {
    const [champion, challenger, weak] = trainSpamClassifiers(MAILS);
    expect(champion?.recipe).toBe('champion');
    expect(champion?.vocabularySize).toBeLessThanOrEqual(30);
    expect(challenger?.vocabularySize).toBeGreaterThan(30);
    expect(weak?.vocabularySize).toBeLessThanOrEqual(10);
  });

  it('classifies raw mail text into a label and a probability', () => {
    const challenger = trainSpamClassifier(MAILS, SPAM_RECIPES[1] ?? expect.unreachable());
    const spam = challenger.classify('Subject: free money\n\nwin a free prize');
    expect(spam.label).toBe('spam');
    expect(spam.score).toBeGreaterThan(0.5);
    const ham = challenger.classify('Subject: re: agenda\n\nmeeting tomorrow about the build');
    expect(ham.label).toBe('ham');
    expect(ham.score).toBeLessThan(0.5);
    expect(measureAccuracy(challenger, MAILS)).toBe(1);
  });

  it('reports NaN accuracy on an empty set', () => {
    const [classifier] = trainSpamClassifiers(MAILS, SPAM_RECIPES.slice(0, 1));
    expect(measureAccuracy(classifier ?? expect.unreachable(), [])).toBeNaN();
  });
});
