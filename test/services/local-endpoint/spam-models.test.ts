import { beforeAll, describe, expect, it } from 'vitest';

import { type DynabError } from '../../../lib/errors/catalogue.ts';
import {
  measureAccuracy,
  trainSpamClassifiers,
  type SpamClassifier,
} from '../../../lib/spam/recipes.ts';
import {
  ModelInvocationError,
  type InvocationContext,
} from '../../../services/local-endpoint/local-endpoint.ts';
import {
  loadSpamCorpus,
  splitCorpus,
  type LabelledMail,
} from '../../../services/local-endpoint/spam-corpus.ts';
import { buildSpamEndpointVariants } from '../../../services/local-endpoint/spam-models.ts';

const CONTEXT: InvocationContext = {
  endpointName: 'spam-filter',
  variantName: 'x',
  accept: null,
  customAttributes: null,
  inferenceId: null,
};

let corpus: LabelledMail[];
let train: LabelledMail[];
let serve: LabelledMail[];
/** Every 10th training mail: both labels (the corpus is ordered by group), trains fast. */
let sample: LabelledMail[];

beforeAll(() => {
  corpus = loadSpamCorpus();
  ({ train, serve } = splitCorpus(corpus));
  sample = train.filter((_, index) => index % 10 === 0);
}, 30_000);

describe('loadSpamCorpus / splitCorpus', () => {
  it('labels all 6046 mails by group with unique ids', () => {
    expect(corpus).toHaveLength(6046);
    expect(new Set(corpus.map((mail) => mail.id)).size).toBe(6046);
    expect(corpus.filter((mail) => mail.label === 'spam')).toHaveLength(500 + 1396);
    expect(corpus.every((mail) => mail.id.startsWith('spam') === (mail.label === 'spam'))).toBe(
      true,
    );
  });

  it('splits about half and half, with both labels on both sides', () => {
    // Binomial(6046, 0.5): sd ≈ 39; allow 5 sd.
    expect(Math.abs(serve.length - 3023)).toBeLessThan(5 * 39);
    const spamShare = (mails: LabelledMail[]): number =>
      mails.filter((mail) => mail.label === 'spam').length / mails.length;
    expect(Math.abs(spamShare(train) - spamShare(serve))).toBeLessThan(0.05);
  });
});

describe('spam recipes on the held-out split', () => {
  let accuracy: Map<string, number>;

  beforeAll(() => {
    const classifiers: SpamClassifier[] = trainSpamClassifiers(train);
    accuracy = new Map(
      classifiers.map((classifier) => [classifier.recipe, measureAccuracy(classifier, serve)]),
    );
  }, 30_000);

  it('has a challenger clearly better than the champion, and a weak challenger worse', () => {
    const champion = accuracy.get('champion') ?? Number.NaN;
    const challenger = accuracy.get('challenger') ?? Number.NaN;
    const weak = accuracy.get('challenger-weak') ?? Number.NaN;
    const majority = serve.filter((mail) => mail.label === 'ham').length / serve.length;

    expect(challenger).toBeGreaterThanOrEqual(0.95);
    expect(champion).toBeGreaterThanOrEqual(0.75);
    expect(champion).toBeLessThanOrEqual(0.88);
    expect(challenger - champion).toBeGreaterThanOrEqual(0.08);
    expect(champion - weak).toBeGreaterThanOrEqual(0.05);
    // Even the weak model must learn something beyond "always ham".
    expect(weak).toBeGreaterThan(majority + 0.01);
  });
});

describe('buildSpamEndpointVariants', () => {
  it('serves each recipe as a variant answering JSON {label, score, model}', async () => {
    const variants = buildSpamEndpointVariants(sample, [
      { name: 'champion', weight: 0.5 },
      { name: 'B', weight: 0.5, recipe: 'challenger' },
    ]);
    expect(
      variants.map((variant) => [variant.name, variant.weight, variant.outputContentType]),
    ).toEqual([
      ['champion', 0.5, 'application/json'],
      ['B', 0.5, 'application/json'],
    ]);
    const spam = serve.find((mail) => mail.label === 'spam') ?? expect.unreachable();
    const model = variants[1]?.model ?? expect.unreachable();
    const output = await model(Buffer.from(spam.text), 'text/plain; charset=utf-8', CONTEXT);
    const answer = JSON.parse(Buffer.from(output as Uint8Array).toString('utf8')) as Record<
      string,
      unknown
    >;
    expect(answer['model']).toBe('challenger');
    expect(['spam', 'ham']).toContain(answer['label']);
    expect(answer['score']).toBeGreaterThanOrEqual(0);
    expect(answer['score']).toBeLessThanOrEqual(1);

    const viaJson = await model(
      Buffer.from(JSON.stringify({ text: spam.text })),
      'application/json',
      CONTEXT,
    );
    expect(Buffer.from(viaJson as Uint8Array).toString('utf8')).toBe(
      Buffer.from(output as Uint8Array).toString('utf8'),
    );
  });

  it('rejects unsupported content types and malformed JSON as container errors', async () => {
    const [variant] = buildSpamEndpointVariants(sample, [{ name: 'champion', weight: 1 }]);
    const model = variant?.model ?? expect.unreachable();
    await expect(async () => model(Buffer.from('x'), 'image/png', CONTEXT)).rejects.toMatchObject({
      name: 'ModelInvocationError',
      statusCode: 415,
    });
    await expect(async () =>
      model(Buffer.from('{'), 'application/json', CONTEXT),
    ).rejects.toBeInstanceOf(ModelInvocationError);
    await expect(async () =>
      model(Buffer.from('{"txt":1}'), 'application/json', CONTEXT),
    ).rejects.toMatchObject({
      statusCode: 400,
    });
  });

  it('refuses unknown recipes as a configuration error', () => {
    expect(() => buildSpamEndpointVariants(sample, [{ name: 'mystery', weight: 1 }])).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }) as DynabError,
    );
  });
});
