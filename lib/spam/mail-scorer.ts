// Scores a raw mail with a trained naive Bayes model without building its token list. Pure: no
// I/O, no randomness.
//
// `predictNaiveBayes(model, tokenizeMail(text))` makes a string per word (a served mail has
// about 470) and looks each up in a Map, which hashes the new string first; in the local
// endpoint that lookup and the garbage of those strings were most of the CPU per mail. Here the
// words are found by the same scan as `tokenizeText`, each word's hash is computed while it is
// scanned, and the vocabulary sits in an open-addressing table keyed by that hash: a word that
// is not in the vocabulary costs a probe and no allocation. The evidence is added in the same
// order as the token list would be (chosen headers, then the body), so the sum, and therefore
// the score, is bit for bit the one `predictNaiveBayes` gives (tested over the corpus).

import { logisticOf, type NaiveBayesModel, type SpamPrediction } from './naive-bayes.ts';
import {
  DEFAULT_HEADERS,
  isWordCode,
  parseMail,
  APOSTROPHE,
  MAX_WORD_LENGTH,
  MIN_WORD_LENGTH,
  type TokenizeMailOptions,
} from './tokenize.ts';

// 32-bit FNV-1a over UTF-16 code units (Fowler–Noll–Vo; offset basis and prime of the 32-bit
// variant). Any well-mixed hash would do: it only spreads keys over the table.
const FNV_OFFSET_BASIS = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;

function hashStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, FNV_PRIME);
}

function hashOfString(text: string): number {
  let h = FNV_OFFSET_BASIS;
  for (let i = 0; i < text.length; i++) h = hashStep(h, text.charCodeAt(i));
  return h;
}

/** Longest key held in the table's slots (7 bits of a slot); longer keys are kept apart. */
const MAX_SLOT_KEY_LENGTH = 127;
/** Largest pool offset a slot holds (the other 24 bits). */
const MAX_POOL_OFFSET = 2 ** 24 - 1;

/**
 * Per byte: the word character it is once lower-cased ([a-z0-9], A-Z as a-z), or 0 for a byte
 * that ends a word. The scan of ASCII text reads words through it, lower-casing as it goes.
 */
const ASCII_WORD = (() => {
  const table = new Uint8Array(256);
  for (let c = 0x61; c <= 0x7a; c++) table[c] = c;
  for (let c = 0x41; c <= 0x5a; c++) table[c] = c + 0x20;
  for (let c = 0x30; c <= 0x39; c++) table[c] = c;
  return table;
})();
/** ASCII_WORD, with the apostrophe as itself: how a word's bytes compare with a key. */
const ASCII_KEY = (() => {
  const table = ASCII_WORD.slice();
  table[APOSTROPHE] = APOSTROPHE;
  return table;
})();

/**
 * The model's per-token weights in an open-addressing table (linear probing, at most three
 * quarters full) that is probed with a hash and a slice of text instead of a string.
 *
 * A slot is 16 bytes of one buffer, so that a probe reads one cache line: the key's hash, its
 * offset in the pool and length (24 and 7 bits), and its weight. The keys' characters are copied
 * into one pool: the model's token strings are slices of the training mails and concatenations,
 * and reading their characters one by one cost more than the rest of a lookup. With the
 * challenger's 69,000 tokens the table and pool take about 3 MB, more than a core's L2 cache,
 * and a lookup is mostly its cache misses (three with the slot's fields in separate arrays).
 * Keys longer than a slot holds (never a word the scanner emits) are kept in a Map.
 */
export class TokenWeightTable {
  private readonly mask: number;
  /** Slot i: hash at 4i, (pool offset << 7 | key length) at 4i + 1 (-1: empty). */
  private readonly slots: Int32Array;
  /** Slot i's weight at 2i + 1: the same buffer as `slots`. */
  private readonly weights: Float64Array;
  private readonly pool: Uint16Array;
  private readonly apart = new Map<string, number>();

