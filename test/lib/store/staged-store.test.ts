import { describe, expect, it } from 'vitest';
import type { KeyValueStore, StoreOperation } from '../../../lib/store/key-value-store.ts';
import { MemoryStore } from '../../../lib/store/memory-store.ts';
import { createStagedStore, keyOrder } from '../../../lib/store/staged-store.ts';
import { seededRandom } from '../codec/helpers.ts';

const put = (key: string, value: string): StoreOperation => ({
  type: 'put',
  key,
  value: Buffer.from(value),
});
const del = (key: string): StoreOperation => ({ type: 'del', key });

const text = (entries: readonly (readonly [string, Buffer])[]): [string, string][] =>
  entries.map(([key, value]) => [key, value.toString()]);

async function all(store: KeyValueStore, prefix: string): Promise<[string, string][]> {
  const out: (readonly [string, Buffer])[] = [];
  for await (const entry of store.entries(prefix)) out.push(entry);
  return text(out);
}

describe('staged store', () => {
  it('reads staged values over stored ones, a staged deletion hiding the stored value', async () => {
    const base = new MemoryStore();
    await base.write([put('a', '1'), put('b', '1'), put('c', '1')]);
    const store = createStagedStore(base);
    store.stage([put('a', '2'), del('b'), put('d', '2')]);
    expect((await store.get('a'))?.toString()).toBe('2');
    expect(await store.get('b')).toBeUndefined();
    expect((await store.get('c'))?.toString()).toBe('1');
    expect((await store.getMany(['d', 'b', 'c', 'x', 'a'])).map((v) => v?.toString())).toEqual([
      '2',
      undefined,
      '1',
      undefined,
      '2',
    ]);
    expect(await all(store, '')).toEqual([
      ['a', '2'],
      ['c', '1'],
      ['d', '2'],
    ]);
    // The store below holds committed state only.
    expect((await base.get('a'))?.toString()).toBe('1');
  });

  it('settles a stage without dropping a later stage of the same key, and discards all', async () => {
    const base = new MemoryStore();
    const store = createStagedStore(base);
    const first = store.stage([put('k', 'first'), put('j', 'first')]);
    const second = store.stage([put('k', 'second')]);
    await base.write([put('k', 'first'), put('j', 'first')]);
    store.settle(first);
    expect((await store.get('k'))?.toString()).toBe('second');
    expect((await store.get('j'))?.toString()).toBe('first');
    expect(store.stagedKeys).toBe(1);
    store.settle(second);
    expect((await store.get('k'))?.toString()).toBe('first');
    store.stage([del('j'), put('n', 'x')]);
    store.discard();
    expect(store.stagedKeys).toBe(0);
    expect(await all(store, '')).toEqual([
      ['j', 'first'],
      ['k', 'first'],
    ]);
  });

  it('reads right when a stage settles while the store below is read', async () => {
    const base = new MemoryStore();
    await base.write([put('b', 'stored'), put('w/1', 'stored')]);
    let during: (() => Promise<void>) | null = null;
    /** The store below, running `during` (once) inside its next read. */
    const slow: KeyValueStore = {
      get: (key) => base.get(key),
      async getMany(keys) {
        const values = await base.getMany(keys);
        const hook = during;
        during = null;
        await hook?.();
        return values;
      },
      write: (operations) => base.write(operations),
      entries: (prefix) => base.entries(prefix),
      async range(gte, lt, limit) {
        const entries = await base.range(gte, lt, limit);
        const hook = during;
        during = null;
        await hook?.();
        return entries;
      },
      close: () => base.close(),
    };
    const store = createStagedStore(slow);
    const committed = [put('a', 'new'), put('w/2', 'new')];
    const settleDuringRead = (stage: number) => async (): Promise<void> => {
      await base.write(committed);
      store.settle(stage);
    };
    during = settleDuringRead(store.stage(committed));
    expect((await store.getMany(['a', 'b'])).map((v) => v?.toString())).toEqual(['new', 'stored']);
    await base.write([del('a'), del('w/2')]);
    during = settleDuringRead(store.stage(committed));
    expect(text(await store.range('w/', 'w/9', 10))).toEqual([
      ['w/1', 'stored'],
      ['w/2', 'new'],
    ]);
  });

  it('ranges over stored and staged keys alike, a full limit despite staged deletions', async () => {
    const base = new MemoryStore();
    await base.write(['w/1', 'w/2', 'w/3', 'w/4', 'w/5'].map((k) => put(k, 'stored')));
    const store = createStagedStore(base);
    store.stage([del('w/1'), del('w/2'), put('w/25', 'staged'), del('w/3')]);
    expect(text(await store.range('w/', 'w/9', 2))).toEqual([
      ['w/25', 'staged'],
      ['w/4', 'stored'],
    ]);
    expect(text(await store.range('w/3', 'w/5', 10))).toEqual([['w/4', 'stored']]);
    expect(await store.range('w/', 'w/9', 0)).toEqual([]);
  });

  it('orders keys as their UTF-8 bytes, surrogate pairs and U+E000 to U+FFFF included', () => {
    const next = seededRandom(7);
    const units = [0x41, 0x7a, 0xe9, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff];
    const key = (): string => {
      let out = '';
      const length = Math.floor(next() * 4);
      for (let i = 0; i < length; i++) {
        if (next() < 0.25) out += String.fromCodePoint(0x10000 + Math.floor(next() * 0xfffff));
        else out += String.fromCharCode(units[Math.floor(next() * units.length)] ?? 0x41);
      }
      return out;
    };
    for (let i = 0; i < 5_000; i++) {
      const a = key();
      const b = key();
      expect(Math.sign(keyOrder(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(
        Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b))),
      );
    }
  });

  it('reads like a store with every staged operation applied, in random histories', async () => {
    const next = seededRandom(11);
    const keys = ['p/a', 'p/b', 'p/é', 'p/\u{1f600}', 'p/\ue000', 'p/c/1', 'q/a', 'p'];
    const pick = (): string => keys[Math.floor(next() * keys.length)] ?? 'p/a';
    for (let round = 0; round < 40; round++) {
      const base = new MemoryStore();
      const model = new MemoryStore();
      const initial = Array.from({ length: 5 }, () => put(pick(), `b${round}`));
      await base.write(initial);
      await model.write(initial);
      const store = createStagedStore(base);
      for (let s = 0; s < 3; s++) {
        const ops = Array.from({ length: 4 }, (_, i) =>
          next() < 0.4 ? del(pick()) : put(pick(), `s${s}.${i}`),
        );
        store.stage(ops);
        await model.write(ops);
      }
      for (const prefix of ['', 'p/', 'p', 'q/']) {
        expect(await all(store, prefix)).toEqual(await all(model, prefix));
      }
      for (const limit of [1, 2, 3, 10]) {
        expect(text(await store.range('p/', 'p/z', limit))).toEqual(
          text(await model.range('p/', 'p/z', limit)),
        );
      }
      const wanted = [...keys, 'none'];
      expect(await store.getMany(wanted)).toEqual(await model.getMany(wanted));
    }
  });
});
