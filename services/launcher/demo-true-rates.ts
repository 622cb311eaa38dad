// The demo's ground truth, for the report's regret: each local-endpoint variant's accuracy on the
// held-out half of the corpus, which is where the demo's mails come from, so it is the variant's
// true mean reward (reward 1 when the predicted label is the user's verdict). The variants are
// parsed exactly as the local endpoint parses them, and trained the same way (deterministic
// naive Bayes on the same split), so these are the rates of the models the endpoint serves.
import { measureAccuracy, findSpamRecipe, trainSpamClassifier } from '../../lib/spam/recipes.ts';
import { parseLocalEndpointConfig } from '../local-endpoint/config.ts';
import type { LabelledMail } from '../local-endpoint/spam-corpus.ts';

export function demoTrueRates(
  experiment: string,
  env: Readonly<Record<string, string | undefined>>,
  corpus: { readonly train: readonly LabelledMail[]; readonly serve: readonly LabelledMail[] },
): Map<string, number> {
  const { variants } = parseLocalEndpointConfig(['--endpoint', experiment], env);
  const rates = new Map<string, number>();
  for (const variant of variants) {
    const recipe = findSpamRecipe(variant.recipe ?? variant.name);
    if (recipe === undefined) continue;
    rates.set(
      variant.name,
      measureAccuracy(trainSpamClassifier(corpus.train, recipe), corpus.serve),
    );
  }
  return rates;
}