  constructor(entries: ReadonlyMap<string, number>) {
    let capacity = 8;
    while (capacity * 3 < entries.size * 4) capacity *= 2;
    this.mask = capacity - 1;
    const buffer = new ArrayBuffer(16 * capacity);
    this.slots = new Int32Array(buffer);
    this.weights = new Float64Array(buffer);
    for (let slot = 0; slot < capacity; slot++) this.slots[4 * slot + 1] = -1;
    let poolSize = 0;
    for (const key of entries.keys()) poolSize += key.length;
    this.pool = new Uint16Array(Math.min(poolSize, MAX_POOL_OFFSET + MAX_SLOT_KEY_LENGTH));
    let offset = 0;
    for (const [key, weight] of entries) {
      if (key.length > MAX_SLOT_KEY_LENGTH || offset > MAX_POOL_OFFSET) {
        this.apart.set(key, weight);
        continue;
      }
      const hash = hashOfString(key);
      let slot = hash & this.mask;
      while (this.slots[4 * slot + 1] !== -1) slot = (slot + 1) & this.mask;
      this.slots[4 * slot] = hash;
      this.slots[4 * slot + 1] = (offset << 7) | key.length;
      this.weights[2 * slot + 1] = weight;
      for (let i = 0; i < key.length; i++) this.pool[offset + i] = key.charCodeAt(i);
      offset += key.length;
    }
  }

  /** The weight of `key`, or undefined when it is not in the table. */
  get(key: string): number | undefined {
    return this.find(hashOfString(key), '', key, 0, key.length);
  }

  /**
   * The weight of the token `prefix + text.slice(start, end)`, whose hash (`hashOfString` of
   * that token) is `hash`; undefined when it is not in the table.
   */
  find(hash: number, prefix: string, text: string, start: number, end: number): number | undefined {
    const length = prefix.length + end - start;
    if (length > MAX_SLOT_KEY_LENGTH) return this.apart.get(prefix + text.slice(start, end));
    const slots = this.slots;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const packed = slots[4 * slot + 1] ?? -1;
      if (packed === -1) return undefined;
      if (
        slots[4 * slot] === hash &&
        (packed & MAX_SLOT_KEY_LENGTH) === length &&
        this.matches(packed >>> 7, prefix, text, start, end)
      )
        return this.weights[2 * slot + 1];
    }
  }

  /**
   * The weight of the word `bytes[start..end)` of ASCII text, lower-cased (its bytes are word
   * characters or apostrophes), whose hash is `hash`; undefined when it is not in the table.
   */
  findAscii(hash: number, bytes: Uint8Array, start: number, end: number): number | undefined {
    const length = end - start;
    const slots = this.slots;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const packed = slots[4 * slot + 1] ?? -1;
      if (packed === -1) return undefined;
      if (slots[4 * slot] === hash && (packed & MAX_SLOT_KEY_LENGTH) === length) {
        const pool = this.pool;
        let at = packed >>> 7;
        let i = start;
        while (i < end && pool[at] === ASCII_KEY[bytes[i] ?? 0]) {
          i++;
          at++;
        }
        if (i === end) return this.weights[2 * slot + 1];
      }
    }
  }

  /** Whether the key at `offset` of the pool is `prefix` followed by `text` from `start` to `end`. */
  private matches(
    offset: number,
    prefix: string,
    text: string,
    start: number,
    end: number,
  ): boolean {
    const pool = this.pool;
    for (let i = 0; i < prefix.length; i++)
      if (pool[offset + i] !== prefix.charCodeAt(i)) return false;
    for (let i = start, at = offset + prefix.length; i < end; i++, at++)
      if (pool[at] !== text.charCodeAt(i)) return false;
    return true;
  }
}

/** A classifier of raw mails: the model, tokenized as `tokenizer` says, scored as above. */
export function compileMailScorer(
  model: NaiveBayesModel,
  tokenizer: TokenizeMailOptions = {},
): (text: string) => SpamPrediction {
  const table = new TokenWeightTable(model.logLikelihoodRatios);
  const headers = (tokenizer.headers ?? DEFAULT_HEADERS).map((name) => {
    const lower = name.toLowerCase();
    const prefix = `${lower}:`;
    return { name: lower, prefix, prefixHash: hashOfString(prefix) };
  });
  const includeBody = tokenizer.includeBody ?? true;
  return (text) => {
    const mail = parseMail(text);
    let logOdds = model.logPriorOdds;
    for (const header of headers) {
      const value = mail.headers.get(header.name);
      if (value === undefined) continue;
      logOdds = addEvidence(table, value.toLowerCase(), header.prefix, header.prefixHash, logOdds);
    }
    if (includeBody) logOdds = addBodyEvidence(table, mail.body, logOdds);
    const score = logisticOf(logOdds);
    return { label: score >= model.threshold ? 'spam' : 'ham', score };
  };
}

