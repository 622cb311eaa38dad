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

/**
 * The model's per-token weights in an open-addressing table (linear probing, at most three
 * quarters full) that is probed with a hash and a slice of text instead of a string. The keys'
 * characters are copied into one pool: the model's token strings are slices of the training
 * mails and concatenations, and reading their characters one by one cost more than the rest
 * of a lookup.
 */
export class TokenWeightTable {
  private readonly mask: number;
  /** Slot i: hash at 3i, offset of the key in `pool` at 3i + 1, key length at 3i + 2 (-1: empty). */
  private readonly slots: Int32Array;
  private readonly weights: Float64Array;
  private readonly pool: Uint16Array;

  constructor(entries: ReadonlyMap<string, number>) {
    let capacity = 8;
    while (capacity * 3 < entries.size * 4) capacity *= 2;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity * 3);
    for (let slot = 0; slot < capacity; slot++) this.slots[3 * slot + 2] = -1;
    this.weights = new Float64Array(capacity);
    let poolSize = 0;
    for (const key of entries.keys()) poolSize += key.length;
    this.pool = new Uint16Array(poolSize);
    let offset = 0;
    for (const [key, weight] of entries) {
      const hash = hashOfString(key);
      let slot = hash & this.mask;
      while (this.slots[3 * slot + 2] !== -1) slot = (slot + 1) & this.mask;
      this.slots[3 * slot] = hash;
      this.slots[3 * slot + 1] = offset;
      this.slots[3 * slot + 2] = key.length;
      this.weights[slot] = weight;
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
    const slots = this.slots;
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const slotLength = slots[3 * slot + 2] ?? -1;
      if (slotLength === -1) return undefined;
      if (
        slots[3 * slot] === hash &&
        slotLength === length &&
        this.matches(slots[3 * slot + 1] ?? 0, prefix, text, start, end)
      )
        return this.weights[slot];
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
    if (includeBody)
      logOdds = addEvidence(table, mail.body.toLowerCase(), '', FNV_OFFSET_BASIS, logOdds);
    const score = logisticOf(logOdds);
    return { label: score >= model.threshold ? 'spam' : 'ham', score };
  };
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
