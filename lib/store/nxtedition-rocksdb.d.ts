// @nxtedition/rocksdb ships no type declarations; rocksdb-store.ts narrows it to the methods it uses.
declare module '@nxtedition/rocksdb' {
  export const RocksLevel: new (location: string, options?: Record<string, unknown>) => object;
}
