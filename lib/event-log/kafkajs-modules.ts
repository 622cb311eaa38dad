// Replacing one of kafkajs's internal modules: the adapter's faster versions of its per-message
// grouping, Produce request encoder and fetched-record decoder are put in Node's module cache
// under the module's own path before the kafkajs module that requires it is loaded, so kafkajs
// picks them up where it would have loaded its own. If kafkajs was loaded first, its own stay
// (slower, same results).
import { createRequire, Module } from 'node:module';

const require = createRequire(import.meta.url);
const replaced = new WeakSet<object>();

/** A kafkajs module (`kafkajs/src/...`) as kafkajs itself loads it. */
export function requireKafkajs(id: string): unknown {
  return require(id);
}

/**
 * Puts `build`'s result in place of kafkajs module `id`, unless `loadedBy` (the kafkajs module
 * that requires `id` when it loads) is loaded already. `build` may load kafkajs's own module to
 * wrap it. True when the replacement is (or already was) in place.
 */
export function replaceKafkajsModule(
  id: string,
  loadedBy: string,
  build: (original: () => unknown) => object,
): boolean {
  let path: string;
  let userPath: string;
  try {
    path = require.resolve(id);
    userPath = require.resolve(loadedBy);
  } catch {
    return false;
  }
  const cached = require.cache[path];
  if (cached !== undefined && replaced.has(cached.exports as object)) return true;
  if (require.cache[userPath] !== undefined) return false;
  const exports = build(() => require(path));
  const replacement = new Module(path);
  replacement.filename = path;
  replacement.loaded = true;
  replacement.exports = exports;
  require.cache[path] = replacement;
  replaced.add(exports);
  return true;
}
