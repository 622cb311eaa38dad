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
