// `npm run bench -- spam-models`: CPU per served mail of each spam recipe the local endpoint
// hosts, scored the way the endpoint scores (compileMailScorer) beside the reference path it
// replaced (tokenizeMail, then predictNaiveBayes over the token list). Both give the same
// prediction bit for bit (test/lib/spam/mail-scorer.test.ts); this measures only their cost.
// Trained on the train split, timed over the serve split, the two paths interleaved per round.
import { performance } from 'node:perf_hooks';
import { compileMailScorer } from '../lib/spam/mail-scorer.ts';
import { predictNaiveBayes, type SpamPrediction } from '../lib/spam/naive-bayes.ts';
import { SPAM_RECIPES, trainRecipeModel } from '../lib/spam/recipes.ts';
import { tokenizeMail } from '../lib/spam/tokenize.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';

export interface SpamModelBenchRow {
  readonly recipe: string;
  readonly vocabularySize: number;
  /** Median over the rounds, µs of CPU per mail. */
  readonly tokenListMicros: number;
  readonly scorerMicros: number;
}

export interface SpamModelBenchResult {
  readonly mails: number;
  readonly meanChars: number;
  readonly rounds: number;
  readonly rows: readonly SpamModelBenchRow[];
}

export function runSpamModelBench(rounds = 7, passes = 3): SpamModelBenchResult {
  const { train, serve } = splitCorpus(loadSpamCorpus());
  const texts = serve.map((mail) => mail.text);
  const rows = SPAM_RECIPES.map((recipe): SpamModelBenchRow => {
    const examples = train.map((mail) => ({
      tokens: tokenizeMail(mail.text, recipe.tokenizer),
      label: mail.label,
    }));
    const model = trainRecipeModel(recipe, examples);
    const paths: readonly (readonly [string, (text: string) => SpamPrediction])[] = [
      ['token list', (text) => predictNaiveBayes(model, tokenizeMail(text, recipe.tokenizer))],
      ['scorer', compileMailScorer(model, recipe.tokenizer)],
    ];
    const samples = new Map<string, number[]>(paths.map(([name]) => [name, []]));
    let sink = 0;
    for (let round = 0; round < rounds; round++) {
      for (const [name, classify] of paths) {
        const started = performance.now();
        for (let pass = 0; pass < passes; pass++)
          for (const text of texts) sink += classify(text).score;
        samples.get(name)?.push(((performance.now() - started) * 1000) / (passes * texts.length));
      }
    }
    if (Number.isNaN(sink)) throw new Error('a score was NaN');
    return {
      recipe: recipe.name,
      vocabularySize: model.vocabularySize,
      tokenListMicros: median(samples.get('token list') ?? []),
      scorerMicros: median(samples.get('scorer') ?? []),
    };
  });
  return {
    mails: texts.length,
    meanChars: texts.reduce((sum, text) => sum + text.length, 0) / texts.length,
    rounds,
    rows,
  };
}

/** The median of some samples (the upper one of an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
