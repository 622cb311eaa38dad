// RocksDB adapter for the key-value store port (the only folder that imports @nxtedition/rocksdb).
import { RocksLevel } from '@nxtedition/rocksdb';
import { DynabError } from '../errors/catalogue.ts';
import type { KeyValueStore, StoreOperation } from './key-value-store.ts';
import {
  DEFAULT_ROCKSDB_MEMORY,
  MAX_BLOCK_CACHE_BYTES,
  MIN_MEMTABLE_BUDGET_BYTES,
  type RocksDbMemoryOptions,
} from './rocksdb-memory.ts';

interface ChainedBatch {
  put(key: string, value: Buffer): void;
  del(key: string): void;
  write(): Promise<void>;
  close(): Promise<void>;
}

interface Level {
  open(): Promise<void>;
  close(): Promise<void>;
  getMany(keys: string[], options: { valueEncoding: 'buffer' }): Promise<(Buffer | undefined)[]>;
  batch(): ChainedBatch;
  iterator(options: {
    gte: string;
    lt?: string;
    keyEncoding: 'utf8';
    valueEncoding: 'buffer';
  }): AsyncIterable<[string, Buffer]> & {
    close(): Promise<void>;
  };
}

class RocksDbStore implements KeyValueStore {
  constructor(private readonly db: Level) {}

  async get(key: string): Promise<Buffer | undefined> {
    const [value] = await this.getMany([key]);
    return value;
  }

  async getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    if (keys.length === 0) return [];
    try {
      return await this.db.getMany([...keys], { valueEncoding: 'buffer' });
    } catch (error) {
      throw new DynabError('STORE_FAILURE', 'RocksDB read failed', { cause: error });
    }
  }

  async write(operations: readonly StoreOperation[]): Promise<void> {
    if (operations.length === 0) return;
    // The chained form, never `db.batch(array)`: in @nxtedition/rocksdb 12.2 the array form builds
    // a chained batch that it never closes, so the database keeps every written batch (and the
    // native buffer holding all its keys and values) reachable until it is closed. That held about
    // as much native memory as was ever written: the RSS growth of ~0.6 KiB per join that
    // BENCHMARKS.md measured. write() closes the batch, and the collector can then free it.
    const batch = this.db.batch();
    try {
      for (const op of operations) {
        if (op.type === 'put') {
          batch.put(op.key, Buffer.from(op.value.buffer, op.value.byteOffset, op.value.byteLength));
        } else {
          batch.del(op.key);
        }
      }
      await batch.write();
    } catch (error) {
      await batch.close().catch(() => undefined);
      throw new DynabError('STORE_FAILURE', 'RocksDB batch write failed', { cause: error });
    }
  }

  async range(gte: string, lt: string, limit: number): Promise<(readonly [string, Buffer])[]> {
    const out: (readonly [string, Buffer])[] = [];
    if (limit <= 0 || gte >= lt) return out;
    const iterator = this.db.iterator({ gte, lt, keyEncoding: 'utf8', valueEncoding: 'buffer' });
    try {
      for await (const entry of iterator) {
        out.push(entry);
        if (out.length >= limit) break;
      }
    } catch (error) {
      throw new DynabError('STORE_FAILURE', 'RocksDB range read failed', { cause: error });
    } finally {
      await iterator.close();
    }
    return out;
  }

  async *entries(prefix: string): AsyncIterable<readonly [string, Buffer]> {
    // No upper bound: `prefix + '\uffff'` would stop before keys that continue the prefix with a
    // character beyond U+FFFF (4 UTF-8 bytes from 0xF0, above U+FFFF's 0xEF 0xBF 0xBF). The keys
    // with the prefix are contiguous in byte order: the first without it ends them.
    const iterator = this.db.iterator({
      gte: prefix,
      keyEncoding: 'utf8',
      valueEncoding: 'buffer',
    });
    try {
      for await (const entry of iterator) {
        if (!entry[0].startsWith(prefix)) break;
        yield entry;
      }
    } finally {
      await iterator.close();
    }
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

/**
 * Opens (creating if needed) a RocksDB database in `location`, its memory bounded by `memory`:
 * block cache, memtables and (in the cache) index and filter blocks. See rocksdb-memory.ts.
 */
export async function openRocksDbStore(
  location: string,
  memory: RocksDbMemoryOptions = DEFAULT_ROCKSDB_MEMORY,
): Promise<KeyValueStore> {
  const { blockCacheBytes, memtableBudgetBytes, indexAndFilterInCache } = memory;
  if (
    !Number.isInteger(blockCacheBytes) ||
    blockCacheBytes < 1 ||
    blockCacheBytes > MAX_BLOCK_CACHE_BYTES
  )
    throw new DynabError(
      'CONFIG_INVALID',
      `RocksDB block cache must be 1 to ${MAX_BLOCK_CACHE_BYTES} bytes, got ${blockCacheBytes}`,
    );
  if (!Number.isSafeInteger(memtableBudgetBytes) || memtableBudgetBytes < MIN_MEMTABLE_BUDGET_BYTES)
    throw new DynabError(
      'CONFIG_INVALID',
      `RocksDB memtable budget must be at least ${MIN_MEMTABLE_BUDGET_BYTES} bytes, got ${memtableBudgetBytes}`,
    );
  const db = new RocksLevel(location, {
    keyEncoding: 'utf8',
    valueEncoding: 'buffer',
    // Without `compaction` the binding ignores the memtable budget and keeps RocksDB's own
    // defaults (64 MiB write buffers); 'level' applies the budget through the level-style preset.
    compaction: 'level',
    memtableMemoryBudget: memtableBudgetBytes,
    cacheSize: blockCacheBytes,
    cacheIndexAndFilterBlocks: indexAndFilterInCache,
  }) as unknown as Level;
  try {
    await db.open();
  } catch (error) {
    throw new DynabError('STORE_FAILURE', `cannot open RocksDB at ${location}`, { cause: error });
  }
  return new RocksDbStore(db);
}
