// Deterministic train/serve split by hashing each mail's id, so every process (trainer, load
// generator, label oracle) agrees on which mails the models never saw, without coordination.

export type SplitName = 'train' | 'serve';

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const UTF8 = new TextEncoder();

/** 32-bit FNV-1a of the UTF-8 bytes of `text`, as an unsigned integer. */
export function hashFnv1a(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of UTF8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME) >>> 0;
  }
  return hash;
}

/**
 * Which side of the split a mail id falls on. FNV-1a's low bits are weak (the lowest bit is
 * just the parity of the input bytes), so the hash is avalanched (murmur3's finaliser) and the
 * whole 32-bit value is compared with the fraction instead of taking it modulo 2.
 */
export function assignSplit(id: string, serveFraction = 0.5): SplitName {
  if (!(serveFraction >= 0 && serveFraction <= 1)) {
    throw new RangeError(`serveFraction must be in [0, 1], got ${serveFraction}`);
  }
  const unit = avalanche(hashFnv1a(id)) / 2 ** 32;
  return unit < serveFraction ? 'serve' : 'train';
}

/** Partitions items by `assignSplit(item.id)`, keeping their order. */
export function splitCorpus<T extends { readonly id: string }>(
  corpus: readonly T[],
  serveFraction = 0.5,
): { train: T[]; serve: T[] } {
  const train: T[] = [];
  const serve: T[] = [];
  for (const item of corpus) {
    (assignSplit(item.id, serveFraction) === 'serve' ? serve : train).push(item);
  }
  return { train, serve };
}

function avalanche(value: number): number {
  let h = value;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
