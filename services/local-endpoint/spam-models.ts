// Spam classifiers served as production variants of a local endpoint. Each variant takes one
// raw mail and answers JSON `{"label":"spam","score":0.97,"model":"challenger"}`, so the
// pipeline has real models of really different quality to choose between.

import { DynabError } from '../../lib/errors/catalogue.ts';
import { parseCsvFields } from '../../lib/model-batch/csv.ts';
import {
  findSpamRecipe,
  SPAM_RECIPES,
  trainSpamClassifiers,
  type LabelledText,
  type SpamClassifier,
  type SpamRecipe,
} from '../../lib/spam/recipes.ts';
import {
  ModelInvocationError,
  type LocalVariant,
  type ModelHandler,
  type TextModelHandler,
} from './local-endpoint.ts';

export interface SpamVariantSpec {
  readonly name: string;
  readonly weight: number;
  /** Recipe to train (see `lib/spam/recipes.ts`); defaults to the variant's name. */
  readonly recipe?: string;
}

export const DEFAULT_SPAM_VARIANTS: readonly SpamVariantSpec[] = Object.freeze([
  { name: 'champion', weight: 0.5 },
  { name: 'challenger', weight: 0.5 },
]);

/** Trains each variant's recipe on `train` and wraps it as a local-endpoint variant. */
export function buildSpamEndpointVariants(
  train: readonly LabelledText[],
  specs: readonly SpamVariantSpec[] = DEFAULT_SPAM_VARIANTS,
  recipes: readonly SpamRecipe[] = SPAM_RECIPES,
): LocalVariant[] {
  const chosen = specs.map((spec) => {
    const recipe = findSpamRecipe(spec.recipe ?? spec.name, recipes);
    if (recipe === undefined) {
      const known = recipes.map((candidate) => candidate.name).join(', ');
      throw new DynabError(
        'CONFIG_INVALID',
        `variant ${spec.name}: unknown spam recipe ${spec.recipe ?? spec.name} (known: ${known})`,
      );
    }
    return recipe;
  });
  // Train each distinct recipe once even if several variants share it.
  const distinct = [...new Set(chosen)];
  const trained = trainSpamClassifiers(train, distinct);
  const classifiers = new Map(distinct.map((recipe, index) => [recipe, trained[index]]));
  return specs.map((spec, index) => {
    const recipe = chosen[index];
    const classifier = recipe === undefined ? undefined : classifiers.get(recipe);
    if (classifier === undefined) throw new Error('unreachable: every chosen recipe was trained');
    return {
      name: spec.name,
      weight: spec.weight,
      model: serveSpamClassifier(classifier),
      textModel: serveSpamClassifierText(classifier),
      outputContentType: 'application/json',
    };
  });
}

/**
 * Wraps a classifier as a model handler. Accepts the raw mail as text (`text/plain`,
 * `message/rfc822`, ...), as JSON `{"text": "..."}`, or as a CSV row whose field is the mail (a
 * row of a CSV batch); other content types get a 415 from the "container", which SageMaker
 * reports as a ModelError.
 */
export function serveSpamClassifier(classifier: SpamClassifier): ModelHandler {
  return (body, contentType) => answerOf(classifier, mailTextOf(body, contentType));
}

/** The same model for a batch entry already decoded to text (the container's text content type). */
export function serveSpamClassifierText(classifier: SpamClassifier): TextModelHandler {
  return (text, contentType) => {
    const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
    return answerOf(
      classifier,
      mediaType.startsWith('text/') && mediaType !== 'text/csv'
        ? text
        : mailTextOf(Buffer.from(text, 'utf8'), contentType),
    );
  };
}

function answerOf(classifier: SpamClassifier, mail: string): Buffer {
  const prediction = classifier.classify(mail);
  return Buffer.from(
    JSON.stringify({
      label: prediction.label,
      score: prediction.score,
      model: classifier.recipe,
    }),
  );
}

const FINAL_LINE_BREAK = /\r?\n$/;

function mailTextOf(body: Buffer, contentType: string): string {
  const mediaType = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  if (mediaType === 'text/csv') {
    // A batch sends each mail as one quoted field; the quoting is not part of the mail.
    const row = body.toString('utf8');
    const fields = parseCsvFields(row.replace(FINAL_LINE_BREAK, ''));
    return fields === null ? row : fields.join('\n');
  }
  if (mediaType.startsWith('text/') || mediaType === 'message/rfc822') return body.toString('utf8');
  if (mediaType === 'application/json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ModelInvocationError(400, 'body is not valid JSON');
    }
    const text =
      typeof parsed === 'object' && parsed !== null
        ? (parsed as { text?: unknown }).text
        : undefined;
    if (typeof text !== 'string')
      throw new ModelInvocationError(400, 'JSON body needs a string field "text"');
    return text;
  }
  throw new ModelInvocationError(
    415,
    `unsupported content type ${contentType}; send text/plain or application/json`,
  );
}
