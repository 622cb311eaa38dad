import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';

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

  it('reports a store failure with a typed error', async () => {
    const dir = await freshDir();
    const first = await openRocksDbStore(dir);
    // RocksDB holds an exclusive lock on its folder: a second open must fail clearly.
    await expect(openRocksDbStore(dir)).rejects.toMatchObject({ code: 'STORE_FAILURE' });
    await first.close();
  });
});
