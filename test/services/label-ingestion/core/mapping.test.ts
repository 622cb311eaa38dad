import { describe, expect, it } from 'vitest';
import {
  applyMapping,
  compileMapping,
  type LabelMapping,
} from '../../../../services/label-ingestion/core/mapping.ts';

function compile(document: unknown): LabelMapping {
  const result = compileMapping(document);
  if ('problems' in result) throw new Error(result.problems.join('\n'));
  return result.mapping;
}

const base = {
  version: 1,
  source: 'app-log:web',
  requestId: '$.request.id',
  eventTime: { path: '$.ts', format: 'epoch-ms' },
  rules: [
    { name: 'click', when: [{ path: '$.event', equals: 'click' }], reward: 1 },
    { name: 'spam', when: [{ path: '$.event', equals: 'mark_spam' }], truth: 'spam' },
    { name: 'revenue', when: [{ path: '$.event', equals: 'purchase' }], rewardFrom: '$.amount' },
  ],
};

describe('compileMapping', () => {
  it('accepts a valid mapping', () => {
    const mapping = compile(base);
    expect(mapping.rules.map((r) => r.name)).toEqual(['click', 'spam', 'revenue']);
    expect(mapping.format).toBe('json');
  });

  it('lists every problem at once', () => {
    const result = compileMapping({
      version: 2,
      source: '',
      format: 'xml',
      requestId: '$.a[*]',
      userId: '$.user',
      eventTime: { path: '$.ts', format: 'weekday' },
      filter: [{ path: '$.x' }],
      rules: [
        { name: 'a', reward: 'one' },
        { name: 'a', truth: 'x', reward: 1 },
        { name: 'b', when: [{ path: '$.e', equals: {} }], truthFrom: '$..x', extra: 1 },
      ],
      typo: true,
    });
    expect('problems' in result).toBe(true);
    const problems = 'problems' in result ? result.problems : [];
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('mapping: unknown key "typo"'),
        expect.stringContaining('version: must be 1'),
        expect.stringContaining('source: must be a non-empty string'),
        expect.stringContaining('format: must be one of json, avro'),
        expect.stringContaining('requestId: path "$.a[*]"'),
        expect.stringContaining('experiment: required with userId'),
        expect.stringContaining('eventTime.format: must be one of'),
        expect.stringContaining('filter[0]: needs at least one of'),
        expect.stringContaining('rules[0].reward: must be a finite number'),
        expect.stringContaining('rules[1]: needs exactly one of'),
        expect.stringContaining('rules[2].when[0].equals'),
        expect.stringContaining('rules[2].truthFrom'),
        expect.stringContaining('rules[2]: unknown key "extra"'),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(13);
  });

  it('needs an Avro schema for Avro records', () => {
    expect(compileMapping({ ...base, format: 'avro' })).toHaveProperty('problems');
    expect(compileMapping({ ...base, avro: { schema: 'string' } })).toHaveProperty('problems');
    expect(compile({ ...base, format: 'avro', avro: { schema: 'string' } }).avroEncoding).toBe(
      'single-object',
    );
  });
});

