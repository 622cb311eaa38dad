import { describe, expect, it } from 'vitest';
import { INSTANT_ANSWER, answerInstantly } from '../../bench/instant-model.ts';

describe('answerInstantly', () => {
  it('answers one record with one label', () => {
    const answer = answerInstantly(Buffer.from('Subject: hello\n\nbuy now'), 'text/plain');
    expect(answer.body.toString()).toBe(INSTANT_ANSWER);
    expect(answer.contentType).toBe('application/json');
    expect(answerInstantly(Buffer.from('{"text":"hi"}'), 'application/json').body.toString()).toBe(
      INSTANT_ANSWER,
    );
  });

  it('answers JSON lines line by line, skipping blank lines', () => {
    const answer = answerInstantly(
      Buffer.from('{"text":"a"}\n\n{"text":"b"}\r\n{"text":"c"}'),
      'application/jsonlines; charset=utf-8',
    );
    expect(answer.contentType).toBe('application/jsonlines');
    expect(answer.body.toString().trimEnd().split('\n')).toEqual([
      INSTANT_ANSWER,
      INSTANT_ANSWER,
      INSTANT_ANSWER,
    ]);
  });

  it('answers {"instances": [...]} with one prediction per instance', () => {
    const answer = answerInstantly(
      Buffer.from(JSON.stringify({ instances: [{ text: 'a' }, { text: 'b' }] })),
      'application/json',
    );
    expect(JSON.parse(answer.body.toString())).toEqual({
      predictions: [{ label: 'ham' }, { label: 'ham' }],
    });
  });
});
