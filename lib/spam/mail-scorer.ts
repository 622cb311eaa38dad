// Scores a raw mail with a trained naive Bayes model without building its token list. Pure: no
// I/O, no randomness.
//
// `predictNaiveBayes(model, tokenizeMail(text))` makes a string per word (a mail has about a
// thousand) and looks each up in a Map, which hashes the new string first; in the local
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

/** Marks an empty slot of a TokenWeightTable: no hash (a 32-bit integer) equals it. */
const EMPTY_SLOT = 0.5;

function hashStep(hash: number, code: number): number {
  return Math.imul(hash ^ code, FNV_PRIME);
}

function hashOfString(text: string, hash = FNV_OFFSET_BASIS): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) h = hashStep(h, text.charCodeAt(i));
  return h;
}

/**
 * The model's per-token weights in an open-addressing table (linear probing, at most half full)
 * that is probed with a hash and a slice of text instead of a string. A slot's hash and weight
 * sit side by side in one array, so a probe reads one cache line before it compares a key.
 */
export class TokenWeightTable {
  private readonly mask: number;
  /** Slot i: hash at 2i (EMPTY_SLOT when empty), weight at 2i + 1. */
  private readonly hashAndWeight: Float64Array;
  private readonly keys: string[];

  constructor(entries: ReadonlyMap<string, number>) {
    let capacity = 8;
    while (capacity < entries.size * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.hashAndWeight = new Float64Array(capacity * 2).fill(EMPTY_SLOT);
    this.keys = new Array<string>(capacity).fill('');
    for (const [key, weight] of entries) {
      const hash = hashOfString(key);
      let slot = hash & this.mask;
      while (this.hashAndWeight[2 * slot] !== EMPTY_SLOT) slot = (slot + 1) & this.mask;
      this.hashAndWeight[2 * slot] = hash;
      this.hashAndWeight[2 * slot + 1] = weight;
      this.keys[slot] = key;
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
    for (let slot = hash & this.mask; ; slot = (slot + 1) & this.mask) {
      const slotHash = this.hashAndWeight[2 * slot];
      if (slotHash === hash) {
        const key = this.keys[slot] ?? '';
        if (key.length === length && matches(key, prefix, text, start))
          return this.hashAndWeight[2 * slot + 1];
      } else if (slotHash === EMPTY_SLOT) {
        return undefined;
      }
    }
  }
}

function matches(key: string, prefix: string, text: string, start: number): boolean {
  for (let i = 0; i < prefix.length; i++)
    if (key.charCodeAt(i) !== prefix.charCodeAt(i)) return false;
  for (let i = prefix.length, j = start; i < key.length; i++, j++)
    if (key.charCodeAt(i) !== text.charCodeAt(j)) return false;
  return true;
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
