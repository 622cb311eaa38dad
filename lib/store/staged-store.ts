// A key-value store with a staging layer on top: changes that are decided but not yet committed
// (their Kafka transaction is in flight) are readable at once, while the store below keeps only
// committed state. A stateful runner stages a change when its processor returns it, processes
// the next batch against it while the transaction commits, writes it to the store below once
// committed and then settles it; a failed transaction discards everything staged.
//
// Reads see the newest staged value of a key (a deletion hides the stored value), else the
// stored one. Writes go straight to the store below: they hold committed state, which any staged
// value of the same key is newer than. Nothing here touches a disk of its own.
import type { KeyValueStore, StoreOperation } from './key-value-store.ts';

export interface StagedStore extends KeyValueStore {
  /** Makes `operations` readable before they are written below; returns their stage number. */
  stage(operations: readonly StoreOperation[]): number;
  /** The stage's operations are in the store below now: stop reading them from the stage. */
  settle(stage: number): void;
  /** Forgets every staged operation (their transaction failed). */
  discard(): void;
  /** Keys currently staged (for tests and logs). */
  readonly stagedKeys: number;
}

/** A staged key and its value (null: deleted). */
type StagedEntry = readonly [string, Buffer | null];

interface Staged {
  /** null: staged as deleted. */
  readonly value: Buffer | null;
  readonly stage: number;
}

const asBuffer = (value: Uint8Array): Buffer =>
  Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/**
 * The bytewise order of the keys' UTF-8, the order of the store below, without encoding them.
 * UTF-16 code units sort like code points (and so like UTF-8 bytes) except surrogates against
 * U+E000–U+FFFF: at the first difference, those units are moved past each other.
 */
export function keyOrder(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

const codePointRank = (unit: number): number =>
  unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800;

export function createStagedStore(base: KeyValueStore): StagedStore {
  const staged = new Map<string, Staged>();
  const keysOfStage = new Map<number, string[]>();
  let lastStage = 0;

  // Every read takes what it needs from the stage before it awaits the store below: a stage
  // may settle meanwhile (its operations written below, then dropped here), and a read that
  // looked at the stage after the store would miss what moved from one to the other.

  /** The staged keys that `take`, with their values (null: deleted), in key order. */
  const stagedWhere = (take: (key: string) => boolean): StagedEntry[] => {
    const entries: StagedEntry[] = [];
    for (const [key, { value }] of staged) if (take(key)) entries.push([key, value]);
    return entries.sort((a, b) => keyOrder(a[0], b[0]));
  };

  /** Merges stored entries (sorted) with staged ones (sorted) of the same span. */
  const merge = (
    stored: readonly (readonly [string, Buffer])[],
    stagedEntries: readonly StagedEntry[],
  ): (readonly [string, Buffer])[] => {
    const out: (readonly [string, Buffer])[] = [];
    let i = 0;
    let j = 0;
    while (i < stored.length || j < stagedEntries.length) {
      const entry = stored[i];
      const hit = stagedEntries[j];
      const order = entry === undefined ? 1 : hit === undefined ? -1 : keyOrder(entry[0], hit[0]);
      if (order < 0 && entry !== undefined) {
        out.push(entry);
        i++;
        continue;
      }
      if (order === 0) i++;
      j++;
      if (hit !== undefined && hit[1] !== null) out.push([hit[0], hit[1]]);
    }
    return out;
  };

  return {
    async get(key) {
      const hit = staged.get(key);
      if (hit !== undefined) return hit.value ?? undefined;
      return base.get(key);
    },

    async getMany(keys) {
      if (staged.size === 0) return base.getMany(keys);
      const values: (Buffer | undefined)[] = [];
      const missing: string[] = [];
      const missingAt: number[] = [];
      keys.forEach((key, i) => {
        const hit = staged.get(key);
        if (hit !== undefined) values[i] = hit.value ?? undefined;
        else {
          missing.push(key);
          missingAt.push(i);
        }
      });
      values.length = keys.length;
      if (missing.length === 0) return values;
      const stored = await base.getMany(missing);
      missingAt.forEach((at, i) => {
        values[at] = stored[i];
      });
      return values;
    },

    write: (operations) => base.write(operations),

    async *entries(prefix) {
      if (staged.size === 0) {
        yield* base.entries(prefix);
        return;
      }
      const hits = stagedWhere((key) => key.startsWith(prefix));
      const stored: (readonly [string, Buffer])[] = [];
      for await (const entry of base.entries(prefix)) stored.push(entry);
      yield* merge(stored, hits);
    },

    async range(gte, lt, limit) {
      if (staged.size === 0) return base.range(gte, lt, limit);
      if (limit <= 0) return [];
      // Every key in [gte, lt) starts with what the two bounds have in common: a cheap first cut.
      let common = 0;
      while (common < gte.length && gte.charCodeAt(common) === lt.charCodeAt(common)) common++;
      const shared = gte.slice(0, common);
      const hits = stagedWhere(
        (key) => key.startsWith(shared) && keyOrder(key, gte) >= 0 && keyOrder(key, lt) < 0,
      );
      // Each staged key hides at most one stored entry: limit + hits.length stored entries hold
      // every stored entry among the first `limit` of the merge.
      const stored = await base.range(gte, lt, limit + hits.length);
      return merge(stored, hits).slice(0, limit);
    },

    close: () => base.close(),

    stage(operations) {
      const stage = ++lastStage;
      const keys: string[] = [];
      for (const op of operations) {
        staged.set(op.key, { value: op.type === 'put' ? asBuffer(op.value) : null, stage });
        keys.push(op.key);
      }
      keysOfStage.set(stage, keys);
      return stage;
    },

    settle(stage) {
      const keys = keysOfStage.get(stage);
      if (keys === undefined) return;
      keysOfStage.delete(stage);
      for (const key of keys) if (staged.get(key)?.stage === stage) staged.delete(key);
    },

    discard() {
      staged.clear();
      keysOfStage.clear();
    },

    get stagedKeys() {
      return staged.size;
    },
  };
}