const UTF8 = new TextEncoder();
/** Where a body is copied as UTF-8 to be scanned as bytes; kept up to 1 MiB. */
let bodyBytes = new Uint8Array(64 * 1024);
const MAX_KEPT_BODY_BYTES = 1024 * 1024;
/**
 * The only characters beyond ASCII whose lower case holds a word character: the Kelvin sign
 * (U+212A, lower-cased `k`) and the dotted capital I (U+0130, lower-cased `i` and a combining
 * dot). Every other one lower-cases to characters beyond ASCII, which end a word.
 */
const LOWERS_TO_ASCII = /[\u0130\u212a]/;

/**
 * `logOdds` plus the weight of every word of the body, as `addEvidence` of the lower-cased body.
 * The body is scanned as UTF-8 bytes, lower-cased through a table as it is read: about a third
 * cheaper than lower-casing the string and reading it a character at a time. A byte beyond ASCII
 * ends a word as the character it belongs to does once lower-cased, except in the two characters
 * of LOWERS_TO_ASCII: a body holding one takes the string's way.
 */
function addBodyEvidence(table: TokenWeightTable, body: string, logOdds: number): number {
  const length = body.length;
  // At most three bytes per UTF-16 unit (a pair of surrogates makes four).
  const capacity = 3 * length;
  let bytes = bodyBytes;
  if (bytes.length < capacity) {
    bytes = new Uint8Array(capacity);
    if (capacity <= MAX_KEPT_BODY_BYTES) bodyBytes = bytes;
  }
  // One native pass copies the text and tells whether it is all ASCII (one byte per unit).
  const { written } = UTF8.encodeInto(body, bytes);
  if (written !== length && LOWERS_TO_ASCII.test(body))
    return addEvidence(table, body.toLowerCase(), '', FNV_OFFSET_BASIS, logOdds);
  return addByteEvidence(table, bytes, written, logOdds);
}

/**
 * `addEvidence` of text as UTF-8 bytes (`bytes[0..length)`), lower-cased as it is read; bytes
 * beyond ASCII end words.
 */
function addByteEvidence(
  table: TokenWeightTable,
  bytes: Uint8Array,
  length: number,
  logOdds: number,
): number {
  let sum = logOdds;
  let index = 0;
  while (index < length) {
    let code = ASCII_WORD[bytes[index] ?? 0] ?? 0;
    if (code === 0) {
      index += 1;
      continue;
    }
    const start = index;
    let hash = FNV_OFFSET_BASIS;
    for (;;) {
      while (index < length && (code = ASCII_WORD[bytes[index] ?? 0] ?? 0) !== 0) {
        hash = hashStep(hash, code);
        index += 1;
      }
      if (index + 1 < length && bytes[index] === APOSTROPHE) {
        const next = ASCII_WORD[bytes[index + 1] ?? 0] ?? 0;
        if (next !== 0) {
          hash = hashStep(hashStep(hash, APOSTROPHE), next);
          index += 2;
          continue;
        }
      }
      break;
    }
    const size = index - start;
    if (size >= MIN_WORD_LENGTH && size <= MAX_WORD_LENGTH) {
      const weight = table.findAscii(hash, bytes, start, index);
      if (weight !== undefined) sum += weight;
    }
  }
  return sum;
}

/**
 * `logOdds` plus the weight of every word of `lower` (already lower-cased) that is in the table,
 * each word prefixed with `prefix`, in text order. The scan is `tokenizeText`'s.
 */
function addEvidence(
  table: TokenWeightTable,
  lower: string,
  prefix: string,
  prefixHash: number,
  logOdds: number,
): number {
  let sum = logOdds;
  const length = lower.length;
  let index = 0;
  while (index < length) {
    let code = lower.charCodeAt(index);
    if (!isWordCode(code)) {
      index += 1;
      continue;
    }
    const start = index;
    let hash = prefixHash;
    for (;;) {
      while (index < length && isWordCode((code = lower.charCodeAt(index)))) {
        hash = hashStep(hash, code);
        index += 1;
      }
      if (lower.charCodeAt(index) === APOSTROPHE) {
        const next = lower.charCodeAt(index + 1);
        if (isWordCode(next)) {
          hash = hashStep(hashStep(hash, APOSTROPHE), next);
          index += 2;
          continue;
        }
      }
      break;
    }
    const size = index - start;
    if (size >= MIN_WORD_LENGTH && size <= MAX_WORD_LENGTH) {
      const weight = table.find(hash, prefix, lower, start, index);
      if (weight !== undefined) sum += weight;
    }
  }
  return sum;
}
