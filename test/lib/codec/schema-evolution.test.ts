// Schema evolution without a registry: readers recognise older/newer writer schemas by
// fingerprint (registered through `schemas/history/<stream>/` or `extraWriterSchemas`) and
// resolve them to the current reader schema.

import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCodecs, parsingCanonicalForm } from '../../../lib/codec/avro-codec.ts';
import { expectDynabError, SAMPLES } from './helpers.ts';

const SCHEMA_DIR = new URL('../../../schemas/', import.meta.url);
interface Field {
  name: string;
  type: unknown;
  default?: unknown;
  doc: string;
}
type RecordSchema = Record<string, unknown> & { fields: Field[] };

const currentLabel = JSON.parse(
  readFileSync(new URL('label.avsc', SCHEMA_DIR), 'utf8'),
) as RecordSchema;

const withFields = (schema: RecordSchema, fields: Field[]): RecordSchema => ({ ...schema, fields });

/** Label schema as a newer producer might have it: one more field, with a default. */
const labelPlusChannel = withFields(currentLabel, [
  ...currentLabel.fields,
  { name: 'channel', type: 'string', default: 'web', doc: 'Where the feedback came from.' },
]);
/** Label schema without the optional `label` field (the current reader defaults it to null). */
const labelWithoutLabel = withFields(
  currentLabel,
  currentLabel.fields.filter((field) => field.name !== 'label'),
);

// Temporary copies of `schemas/` in which one file is replaced, standing in for a producer or
// consumer built from another version of the repository.
const tempDirs: string[] = [];
function schemaDirWith(files: Record<string, object>): string {
  const dir = mkdtempSync(join(tmpdir(), 'dynab-schemas-'));
  tempDirs.push(dir);
  cpSync(SCHEMA_DIR, dir, { recursive: true });
  for (const [path, schema] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), JSON.stringify(schema, null, 2));
  }
  return dir;
}
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const current = loadCodecs();

describe('newer writer, current reader', () => {
  const newerProducer = loadCodecs({
    schemaDir: schemaDirWith({ 'label.avsc': labelPlusChannel }),
  }).label;
  const bytes = newerProducer.encode(SAMPLES.label);

  it('writes with a different fingerprint, unknown until registered', () => {
    expect(newerProducer.fingerprintHex).not.toBe(current.label.fingerprintHex);
    expectDynabError(
      () => current.label.decode(bytes),
      'UNKNOWN_SCHEMA',
      newerProducer.fingerprintHex,
    );
  });

  it('decodes once the writer schema is registered, ignoring the added field', () => {
    const reader = loadCodecs({ extraWriterSchemas: { label: [labelPlusChannel] } }).label;
    expect(reader.knownFingerprints).toContain(newerProducer.fingerprintHex);
    expect(reader.decode(bytes)).toEqual(SAMPLES.label);
  });

  it('fills a field the writer removed from the reader default', () => {
    const producer = loadCodecs({
      schemaDir: schemaDirWith({ 'label.avsc': labelWithoutLabel }),
    }).label;
    const reader = loadCodecs({ extraWriterSchemas: { label: [labelWithoutLabel] } }).label;
    const sent = { ...SAMPLES.label, label: 'ignored: not in the writer schema' };
    expect(reader.decode(producer.encode(sent))).toEqual({ ...SAMPLES.label, label: null });
  });

  it('promotes a float reward to the reader double', () => {
    const floatReward = withFields(
      currentLabel,
      currentLabel.fields.map((f) => (f.name === 'reward' ? { ...f, type: ['null', 'float'] } : f)),
    );
    const producer = loadCodecs({ schemaDir: schemaDirWith({ 'label.avsc': floatReward }) }).label;
    const reader = loadCodecs({ extraWriterSchemas: { label: [floatReward] } }).label;
    expect(reader.decode(producer.encode({ ...SAMPLES.label, reward: 0.5 })).reward).toBe(0.5);
  });

  it('refuses at load time a writer lacking a field the reader has no default for', () => {
    const withoutSource = withFields(
      currentLabel,
      currentLabel.fields.filter((field) => field.name !== 'source'),
    );
    expectDynabError(
      () => loadCodecs({ extraWriterSchemas: { label: [withoutSource] } }),
      'CONFIG_INVALID',
    );
  });
});

describe('old writer, newer reader', () => {
  const oldBytes = current.label.encode(SAMPLES.label);

  it('decodes an old message when the old schema is registered as an extra writer', () => {
    const newerReader = loadCodecs({
      schemaDir: schemaDirWith({ 'label.avsc': labelPlusChannel }),
      extraWriterSchemas: { label: [currentLabel] },
    }).label;
    // The newer reader's field is filled from its default.
    expect(newerReader.decode(oldBytes)).toEqual({ ...SAMPLES.label, channel: 'web' });
  });

  it('decodes an old message when the old schema is kept in history/<stream>/', () => {
    const newerReader = loadCodecs({
      schemaDir: schemaDirWith({
        'label.avsc': labelPlusChannel,
        'history/label/2025-01-01-initial.avsc': currentLabel,
      }),
    }).label;
    expect(newerReader.knownFingerprints).toEqual([
      expect.not.stringMatching(current.label.fingerprintHex),
      current.label.fingerprintHex,
    ]);
    // The newer reader's field is filled from its default.
    expect(newerReader.decode(oldBytes)).toEqual({ ...SAMPLES.label, channel: 'web' });
  });

  it('does not accept the old message without that registration', () => {
    const newerReader = loadCodecs({
      schemaDir: schemaDirWith({ 'label.avsc': labelPlusChannel }),
    }).label;
    expectDynabError(() => newerReader.decode(oldBytes), 'UNKNOWN_SCHEMA');
  });
});

