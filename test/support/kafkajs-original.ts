// kafkajs's own version of a module the event-log adapter replaces (lib/event-log/kafkajs-modules.ts),
// loaded afresh beside the replacement, so tests can compare the two on the same input.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function loadKafkajsOriginal(id: string): unknown {
  const path = require.resolve(id);
  const cache = require.cache;
  const installed = cache[path];
  Reflect.deleteProperty(cache, path);
  try {
    return require(path) as unknown;
  } finally {
    if (installed !== undefined) cache[path] = installed;
  }
}
