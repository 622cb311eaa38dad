// Multinomial naive Bayes over token counts, two classes, Laplace (add-alpha) smoothing.
// Pure: training and prediction only read their arguments.

export type SpamLabel = 'spam' | 'ham';

export interface LabelledTokens {
  readonly tokens: readonly string[];
  readonly label: SpamLabel;
}

export interface SpamPrediction {
  readonly label: SpamLabel;
  /** Posterior probability that the input is spam. */
  readonly score: number;
}

export interface NaiveBayesOptions {
  /** Additive smoothing constant; 1 is Laplace smoothing (default 1). */
  readonly alpha?: number;
  /**
   * When given, only these tokens are features; every other token is ignored both in training
   * and in prediction. When absent, the vocabulary is every token seen in training.
   */
  readonly vocabulary?: ReadonlySet<string>;
  /** Score at or above which the label is spam (default 0.5). */
  readonly threshold?: number;
}

export interface NaiveBayesModel {
  readonly vocabularySize: number;
  /** log P(spam) − log P(ham) from the training class frequencies. */
  readonly logPriorOdds: number;
  /** Per token: log P(token | spam) − log P(token | ham), smoothed. */
  readonly logLikelihoodRatios: ReadonlyMap<string, number>;
  readonly threshold: number;
}

/** Trains a two-class multinomial naive Bayes model. */
export function trainNaiveBayes(
  examples: readonly LabelledTokens[],
  options: NaiveBayesOptions = {},
): NaiveBayesModel {
  const alpha = options.alpha ?? 1;
  const threshold = options.threshold ?? 0.5;
  if (!(alpha > 0)) throw new RangeError(`alpha must be positive, got ${alpha}`);
  if (!(threshold > 0 && threshold < 1))
    throw new RangeError(`threshold must be in (0, 1), got ${threshold}`);

  const counts = { spam: new Map<string, number>(), ham: new Map<string, number>() };
  const totals = { spam: 0, ham: 0 };
  const documents = { spam: 0, ham: 0 };
  const vocabulary = options.vocabulary;
  for (const example of examples) {
    documents[example.label] += 1;
    const classCounts = counts[example.label];
    for (const token of example.tokens) {
      if (vocabulary !== undefined && !vocabulary.has(token)) continue;
      classCounts.set(token, (classCounts.get(token) ?? 0) + 1);
      totals[example.label] += 1;
    }
  }
  if (documents.spam === 0 || documents.ham === 0) {
    throw new RangeError('training needs at least one spam and one ham example');
  }

  const features = new Set<string>(vocabulary ?? []);
  if (vocabulary === undefined) {
    for (const token of counts.spam.keys()) features.add(token);
    for (const token of counts.ham.keys()) features.add(token);
  }
  const size = features.size;
  const spamDenominator = Math.log(totals.spam + alpha * size);
  const hamDenominator = Math.log(totals.ham + alpha * size);
  const logLikelihoodRatios = new Map<string, number>();
  for (const token of features) {
    const spamLog = Math.log((counts.spam.get(token) ?? 0) + alpha) - spamDenominator;
    const hamLog = Math.log((counts.ham.get(token) ?? 0) + alpha) - hamDenominator;
    logLikelihoodRatios.set(token, spamLog - hamLog);
  }
  return {
    vocabularySize: size,
    logPriorOdds: Math.log(documents.spam) - Math.log(documents.ham),
    logLikelihoodRatios,
    threshold,
  };
}

/** Classifies a token list; tokens outside the model's vocabulary carry no evidence. */
export function predictNaiveBayes(
  model: NaiveBayesModel,
  tokens: readonly string[],
): SpamPrediction {
  // Work in log-odds: the product of thousands of small likelihoods underflows a double,
  // their log-ratio sum does not.
  let logOdds = model.logPriorOdds;
  for (const token of tokens) logOdds += model.logLikelihoodRatios.get(token) ?? 0;
  const score = logisticOf(logOdds);
  return { label: score >= model.threshold ? 'spam' : 'ham', score };
}

/** The k most frequent tokens across the examples (ties broken alphabetically, for determinism). */
export function selectFrequentTokens(examples: readonly LabelledTokens[], k: number): Set<string> {
  const frequency = new Map<string, number>();
  for (const example of examples) {
    for (const token of example.tokens) frequency.set(token, (frequency.get(token) ?? 0) + 1);
  }
  const ranked = [...frequency].sort(
    (a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
  );
  return new Set(ranked.slice(0, Math.max(0, k)).map(([token]) => token));
}

/** The logistic function of log-odds: a probability. */
export function logisticOf(logOdds: number): number {
  // Both branches avoid exp overflow for large |logOdds|.
  if (logOdds >= 0) return 1 / (1 + Math.exp(-logOdds));
  const e = Math.exp(logOdds);
  return e / (1 + e);
}
