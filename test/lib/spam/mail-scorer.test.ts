import { describe, expect, it } from 'vitest';

import { compileMailScorer, TokenWeightTable } from '../../../lib/spam/mail-scorer.ts';
import {
  predictNaiveBayes,
  trainNaiveBayes,
  type LabelledTokens,
} from '../../../lib/spam/naive-bayes.ts';
import { SPAM_RECIPES, trainRecipeModel } from '../../../lib/spam/recipes.ts';
import { tokenizeMail, type TokenizeMailOptions } from '../../../lib/spam/tokenize.ts';
import { loadSpamCorpus } from '../../../services/local-endpoint/spam-corpus.ts';

/** The reference: the token list, scored by predictNaiveBayes. */
function referenceOf(
  examples: readonly { text: string; label: 'spam' | 'ham' }[],
  tokenizer: TokenizeMailOptions,
  limit: number | null,
) {
  const tokenized: LabelledTokens[] = examples.map((mail) => ({
    tokens: tokenizeMail(mail.text, tokenizer),
    label: mail.label,
  }));
  const model = trainRecipeModel({ vocabularyLimit: limit }, tokenized);
  return {
    model,
    reference: (text: string) => predictNaiveBayes(model, tokenizeMail(text, tokenizer)),
  };
}

describe('compileMailScorer', () => {
  it('gives bit for bit the prediction of the token list, for every recipe over real mails', () => {
    // Every third mail trains, the next ones are scored: words the model never saw, headers
    // folded over lines, HTML, base64 bodies and non-ASCII text all occur in the corpus.
    const corpus = loadSpamCorpus();
    const train = corpus.filter((_, i) => i % 3 === 0);
    const scored = corpus.filter((_, i) => i % 3 === 1).slice(0, 1200);
    for (const recipe of SPAM_RECIPES) {
      const { model, reference } = referenceOf(train, recipe.tokenizer, recipe.vocabularyLimit);
      const score = compileMailScorer(model, recipe.tokenizer);
      let spam = 0;
      for (const mail of scored) {
        const got = score(mail.text);
        const want = reference(mail.text);
        if (got.score !== want.score || got.label !== want.label)
          expect.fail(
            `${recipe.name}, ${mail.id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`,
          );
        if (got.label === 'spam') spam += 1;
      }
      // Both labels occur: the comparison is not over a constant.
      expect(spam, recipe.name).toBeGreaterThan(0);
      expect(spam, recipe.name).toBeLessThan(scored.length);
    }
  });

  it('matches the tokenizer on its edge cases: apostrophes, word lengths, prefixes, case', () => {
    const long24 = 'a'.repeat(24);
    const long25 = 'b'.repeat(25);
    const mails = [
      {
        text: `Subject: Don't WIN it's\nFrom: x@y.z\n\nwin don't ${long24} ${long25} 42 q`,
        label: 'spam' as const,
      },
      {
        text: "Subject: re: İstanbul o'clock\n\nrock'n'roll '' it' 'tis ok ok",
        label: 'ham' as const,
      },
      { text: 'no header block at all, just win win win', label: 'spam' as const },
      { text: 'Subject: folded\n  continuation win\n\nbody', label: 'ham' as const },
    ];
    const probes = [
      ...mails.map((mail) => mail.text),
      "Subject: don't\n\nDON'T Win WIN win's",
      `${long24}x ${long24}`,
      'subject:win is body text, not a header',
      '',
      // Lower-cased, the Kelvin sign is an ASCII k and the dotted capital I an i and a combining
      // dot: a body holding either is not read as bytes.
      'Subject: x\n\n\u212AELVIN win WIN win\u212A don\u2019t',
      'Subject: x\n\n\u0130win win\u0130 \u0130\u0130 caf\u00e9',
      // Other text beyond ASCII is read as UTF-8 bytes, each of which ends a word as its
      // character does: accents, typographic quotes, CJK, emoji, a lone surrogate.
      "Subject: x\n\nwin\u00e9win \u00c9WIN don\u2019t don'\u00e9 ok\u4e2d\u6587win \ud83d\ude00win win\ud83d 42\u00a0q",
      'Subject: x\n\n\u00fcber WIN\u0301 na\u00efve \u03a3\u03c3\u03c2win',
      "Subject: ascii\n\nWIN Win 42 DON'T q it'",
    ];
    for (const tokenizer of [
      {},
      { headers: ['Subject'], includeBody: false },
      { headers: ['from', 'subject'] },
    ]) {
      const { model, reference } = referenceOf(mails, tokenizer, null);
      const score = compileMailScorer(model, tokenizer);
      for (const text of probes)
        expect(score(text), JSON.stringify([tokenizer, text])).toEqual(reference(text));
    }
    // A vocabulary given to training may hold tokens the tokenizer never emits (too long, too
    // short): they get a weight, but no word of a mail may match them.
    const tokenized = mails.map((mail) => ({ tokens: tokenizeMail(mail.text), label: mail.label }));
    const odd = trainNaiveBayes(tokenized, {
      vocabulary: new Set([long25, 'q', 'win', `${long24}x`]),
    });
    expect(odd.logLikelihoodRatios.get(long25)).not.toBe(0);
    const oddScore = compileMailScorer(odd);
    for (const text of probes)
      expect(oddScore(text), text).toEqual(predictNaiveBayes(odd, tokenizeMail(text)));
    // The edge tokens are in the vocabulary, so the comparison above exercised them.
    const { model } = referenceOf(mails, {}, null);
    for (const token of ["don't", "subject:don't", long24, "rock'n'roll", '42', 'subject:re'])
      expect(model.logLikelihoodRatios.has(token), token).toBe(true);
    expect(model.logLikelihoodRatios.has(long25)).toBe(false);
  });
});

