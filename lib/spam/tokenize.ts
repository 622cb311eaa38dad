// Turns a raw RFC 822 mail into lowercase word tokens. Pure: no I/O, no randomness.
//
// Only a few headers are kept. The SpamAssassin corpus carries relay chains (`Received:`),
// delivery addresses and list ids that identify which mailbox a message was collected from
// rather than what it says; a model trained on them would score well here and learn nothing
// that transfers to another mailbox.

/** A mail split into its (unfolded, lower-cased names) headers and its body. */
export interface ParsedMail {
  readonly headers: ReadonlyMap<string, string>;
  readonly body: string;
}

export interface TokenizeMailOptions {
  /** Headers whose words are kept, each token prefixed with `name:` (default subject, from). */
  readonly headers?: readonly string[];
  /** Whether body words are kept (default true). */
  readonly includeBody?: boolean;
}

export const DEFAULT_HEADERS: readonly string[] = ['subject', 'from'];
// Words are runs of [a-z0-9] with inner apostrophes (the regex [a-z0-9]+(?:'[a-z0-9]+)* on the
// lower-cased text); the length bounds drop single letters (noise) and very long runs (base64
// lines, hashes) that never repeat across mails.
export const APOSTROPHE = 0x27;
export const MIN_WORD_LENGTH = 2;
export const MAX_WORD_LENGTH = 24;
// A header line is `Name: value`; the mbox separator line (`From addr date`) has no colon
// after the name, so it is recognised separately.
const HEADER_LINE = /^([!-9;-~]+):[ \t]?(.*)$/;
const MBOX_SEPARATOR = 'From ';

/** Splits a raw mail into headers and body; text without a header block is all body. */
export function parseMail(raw: string): ParsedMail {
  const text = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
  const headers = new Map<string, string>();
  // Lines are visited one at a time and the body is one slice of the text: splitting the whole
  // mail into lines and joining the body back cost more than the rest of the parse.
  let start = 0;
  let line = lineAt(text, start);
  if (line.startsWith(MBOX_SEPARATOR)) {
    start = nextLineStart(text, start);
    line = lineAt(text, start);
  }
  if (start > text.length || !HEADER_LINE.test(line)) return { headers, body: text };

  let currentName: string | null = null;
  for (; start <= text.length; start = nextLineStart(text, start)) {
    line = lineAt(text, start);
    if (line === '') {
      start = nextLineStart(text, start);
      break;
    }
    if ((line.startsWith(' ') || line.startsWith('\t')) && currentName !== null) {
      // Folded continuation line (RFC 5322 §2.2.3).
      headers.set(currentName, `${headers.get(currentName) ?? ''} ${line.trim()}`);
      continue;
    }
    const match = HEADER_LINE.exec(line);
    if (match === null) {
      // Not a header after all: the header block ended without the blank line.
      break;
    }
    currentName = (match[1] ?? '').toLowerCase();
    // Repeated headers (Received, ...) are concatenated; only their words matter here.
    const previous = headers.get(currentName);
    const value = match[2] ?? '';
    headers.set(currentName, previous === undefined ? value : `${previous} ${value}`);
  }
  return { headers, body: start > text.length ? '' : text.slice(start) };
}

/** The line that starts at `start` (without its newline). */
function lineAt(text: string, start: number): string {
  const end = text.indexOf('\n', start);
  return end === -1 ? text.slice(start) : text.slice(start, end);
}

/** Start of the line after the one at `start`; past `text.length` when there is none. */
function nextLineStart(text: string, start: number): number {
  const end = text.indexOf('\n', start);
  return end === -1 ? text.length + 1 : end + 1;
}

/** Lowercase word tokens of free text. */
export function tokenizeText(text: string): string[] {
  // A hand-written scan finds exactly the matches of that regex without `matchAll`'s match object
  // per word. (Serving does not build token lists at all: see mail-scorer.ts.)
  const lower = text.toLowerCase();
  const tokens: string[] = [];
  const length = lower.length;
  let index = 0;
  while (index < length) {
    if (!isWordCode(lower.charCodeAt(index))) {
      index += 1;
      continue;
    }
    const start = index;
    for (;;) {
      while (index < length && isWordCode(lower.charCodeAt(index))) index += 1;
      // An apostrophe continues the word only when a letter or digit follows it.
      if (lower.charCodeAt(index) === APOSTROPHE && isWordCode(lower.charCodeAt(index + 1))) {
        index += 2;
        continue;
      }
      break;
    }
    const size = index - start;
    if (size >= MIN_WORD_LENGTH && size <= MAX_WORD_LENGTH) tokens.push(lower.slice(start, index));
  }
  return tokens;
}

/** [a-z0-9]; NaN (past the end) is not. */
export function isWordCode(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 48 && code <= 57);
}

/** Tokens of a raw mail: chosen headers (prefixed, e.g. `subject:free`) then body words. */
export function tokenizeMail(raw: string, options: TokenizeMailOptions = {}): string[] {
  const mail = parseMail(raw);
  const tokens: string[] = [];
  for (const name of options.headers ?? DEFAULT_HEADERS) {
    const value = mail.headers.get(name.toLowerCase());
    if (value === undefined) continue;
    // The prefix keeps "free" in a subject distinct from "free" in the body: the same word is
    // much stronger evidence in a subject line.
    for (const word of tokenizeText(value)) tokens.push(`${name.toLowerCase()}:${word}`);
  }
  if (options.includeBody ?? true) {
    for (const word of tokenizeText(mail.body)) tokens.push(word);
  }
  return tokens;
}
