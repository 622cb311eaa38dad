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

const DEFAULT_HEADERS: readonly string[] = ['subject', 'from'];
// Words are runs of letters/digits with inner apostrophes; the length bounds drop single
// letters (noise) and very long runs (base64 lines, hashes) that never repeat across mails.
const WORD = /[a-z0-9]+(?:'[a-z0-9]+)*/g;
const MIN_WORD_LENGTH = 2;
const MAX_WORD_LENGTH = 24;
// A header line is `Name: value`; the mbox separator line (`From addr date`) has no colon
// after the name, so it is recognised separately.
const HEADER_LINE = /^([!-9;-~]+):[ \t]?(.*)$/;
const MBOX_SEPARATOR = 'From ';

/** Splits a raw mail into headers and body; text without a header block is all body. */
export function parseMail(raw: string): ParsedMail {
  const text = raw.replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  const headers = new Map<string, string>();
  let index = 0;
  if (lines[0]?.startsWith(MBOX_SEPARATOR)) index = 1;
  const first = lines[index];
  if (first === undefined || !HEADER_LINE.test(first)) return { headers, body: text };

  let currentName: string | null = null;
  for (; index < lines.length; index += 1) {
    const line = lines[index] ?? '';
    if (line === '') {
      index += 1;
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
  return { headers, body: lines.slice(index).join('\n') };
}

/** Lowercase word tokens of free text. */
export function tokenizeText(text: string): string[] {
  const tokens: string[] = [];
  for (const match of text.toLowerCase().matchAll(WORD)) {
    const word = match[0];
    if (word.length >= MIN_WORD_LENGTH && word.length <= MAX_WORD_LENGTH) tokens.push(word);
  }
  return tokens;
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
