// Reads and checks the label mapping file once at start: every problem (JSON syntax, the
// mapping's own rules, an Avro schema that does not parse) in one CONFIG_INVALID message.
import { readFile } from 'node:fs/promises';
import { createAppLogAvroDecoder, type AppLogDecoder } from '../../lib/codec/app-log-avro.ts';
import { DynabError } from '../../lib/errors/catalogue.ts';
import { compileMapping, type LabelMapping } from './core/mapping.ts';

export interface LoadedMapping {
  readonly mapping: LabelMapping;
  /** Decodes Avro records for an Avro mapping; null for JSON lines. */
  readonly avro: AppLogDecoder | null;
}

/** Checks a parsed mapping document; `where` names it in the message. */
export function checkMapping(document: unknown, where: string): LoadedMapping {
  const compiled = compileMapping(document);
  const problems = 'problems' in compiled ? [...compiled.problems] : [];
  let avro: AppLogDecoder | null = null;
  if ('mapping' in compiled && compiled.mapping.format === 'avro') {
    try {
      avro = createAppLogAvroDecoder(compiled.mapping.avroSchema, compiled.mapping.avroEncoding);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  }
  if (problems.length > 0 || !('mapping' in compiled)) {
    throw new DynabError(
      'CONFIG_INVALID',
      `invalid label mapping ${where}:\n  ${problems.join('\n  ')}`,
    );
  }
  return Object.freeze({ mapping: compiled.mapping, avro });
}

export async function loadMappingFile(path: string): Promise<LoadedMapping> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new DynabError('CONFIG_INVALID', `cannot read the label mapping ${path}`, { cause });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause);
    throw new DynabError('CONFIG_INVALID', `label mapping ${path} is not JSON: ${message}`, {
      cause,
    });
  }
  return checkMapping(document, path);
}
