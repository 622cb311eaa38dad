import { describe, expect, it } from 'vitest';
import { extractPredictedLabel } from '../../../../services/inference/core/extract-label.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const JSON_TYPE = 'application/json';

describe('extractPredictedLabel', () => {
  it('reads a string field of a JSON object', () => {
    expect(extractPredictedLabel(bytes('{"label":"spam","score":0.97}'), JSON_TYPE, 'label')).toBe(
      'spam',
    );
  });

  it('reads the configured field, not always "label"', () => {
    const output = bytes('{"label":"spam","verdict":"ham"}');
    expect(extractPredictedLabel(output, JSON_TYPE, 'verdict')).toBe('ham');
  });

  it('turns number and boolean fields into strings', () => {
    expect(extractPredictedLabel(bytes('{"label":1}'), JSON_TYPE, 'label')).toBe('1');
    expect(extractPredictedLabel(bytes('{"label":0}'), JSON_TYPE, 'label')).toBe('0');
    expect(extractPredictedLabel(bytes('{"label":0.5}'), JSON_TYPE, 'label')).toBe('0.5');
    expect(extractPredictedLabel(bytes('{"label":true}'), JSON_TYPE, 'label')).toBe('true');
    expect(extractPredictedLabel(bytes('{"label":false}'), JSON_TYPE, 'label')).toBe('false');
  });

  it('keeps an empty string label', () => {
    expect(extractPredictedLabel(bytes('{"label":""}'), JSON_TYPE, 'label')).toBe('');
  });

  it('returns null when the field is missing, null or not a scalar', () => {
    expect(extractPredictedLabel(bytes('{"score":0.9}'), JSON_TYPE, 'label')).toBeNull();
    expect(extractPredictedLabel(bytes('{"label":null}'), JSON_TYPE, 'label')).toBeNull();
    expect(extractPredictedLabel(bytes('{"label":["spam"]}'), JSON_TYPE, 'label')).toBeNull();
    expect(
      extractPredictedLabel(bytes('{"label":{"name":"spam"}}'), JSON_TYPE, 'label'),
    ).toBeNull();
  });

  it('does not read nested fields', () => {
    expect(
      extractPredictedLabel(bytes('{"result":{"label":"spam"}}'), JSON_TYPE, 'label'),
    ).toBeNull();
  });

  it('does not pick up inherited object properties', () => {
    expect(extractPredictedLabel(bytes('{"label":"spam"}'), JSON_TYPE, 'toString')).toBeNull();
    expect(extractPredictedLabel(bytes('{"label":"spam"}'), JSON_TYPE, 'constructor')).toBeNull();
  });

  it('returns null for non-JSON output', () => {
    expect(extractPredictedLabel(bytes('spam'), 'text/plain', 'label')).toBeNull();
    expect(extractPredictedLabel(bytes('label=spam'), 'text/csv', 'label')).toBeNull();
    expect(extractPredictedLabel(new Uint8Array(), JSON_TYPE, 'label')).toBeNull();
  });

  it('returns null for invalid JSON', () => {
    expect(extractPredictedLabel(bytes('{"label":"spam"'), JSON_TYPE, 'label')).toBeNull();
    expect(extractPredictedLabel(bytes('{label: spam}'), 'text/plain', 'label')).toBeNull();
    expect(extractPredictedLabel(Uint8Array.of(0xff, 0xfe, 0x00), JSON_TYPE, 'label')).toBeNull();
  });

  it('returns null for JSON that is not an object', () => {
    expect(extractPredictedLabel(bytes('[{"label":"spam"}]'), JSON_TYPE, 'label')).toBeNull();
    expect(extractPredictedLabel(bytes('["spam"]'), JSON_TYPE, '0')).toBeNull();
    expect(extractPredictedLabel(bytes('"spam"'), JSON_TYPE, 'label')).toBeNull();
    expect(extractPredictedLabel(bytes('null'), JSON_TYPE, 'label')).toBeNull();
    expect(extractPredictedLabel(bytes('42'), JSON_TYPE, 'label')).toBeNull();
  });

  it('reads a JSON object whatever the content type says, and tolerates surrounding whitespace', () => {
    expect(extractPredictedLabel(bytes('  {"label":"ham"}\n'), 'text/plain', 'label')).toBe('ham');
    expect(
      extractPredictedLabel(bytes('{"label":"ham"}'), 'application/octet-stream', 'label'),
    ).toBe('ham');
    expect(
      extractPredictedLabel(bytes('{"label":"ham"}'), 'application/json; charset=utf-8', 'label'),
    ).toBe('ham');
  });
});
