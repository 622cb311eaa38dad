import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreOperation } from '../../../lib/store/key-value-store.ts';
import {
  DEFAULT_ROCKSDB_MEMORY,
  MIN_MEMTABLE_BUDGET_BYTES,
} from '../../../lib/store/rocksdb-memory.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';

/** The options RocksDB itself recorded for the database (its latest OPTIONS-<n> file). */
async function recordedOptions(dir: string): Promise<string> {
  const files = (await readdir(dir)).filter((f) => /^OPTIONS-\d+$/.test(f));
  const latest = files.sort((a, b) => Number(a.slice(8)) - Number(b.slice(8))).pop();
  if (latest === undefined) throw new Error(`no OPTIONS file in ${dir}`);
  return readFile(join(dir, latest), 'utf8');
}

const dirs: string[] = [];
async function freshDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dynab-store-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe('RocksDB store', () => {
  it('writes batches atomically and reads them back after reopening', async () => {
    const dir = await freshDir();
    const store = await openRocksDbStore(dir);
    await store.write([
      { type: 'put', key: 'a/1', value: Buffer.from('x') },
      { type: 'put', key: 'a/2', value: Buffer.from('y') },
      { type: 'put', key: 'b/1', value: Buffer.from('z') },
    ]);
    await store.write([{ type: 'del', key: 'a/1' }]);
    await store.close();

    const reopened = await openRocksDbStore(dir);
    expect(await reopened.get('a/1')).toBeUndefined();
    expect((await reopened.get('a/2'))?.toString()).toBe('y');
    expect((await reopened.getMany(['b/1', 'nope'])).map((v) => v?.toString())).toEqual([
      'z',
      undefined,
    ]);
    const listed: string[] = [];
    for await (const [key] of reopened.entries('a/')) listed.push(key);
    expect(listed).toEqual(['a/2']);
    await reopened.close();
  });

  it('lists every key with the prefix, characters beyond U+FFFF after it included', async () => {
    const store = await openRocksDbStore(await freshDir());
    // A request id may start with any character: U+1F600 is 0xF0… in UTF-8, above U+FFFF.
    const keys = ['j/1/a', 'j/1/\uffff', 'j/1/\u{1f600}', 'j/10', 'j/2/a'];
    await store.write(keys.map((key) => ({ type: 'put', key, value: Buffer.from('v') })));
    const listed: string[] = [];
    for await (const [key] of store.entries('j/1/')) listed.push(key);
    expect(listed).toEqual(['j/1/a', 'j/1/\uffff', 'j/1/\u{1f600}']);
    await store.close();
  });

  it('reports a store failure with a typed error', async () => {
    const dir = await freshDir();
    const first = await openRocksDbStore(dir);
    // RocksDB holds an exclusive lock on its folder: a second open must fail clearly.
    await expect(openRocksDbStore(dir)).rejects.toMatchObject({ code: 'STORE_FAILURE' });
    await first.close();
  });

  it('opens and works with small memory bounds, through flushes of its write buffers', async () => {
    const dir = await freshDir();
    const small = {
      blockCacheBytes: 1024 * 1024,
      memtableBudgetBytes: MIN_MEMTABLE_BUDGET_BYTES,
      indexAndFilterInCache: true,
    };
    const store = await openRocksDbStore(dir, small);
    // RocksDB records the options it runs with: write buffers are a quarter of the budget.
    const recorded = await recordedOptions(dir);
    expect(recorded).toMatch(/^\s*write_buffer_size=1048576$/m);
    expect(recorded).toMatch(/^\s*cache_index_and_filter_blocks=true$/m);
    // About 12 MB in 1 MiB write buffers: several flushes to table files, read back through the
    // 1 MiB cache that also holds the index and filter blocks.
    const value = (i: number): Buffer => Buffer.alloc(400, i % 251);
    for (let batch = 0; batch < 60; batch += 1) {
      const operations: StoreOperation[] = [];
      for (let i = batch * 500; i < (batch + 1) * 500; i += 1)
        operations.push({ type: 'put', key: `j/${String(i).padStart(6, '0')}`, value: value(i) });
      await store.write(operations);
    }
    await store.write([{ type: 'del', key: 'j/000007' }]);
    const keys = [0, 7, 12_345, 29_999, 30_000].map((i) => `j/${String(i).padStart(6, '0')}`);
    expect(await store.getMany(keys)).toEqual([
      value(0),
      undefined,
      value(12_345),
      value(29_999),
      undefined,
    ]);
    expect(await store.range('j/010000', 'j/010003', 10)).toEqual([
      ['j/010000', value(10_000)],
      ['j/010001', value(10_001)],
      ['j/010002', value(10_002)],
    ]);
    await store.close();

    const reopened = await openRocksDbStore(dir, { ...small, indexAndFilterInCache: false });
    expect(await recordedOptions(dir)).toMatch(/^\s*cache_index_and_filter_blocks=false$/m);
    expect(await reopened.get('j/029999')).toEqual(value(29_999));
    await reopened.close();
  });

  it('rejects memory bounds the binding cannot honour', async () => {
    const dir = await freshDir();
    for (const bad of [
      { ...DEFAULT_ROCKSDB_MEMORY, blockCacheBytes: 0 },
      { ...DEFAULT_ROCKSDB_MEMORY, blockCacheBytes: 2 ** 32 },
      { ...DEFAULT_ROCKSDB_MEMORY, memtableBudgetBytes: MIN_MEMTABLE_BUDGET_BYTES - 1 },
      { ...DEFAULT_ROCKSDB_MEMORY, memtableBudgetBytes: Number.NaN },
    ]) {
      await expect(openRocksDbStore(dir, bad)).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
    }
  });
});
