// Named model recipes: how a spam classifier is trained. They differ on purpose in real
// quality, so an A/B experiment between them has a true winner to find. On the held-out half
// of the SpamAssassin corpus (see `split.ts`) accuracy is roughly:
//   challenger       ~0.97  every subject/from/body word
//   champion         ~0.83  only the 30 most frequent tokens (mostly stop words and HTML)
//   challenger-weak  ~0.72  only the 10 most frequent subject-line words
// (the majority class, ham, is ~0.69).

import { compileMailScorer } from './mail-scorer.ts';
import {
  selectFrequentTokens,
  trainNaiveBayes,
  type LabelledTokens,
  type NaiveBayesModel,
  type SpamLabel,
  type SpamPrediction,
} from './naive-bayes.ts';
import { tokenizeMail, type TokenizeMailOptions } from './tokenize.ts';

export interface SpamRecipe {
  readonly name: string;
  readonly description: string;
  readonly tokenizer: TokenizeMailOptions;
  /** Keep only the k most frequent training tokens as features; null keeps them all. */
  readonly vocabularyLimit: number | null;
}

export interface LabelledText {
  readonly text: string;
  readonly label: SpamLabel;
}

export interface SpamClassifier {
  readonly recipe: string;
  readonly vocabularySize: number;
  classify(text: string): SpamPrediction;
}

export const SPAM_RECIPES: readonly SpamRecipe[] = Object.freeze([
  {
    name: 'champion',
    description: 'naive Bayes on the 30 most frequent tokens',
    tokenizer: {},
    vocabularyLimit: 30,
  },
  {
    name: 'challenger',
    description: 'naive Bayes on the full subject, from and body vocabulary',
    tokenizer: {},
    vocabularyLimit: null,
  },
  {
    name: 'challenger-weak',
    description: 'naive Bayes on the 10 most frequent subject-line words',
    tokenizer: { headers: ['subject'], includeBody: false },
    vocabularyLimit: 10,
  },
]);

export function findSpamRecipe(
  name: string,
  recipes: readonly SpamRecipe[] = SPAM_RECIPES,
): SpamRecipe | undefined {
  return recipes.find((recipe) => recipe.name === name);
}

/** Trains one classifier per recipe. Mails are tokenized once per distinct tokenizer setting. */
export function trainSpamClassifiers(
  mails: readonly LabelledText[],
  recipes: readonly SpamRecipe[] = SPAM_RECIPES,
): SpamClassifier[] {
  // Tokenizing dominates training time, and recipes often share a tokenizer.
  const tokenized = new Map<string, LabelledTokens[]>();
  return recipes.map((recipe) => {
    const key = tokenizerKeyOf(recipe.tokenizer);
    let examples = tokenized.get(key);
    if (examples === undefined) {
      examples = mails.map((mail) => ({
        tokens: tokenizeMail(mail.text, recipe.tokenizer),
        label: mail.label,
      }));
      tokenized.set(key, examples);
    }
    return trainFromTokens(recipe, examples);
  });
}

export function trainSpamClassifier(
  mails: readonly LabelledText[],
  recipe: SpamRecipe,
): SpamClassifier {
  const [classifier] = trainSpamClassifiers(mails, [recipe]);
  if (classifier === undefined) throw new Error('unreachable: one recipe yields one classifier');
  return classifier;
}

/** Fraction of mails whose predicted label matches. */
export function measureAccuracy(
  classifier: SpamClassifier,
  mails: readonly LabelledText[],
): number {
  if (mails.length === 0) return Number.NaN;
  let correct = 0;
  for (const mail of mails) if (classifier.classify(mail.text).label === mail.label) correct += 1;
  return correct / mails.length;
}

/** The naive Bayes model of a recipe, from its tokenized training mails. */
export function trainRecipeModel(
  recipe: Pick<SpamRecipe, 'vocabularyLimit'>,
  examples: readonly LabelledTokens[],
): NaiveBayesModel {
  return recipe.vocabularyLimit === null
    ? trainNaiveBayes(examples)
    : trainNaiveBayes(examples, {
        vocabulary: selectFrequentTokens(examples, recipe.vocabularyLimit),
      });
}

function trainFromTokens(recipe: SpamRecipe, examples: readonly LabelledTokens[]): SpamClassifier {
  const model = trainRecipeModel(recipe, examples);
  return {
    recipe: recipe.name,
    vocabularySize: model.vocabularySize,
    // The same prediction as predictNaiveBayes(model, tokenizeMail(text, recipe.tokenizer)),
    // without a string per word (see mail-scorer.ts).
    classify: compileMailScorer(model, recipe.tokenizer),
  };
}

function tokenizerKeyOf(options: TokenizeMailOptions): string {
  return JSON.stringify([options.headers ?? null, options.includeBody ?? true]);
}
