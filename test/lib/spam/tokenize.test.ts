import { describe, expect, it } from 'vitest';

import { parseMail, tokenizeMail, tokenizeText } from '../../../lib/spam/tokenize.ts';

const MAIL = [
  'From someone@example.com  Thu Aug 22 12:36:23 2002',
  'Received: from relay.example.net (relay [10.0.0.1])',
  '\tby mx.example.org with ESMTP id 1234',
  'From: "Cheap Pills" <deals@pharmacy.example>',
  'Subject: FREE offer,',
  '  act NOW!',
  'To: you@example.org',
  '',
  "Don't miss out: Buy 2 get 1 free at https://pharmacy.example/x",
  '',
  'Second paragraph.',
].join('\r\n');

describe('tokenizeText', () => {
  it('lowercases, keeps inner apostrophes and drops one-letter words', () => {
    expect(tokenizeText("Hello, WORLD! It's a 2-for-1 deal")).toEqual([
      'hello',
      'world',
      "it's",
      'for',
      'deal',
    ]);
  });

  it('drops runs too long to be words (base64, hashes)', () => {
    expect(tokenizeText(`ok ${'a'.repeat(25)} fine`)).toEqual(['ok', 'fine']);
  });

  it('returns nothing for text without words', () => {
    expect(tokenizeText('  ... !!! ')).toEqual([]);
  });

  it("keeps an apostrophe only between letters or digits, and drops the word's trailing one", () => {
    expect(tokenizeText("don't 'quoted' rock'n'roll ab' o'' x'y")).toEqual([
      "don't",
      'quoted',
      "rock'n'roll",
      'ab',
      "x'y",
    ]);
  });

  it('finds the words the regex definition finds, on seeded random text', () => {
    // The definition in the module comment, as a reference for the hand-written scan.
    const reference = (text: string): string[] =>
      [...text.toLowerCase().matchAll(/[a-z0-9]+(?:'[a-z0-9]+)*/g)]
        .map((match) => match[0])
        .filter((word) => word.length >= 2 && word.length <= 24);
    const alphabet = "aZq09' \n\t:-İK\u2028é";
    let state = 7;
    const next = (): number => (state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 2000; i++) {
      let text = '';
      const length = Math.floor(next() * 60);
      for (let j = 0; j < length; j++)
        text += alphabet.charAt(Math.floor(next() * alphabet.length));
      expect(tokenizeText(text)).toEqual(reference(text));
    }
  });
});

describe('parseMail', () => {
  it('splits headers from body, unfolds continuation lines and lowercases names', () => {
    const mail = parseMail(MAIL);
    expect(mail.headers.get('subject')).toBe('FREE offer, act NOW!');
    expect(mail.headers.get('received')).toBe(
      'from relay.example.net (relay [10.0.0.1]) by mx.example.org with ESMTP id 1234',
    );
    expect(mail.body).toBe(
      "Don't miss out: Buy 2 get 1 free at https://pharmacy.example/x\n\nSecond paragraph.",
    );
  });

  it('handles a header block that ends the text, with or without its blank line', () => {
    expect(parseMail('Subject: hi')).toEqual({ headers: new Map([['subject', 'hi']]), body: '' });
    expect(parseMail('Subject: hi\n')).toEqual({ headers: new Map([['subject', 'hi']]), body: '' });
    expect(parseMail('Subject: hi\n\n')).toEqual({
      headers: new Map([['subject', 'hi']]),
      body: '',
    });
    expect(parseMail('From a@b  Mon\nSubject: x\r\nnot a header\r\nbody')).toEqual({
      headers: new Map([['subject', 'x']]),
      body: 'not a header\nbody',
    });
  });

  it('treats text without a header block as all body', () => {
    const mail = parseMail('just some text\nwith: a colon later');
    expect(mail.headers.size).toBe(0);
    expect(mail.body).toBe('just some text\nwith: a colon later');
  });
});

describe('tokenizeMail', () => {
  it('keeps subject and from words (prefixed) and body words, and ignores relay headers', () => {
    const tokens = tokenizeMail(MAIL);
    expect(tokens).toContain('subject:free');
    expect(tokens).toContain('subject:now');
    expect(tokens).toContain('from:pharmacy');
    expect(tokens).toContain('free');
    expect(tokens).toContain('paragraph');
    expect(tokens).not.toContain('relay');
    expect(tokens).not.toContain('esmtp');
    expect(tokens.filter((token) => token.startsWith('to:'))).toEqual([]);
  });

  it('can be limited to the subject line', () => {
    expect(tokenizeMail(MAIL, { headers: ['Subject'], includeBody: false })).toEqual([
      'subject:free',
      'subject:offer',
      'subject:act',
      'subject:now',
    ]);
  });

  it('tokenizes a mail that is only a body', () => {
    expect(tokenizeMail('win money now')).toEqual(['win', 'money', 'now']);
  });
});