describe('TokenWeightTable', () => {
  it('finds every key and nothing else, through colliding probes', () => {
    const entries = new Map<string, number>();
    for (let i = 0; i < 5000; i++) entries.set(`t${i.toString(36)}`, i + 0.5);
    const table = new TokenWeightTable(entries);
    for (const [key, weight] of entries) expect(table.get(key)).toBe(weight);
    for (let i = 5000; i < 10000; i++) expect(table.get(`t${i.toString(36)}`)).toBeUndefined();
    // A slice of text with a prefix is the same key.
    expect(table.find(hashOf('t1z'), 't', 'xx1zxx', 2, 4)).toBe(entries.get('t1z'));
    expect(table.find(hashOf('t1z'), 't', 'xx1zxx', 2, 3)).toBeUndefined();
    expect(new TokenWeightTable(new Map([['', 2]])).get('')).toBe(2);
  });

  it('keeps keys longer than a slot holds apart, and finds them all the same', () => {
    const long = `subject:${'w'.repeat(130)}`;
    const table = new TokenWeightTable(
      new Map([
        [long, -1.25],
        ['win', 2],
      ]),
    );
    expect(table.get(long)).toBe(-1.25);
    expect(table.find(hashOf(long), 'subject:', `x${'w'.repeat(130)}x`, 1, 131)).toBe(-1.25);
    expect(table.get(`${long}w`)).toBeUndefined();
    expect(table.get('win')).toBe(2);
  });

  it('finds an ASCII word given as bytes, lower-cased as it is read', () => {
    const table = new TokenWeightTable(
      new Map([
        ["don't", 1.5],
        ['win', -2],
      ]),
    );
    const bytes = new TextEncoder().encode("xx DON'T Win wit");
    expect(table.findAscii(hashOf("don't"), bytes, 3, 8)).toBe(1.5);
    expect(table.findAscii(hashOf('win'), bytes, 9, 12)).toBe(-2);
    // Same hash and length as 'win', other letters: not found.
    expect(table.findAscii(hashOf('win'), bytes, 13, 16)).toBeUndefined();
  });

  it('tells apart two tokens of one length whose hashes collide', () => {
    // Found by a birthday search over base-36 strings: equal 32-bit FNV-1a, equal length.
    expect(hashOf('106yzx')).toBe(hashOf('10d6ad'));
    const table = new TokenWeightTable(new Map([['106yzx', 1.5]]));
    expect(table.get('106yzx')).toBe(1.5);
    expect(table.get('10d6ad')).toBeUndefined();
    const both = new TokenWeightTable(
      new Map([
        ['106yzx', 1.5],
        ['10d6ad', -2.5],
      ]),
    );
    expect([both.get('106yzx'), both.get('10d6ad')]).toEqual([1.5, -2.5]);
    expect(both.find(hashOf('10d6ad'), '10', 'xxd6adx', 2, 6)).toBe(-2.5);
    // The prefix is compared too (header tokens such as subject:free).
    expect(both.find(hashOf('10d6ad'), '10d6', 'xadx', 1, 3)).toBe(-2.5);
    expect(table.find(hashOf('10d6ad'), '10d6', 'ad', 0, 2)).toBeUndefined();
  });
});

/** 32-bit FNV-1a of the string's UTF-16 code units, as the table hashes. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5 | 0;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return hash;
}