describe('applyMapping', () => {
  const mapping = compile(base);

  it('maps an event to a reward, a truth or a numeric reward', () => {
    const click = applyMapping(mapping, { event: 'click', request: { id: 'r1' }, ts: 5 }, 9);
    expect(click).toEqual({
      kind: 'labels',
      labels: [
        {
          rule: 'click',
          requestId: 'r1',
          experiment: null,
          userId: null,
          reward: 1,
          label: null,
          eventTime: 5,
          source: 'app-log:web',
        },
      ],
    });
    const spam = applyMapping(mapping, { event: 'mark_spam', request: { id: 7 } }, 9);
    expect(spam).toMatchObject({
      kind: 'labels',
      labels: [{ requestId: '7', label: 'spam', reward: null, eventTime: 9 }],
    });
    const revenue = applyMapping(
      mapping,
      { event: 'purchase', request: { id: 'r' }, amount: 12.5 },
      0,
    );
    expect(revenue).toMatchObject({ kind: 'labels', labels: [{ reward: 12.5 }] });
  });

  it('counts records that match no rule or fail the filter as unmatched', () => {
    expect(applyMapping(mapping, { event: 'view' }, 0)).toEqual({ kind: 'unmatched' });
    const filtered = compile({ ...base, filter: [{ path: '$.env', in: ['prod'] }] });
    expect(applyMapping(filtered, { event: 'click', request: { id: 'r' } }, 0)).toEqual({
      kind: 'unmatched',
    });
    expect(
      applyMapping(filtered, { event: 'click', env: 'prod', request: { id: 'r' } }, 0),
    ).toMatchObject({ kind: 'labels' });
  });

  it('yields one label per matching rule', () => {
    const both = compile({
      ...base,
      rules: [
        { name: 'click', when: [{ path: '$.event', equals: 'click' }], reward: 1 },
        { name: 'truth', when: [{ path: '$.verdict', exists: true }], truthFrom: '$.verdict' },
      ],
    });
    const result = applyMapping(both, { event: 'click', verdict: 'ham', request: { id: 'r' } }, 0);
    expect(result).toMatchObject({
      kind: 'labels',
      labels: [
        { rule: 'click', reward: 1 },
        { rule: 'truth', label: 'ham' },
      ],
    });
  });

  it('supports numeric ranges, inequality and absence', () => {
    const ranged = compile({
      ...base,
      rules: [
        {
          name: 'long-read',
          when: [
            { path: '$.seconds', min: 30, max: 600 },
            { path: '$.bot', exists: false },
            { path: '$.event', notEquals: 'bounce' },
          ],
          reward: 1,
        },
      ],
    });
    const record = (extra: object) => ({ request: { id: 'r' }, event: 'read', ...extra });
    expect(applyMapping(ranged, record({ seconds: 45 }), 0).kind).toBe('labels');
    expect(applyMapping(ranged, record({ seconds: 5 }), 0).kind).toBe('unmatched');
    expect(applyMapping(ranged, record({ seconds: '45' }), 0).kind).toBe('unmatched');
    expect(applyMapping(ranged, record({ seconds: 45, bot: true }), 0).kind).toBe('unmatched');
    expect(applyMapping(ranged, record({ seconds: 45, event: 'bounce' }), 0).kind).toBe(
      'unmatched',
    );
  });

  it('reports why a matched record cannot make a label', () => {
    const invalid = (record: unknown) => {
      const result = applyMapping(mapping, record, 0);
      return result.kind === 'invalid' ? result.reason : result.kind;
    };
    expect(invalid([1])).toContain('not a JSON object');
    expect(invalid({ event: 'click' })).toContain('no request id');
    expect(invalid({ event: 'click', request: { id: {} } })).toContain('requestId at $.request.id');
    expect(invalid({ event: 'purchase', request: { id: 'r' }, amount: '3' })).toContain(
      'reward at $.amount',
    );
    expect(invalid({ event: 'click', request: { id: 'r' }, ts: 'yesterday' })).toContain(
      'eventTime at $.ts',
    );
    expect(invalid({ event: 'click', request: { id: 'r' }, ts: -1 })).toContain('eventTime');
  });

  it('reads epoch seconds and ISO-8601 instants', () => {
    const seconds = compile({ ...base, eventTime: { path: '$.ts', format: 'epoch-s' } });
    expect(
      applyMapping(seconds, { event: 'click', request: { id: 'r' }, ts: 1.5 }, 0),
    ).toMatchObject({ labels: [{ eventTime: 1500 }] });
    const iso = compile({ ...base, eventTime: { path: '$.ts', format: 'iso-8601' } });
    const at = (ts: string) => applyMapping(iso, { event: 'click', request: { id: 'r' }, ts }, 0);
    expect(at('2026-12-07T10:00:00.250Z')).toMatchObject({
      labels: [{ eventTime: Date.UTC(2026, 11, 7, 10, 0, 0, 250) }],
    });
    expect(at('2026-12-07T11:00:00+01:00')).toMatchObject({
      labels: [{ eventTime: Date.UTC(2026, 11, 7, 10) }],
    });
    expect(at('December 7, 2026').kind).toBe('invalid');
    expect(at('2026-12-07T10:00:00').kind).toBe('invalid');
  });

  it('keeps a label with only a user and an experiment for attribution', () => {
    const byUser = compile({
      version: 1,
      source: 'app-log:mail',
      userId: '$.user',
      experiment: '$.exp',
      rules: [{ name: 'not-spam', when: [{ path: '$.action', equals: 'not_spam' }], truth: 'ham' }],
    });
    expect(
      applyMapping(byUser, { user: 'u1', exp: 'spam-filter', action: 'not_spam' }, 3),
    ).toMatchObject({
      kind: 'labels',
      labels: [{ requestId: null, userId: 'u1', experiment: 'spam-filter', label: 'ham' }],
    });
    expect(applyMapping(byUser, { user: 'u1', action: 'not_spam' }, 3).kind).toBe('invalid');
  });
});