describe('experiment definitions written before goals', () => {
  // The writer that existed before `stopping.goal` and `stopping.tolerance`, as kept in history.
  const beforeGoals = JSON.parse(
    readFileSync(new URL('history/experiment/2026-12-06-before-goals.avsc', SCHEMA_DIR), 'utf8'),
  ) as RecordSchema;
  const oldWriter = loadCodecs({
    schemaDir: schemaDirWith({ 'experiment.avsc': beforeGoals }),
  }).experiment;

  it('decode with goal earn and the default tolerance, keeping their old rule', () => {
    // The old layout has no place for goal and tolerance: the writer leaves them out.
    const bytes = oldWriter.encode({
      ...SAMPLES.experiment,
      stopping: { ...SAMPLES.experiment.stopping, goal: 'decide', tolerance: 0.5 },
    });
    expect(oldWriter.fingerprintHex).not.toBe(current.experiment.fingerprintHex);
    expect(current.experiment.decode(bytes)).toEqual({
      ...SAMPLES.experiment,
      stopping: {
        ...SAMPLES.experiment.stopping,
        goal: 'earn',
        tolerance: 0.001,
        minimumDetectableEffect: null,
      },
    });
  });
});

describe('experiment definitions written before the minimum detectable effect', () => {
  const beforeMde = JSON.parse(
    readFileSync(new URL('history/experiment/2026-12-07-before-mde.avsc', SCHEMA_DIR), 'utf8'),
  ) as RecordSchema;
  const oldWriter = loadCodecs({
    schemaDir: schemaDirWith({ 'experiment.avsc': beforeMde }),
  }).experiment;

  it('decode with no minimum detectable effect, keeping the rest of their stopping rule', () => {
    const bytes = oldWriter.encode(SAMPLES.experiment);
    expect(oldWriter.fingerprintHex).not.toBe(current.experiment.fingerprintHex);
    expect(current.experiment.decode(bytes)).toEqual({
      ...SAMPLES.experiment,
      stopping: { ...SAMPLES.experiment.stopping, minimumDetectableEffect: null },
    });
  });

  it('round-trip a stated minimum detectable effect in the current layout', () => {
    expect(SAMPLES.experiment.stopping.minimumDetectableEffect).toBe(0.02);
    const bytes = current.experiment.encode(SAMPLES.experiment);
    expect(current.experiment.decode(bytes)).toEqual(SAMPLES.experiment);
  });
});

describe('records written before the decision context (policy, snapshot version, revision)', () => {
  const history = (path: string): RecordSchema =>
    JSON.parse(readFileSync(new URL(`history/${path}`, SCHEMA_DIR), 'utf8')) as RecordSchema;
  const dir = schemaDirWith({
    'reward.avsc': history('reward/2026-12-07-before-decision-context.avsc'),
    'prediction.avsc': history('prediction/2026-12-07-before-revision.avsc'),
    'assignment.avsc': history('assignment/2026-12-07-before-revision.avsc'),
  });
  const old = loadCodecs({ schemaDir: dir });

  it('decode a reward with the decision context null', () => {
    const bytes = old.reward.encode(SAMPLES.reward);
    expect(old.reward.fingerprintHex).not.toBe(current.reward.fingerprintHex);
    expect(current.reward.decode(bytes)).toEqual({
      ...SAMPLES.reward,
      policy: null,
      snapshotVersion: null,
      experimentRevision: null,
    });
  });

  it('decode an assignment and a prediction with no experiment revision', () => {
    expect(current.assignment.decode(old.assignment.encode(SAMPLES.assignment))).toEqual({
      ...SAMPLES.assignment,
      experimentRevision: null,
    });
    const prediction = { ...SAMPLES.prediction, experimentRevision: 7 };
    expect(current.prediction.decode(old.prediction.encode(prediction))).toEqual({
      ...prediction,
      experimentRevision: null,
    });
  });

  it('round-trip the decision context in the current layout', () => {
    expect(current.reward.decode(current.reward.encode(SAMPLES.reward))).toEqual(SAMPLES.reward);
    expect(SAMPLES.reward.experimentRevision).toBe(3);
  });
});

describe('changes that keep the fingerprint', () => {
  it('ignores docs, defaults and logical types, which do not change the binary layout', () => {
    const redocumented = withFields(
      { ...currentLabel, doc: 'Reworded.' },
      currentLabel.fields.map((f) => ({ ...f, doc: `${f.doc} (reworded)` })),
    );
    expect(parsingCanonicalForm(redocumented)).toBe(parsingCanonicalForm(currentLabel));
    const producer = loadCodecs({ schemaDir: schemaDirWith({ 'label.avsc': redocumented }) }).label;
    expect(current.label.decode(producer.encode(SAMPLES.label))).toEqual(SAMPLES.label);
  });
});
