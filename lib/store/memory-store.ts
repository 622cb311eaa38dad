// An in-memory key-value store: the port's semantics (bytewise key order, atomic batches) without
// a disk. For processors run without RocksDB: unit tests, and tools that rebuild state in memory.
import type { KeyValueStore, StoreOperation } from './key-value-store.ts';

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

export class MemoryStore implements KeyValueStore {
  private readonly rows = new Map<string, Buffer>();

  get(key: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.rows.get(key));
  }

  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]> {
    return Promise.resolve(keys.map((key) => this.rows.get(key)));
  }

  write(operations: readonly StoreOperation[]): Promise<void> {
    for (const op of operations) {
      if (op.type === 'put') this.rows.set(op.key, Buffer.from(op.value));
      else this.rows.delete(op.key);
    }
    return Promise.resolve();
  }

  // eslint-disable-next-line @typescript-eslint/require-await
  async *entries(prefix: string): AsyncIterable<readonly [string, Buffer]> {
    const keys = [...this.rows.keys()].filter((k) => k.startsWith(prefix)).sort(byteOrder);
    for (const key of keys) {
      const value = this.rows.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  range(gte: string, lt: string, limit: number): Promise<(readonly [string, Buffer])[]> {
    const keys = [...this.rows.keys()]
      .filter((k) => byteOrder(k, gte) >= 0 && byteOrder(k, lt) < 0)
      .sort(byteOrder)
      .slice(0, Math.max(0, limit));
    return Promise.resolve(
      keys.map((key) => [key, this.rows.get(key) ?? Buffer.alloc(0)] as const),
    );
  }

  /** Every entry, in key order (for comparing two states). */
  dump(): [string, string][] {
    return [...this.rows.keys()]
      .sort(byteOrder)
      .map((key) => [key, (this.rows.get(key) ?? Buffer.alloc(0)).toString('base64')]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
