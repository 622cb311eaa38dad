// The key-value store port used for local state (pending joins, counts, consumed offsets).
// Keys are UTF-8 strings, ordered bytewise; values are bytes. A batch is applied atomically:
// that atomicity is what lets state changes and consumed offsets be committed together.

export type StoreOperation =
  | { readonly type: 'put'; readonly key: string; readonly value: Uint8Array }
  | { readonly type: 'del'; readonly key: string };

export interface KeyValueStore {
  get(key: string): Promise<Buffer | undefined>;
  getMany(keys: readonly string[]): Promise<(Buffer | undefined)[]>;
  /** Applies every operation or none. */
  write(operations: readonly StoreOperation[]): Promise<void>;
  /** Entries whose keys start with `prefix`, in key order. */
  entries(prefix: string): AsyncIterable<readonly [string, Buffer]>;
  /** Up to `limit` entries with keys in [gte, lt), in key order. */
  range(gte: string, lt: string, limit: number): Promise<(readonly [string, Buffer])[]>;
  close(): Promise<void>;
}
