// The memory bounds of a RocksDB store, kept apart from the adapter so that config can name them
// without loading the native binding. What each bound caps, with the binding @nxtedition/rocksdb
// 12.2 (RocksDB 9.7), and why these are the knobs that matter, is measured in BENCHMARKS.md
// ("State store memory").

export interface RocksDbMemoryOptions {
  /**
   * Capacity of the block cache (data blocks, and index and filter blocks when
   * `indexAndFilterInCache`). The binding takes a 32-bit size, so at most 4 GiB − 1. With index
   * and filter blocks in it, it must hold them (about 6 MB per million pending joins) with room
   * for data blocks, or random reads slow down by an order of magnitude.
   */
  readonly blockCacheBytes: number;
  /**
   * Memtable budget of RocksDB's level-style preset (`OptimizeLevelStyleCompaction`): write
   * buffers of a quarter of it, flushed two at a time, at most six in memory (1.5 × the budget,
   * only while flushes fall behind writes); level 1 holds about one budget of data and files are an
   * eighth of it. Levels 0 and 1 are stored uncompressed, deeper levels with ZSTD.
   */
  readonly memtableBudgetBytes: number;
  /**
   * Index and filter blocks live in the block cache (bounded, evictable) instead of being held for
   * every open table file, where they grow with the data: about 6 MB per million pending joins.
   */
  readonly indexAndFilterInCache: boolean;
}

/** The largest block cache the binding accepts (its size argument is a uint32). */
export const MAX_BLOCK_CACHE_BYTES = 2 ** 32 - 1;
/** Smaller memtable budgets make write buffers of under 1 MiB: many tiny files, constant flushing. */
export const MIN_MEMTABLE_BUDGET_BYTES = 4 * 2 ** 20;

export const DEFAULT_ROCKSDB_MEMORY: RocksDbMemoryOptions = Object.freeze({
  blockCacheBytes: 128 * 2 ** 20,
  memtableBudgetBytes: 64 * 2 ** 20,
  indexAndFilterInCache: true,
});
