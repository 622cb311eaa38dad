// The model of bench/instant-endpoint-main.ts: answers at once without looking at what it is
// asked, one `{"label":"ham"}` per record. A request carrying several records, in the shapes
// SageMaker containers accept for batches, gets one answer per record in the matching shape:
//   application/jsonlines (or x-jsonlines)  one JSON line per non-empty input line
//   application/json {"instances": [...]}    {"predictions": [...]}, one per instance
// Anything else is one record and gets one answer. Pure; the bytes are built once per count.

export const INSTANT_ANSWER = '{"label":"ham"}';

export interface InstantAnswer {
  readonly body: Buffer;
  readonly contentType: string;
}

const SINGLE: InstantAnswer = {
  body: Buffer.from(INSTANT_ANSWER),
  contentType: 'application/json',
};
const JSON_LINES_TYPES = new Set(['application/jsonlines', 'application/x-jsonlines']);

function mediaTypeOf(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function countLines(body: Buffer): number {
  let lines = 0;
  let inLine = false;
  for (const byte of body) {
    if (byte === 0x0a) {
      if (inLine) lines++;
      inLine = false;
    } else if (byte !== 0x0d && byte !== 0x20 && byte !== 0x09) {
      inLine = true;
    }
  }
  return lines + (inLine ? 1 : 0);
}

function instancesIn(body: Buffer): number | null {
  // Only a body that starts like an object can hold "instances"; a plain text is one record.
  const first = body.find(
    (byte) => byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09,
  );
  if (first !== 0x7b) return null;
  try {
    const parsed = JSON.parse(body.toString('utf8')) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return null;
    const instances = (parsed as { instances?: unknown }).instances;
    return Array.isArray(instances) ? instances.length : null;
  } catch {
    return null;
  }
}

export function answerInstantly(body: Buffer, contentType: string): InstantAnswer {
  const type = mediaTypeOf(contentType);
  if (JSON_LINES_TYPES.has(type)) {
    const lines = countLines(body);
    return {
      body: Buffer.from(Array.from({ length: lines }, () => INSTANT_ANSWER).join('\n') + '\n'),
      contentType: type,
    };
  }
  if (type === 'application/json') {
    const instances = instancesIn(body);
    if (instances !== null)
      return {
        body: Buffer.from(
          `{"predictions":[${Array.from({ length: instances }, () => INSTANT_ANSWER).join(',')}]}`,
        ),
        contentType: 'application/json',
      };
  }
  return SINGLE;
}
