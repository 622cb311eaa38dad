// A deliberately small JSON path: `$` followed by member names (`.name` or `["any name"]`) and
// array indexes (`[0]`). No wildcards, filters, slices, recursive descent or expressions, so
// reading one path costs at most one step per segment whatever the record holds, and a mapping
// file can never make the service evaluate code or scan a document.

/** One step of a path: a member name of an object, or an index into an array. */
export type PathSegment = { readonly member: string } | { readonly index: number };

export interface JsonPath {
  /** The path as written in the mapping. */
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

/** Longest path text accepted, in characters. */
export const MAX_PATH_LENGTH = 256;
/** Most segments in one path. */
export const MAX_PATH_SEGMENTS = 32;
/** Largest array index accepted. */
const MAX_INDEX = 1_000_000;

const IDENTIFIER_START = /[A-Za-z_]/;
const IDENTIFIER_PART = /[A-Za-z0-9_-]/;

/** Parses a path, or returns the problem with it. */
export function parseJsonPath(text: string): JsonPath | { readonly problem: string } {
  if (text.length > MAX_PATH_LENGTH) {
    return { problem: `path is ${text.length} characters; at most ${MAX_PATH_LENGTH}` };
  }
  if (!text.startsWith('$')) return { problem: `path ${JSON.stringify(text)} must start with $` };
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < text.length) {
    const at = `${JSON.stringify(text)} at character ${i}`;
    const c = text[i];
    if (c === '.') {
      const start = ++i;
      if (!IDENTIFIER_START.test(text[i] ?? '')) {
        return { problem: `path ${at}: expected a member name after "."` };
      }
      while (i < text.length && IDENTIFIER_PART.test(text[i] ?? '')) i++;
      segments.push({ member: text.slice(start, i) });
    } else if (c === '[') {
      const close = readBracket(text, i + 1);
      if ('problem' in close) return { problem: `path ${at}: ${close.problem}` };
      segments.push(close.segment);
      i = close.next;
    } else {
      return { problem: `path ${at}: expected "." or "[" (no wildcards or expressions)` };
    }
    if (segments.length > MAX_PATH_SEGMENTS) {
      return { problem: `path ${JSON.stringify(text)} has more than ${MAX_PATH_SEGMENTS} steps` };
    }
  }
  return { text, segments };
}

function readBracket(
  text: string,
  start: number,
): { segment: PathSegment; next: number } | { problem: string } {
  if (text[start] === '"') {
    // A JSON string up to the first unescaped quote, then "]".
    let i = start + 1;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (text[i + 1] !== ']') return { problem: 'expected a quoted name and "]"' };
    let member: unknown;
    try {
      member = JSON.parse(text.slice(start, i + 1));
    } catch {
      return { problem: 'the quoted name is not a JSON string' };
    }
    return { segment: { member: member as string }, next: i + 2 };
  }
  let i = start;
  while (isDigit(text[i])) i++;
  const digits = text.slice(start, i);
  if (digits === '' || text[i] !== ']' || (digits.length > 1 && digits.startsWith('0'))) {
    return { problem: 'expected an array index or a quoted name, then "]" (no wildcards)' };
  }
  const index = Number(digits);
  if (index > MAX_INDEX) return { problem: `array index above ${MAX_INDEX}` };
  return { segment: { index }, next: i + 1 };
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** The value at the path, or undefined when any step is missing. */
export function readPath(document: unknown, path: JsonPath): unknown {
  let value = document;
  for (const segment of path.segments) {
    if ('index' in segment) {
      if (!Array.isArray(value)) return undefined;
      value = (value as readonly unknown[])[segment.index];
    } else {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
      // Own properties only: "__proto__" or "constructor" in a path must not reach prototypes.
      if (!Object.hasOwn(value, segment.member)) return undefined;
      value = (value as Readonly<Record<string, unknown>>)[segment.member];
    }
  }
  return value;
}
