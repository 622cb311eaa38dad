// kafkajs looks up a coordinator with a FindCoordinator round trip every time it needs one, and a
// transactional producer needs one four times per transaction (adding partitions, adding the
// offsets, committing them to the group, ending the transaction): four of its nine round trips.
// This keeps each answer for a moment, per client, so back-to-back transactions pay for the
// lookups once a second rather than four times each. A lookup that fails is forgotten at once,
// and a coordinator that moved is looked up again within COORDINATOR_TTL_MS: kafkajs retries a
// NOT_COORDINATOR answer with backoff for longer than that.
import { createRequire } from 'node:module';

/** How long a coordinator lookup is reused. */
export const COORDINATOR_TTL_MS = 1_000;

interface CoordinatorQuery {
  readonly groupId: string;
  readonly coordinatorType?: number;
}

type Lookup = ((this: object, query: CoordinatorQuery) => Promise<unknown>) & {
  [CACHED]?: true;
};

export interface CoordinatorLookupOwner {
  findGroupCoordinatorMetadata: Lookup;
}

/** Marks a wrapped lookup; global, so that a module loaded twice still wraps only once. */
export const CACHED = Symbol.for('dynab.cachedCoordinatorLookup');

/**
 * Replaces `owner.findGroupCoordinatorMetadata` (kafkajs's Cluster prototype) with one that
 * shares each answer per client instance and query for `ttlMs`, including lookups in flight.
 * Idempotent per owner.
 */
export function cacheCoordinatorLookups(
  owner: CoordinatorLookupOwner,
  now: () => number = Date.now,
  ttlMs: number = COORDINATOR_TTL_MS,
): void {
  const lookUp = owner.findGroupCoordinatorMetadata;
  if (lookUp[CACHED] === true) return;
  const caches = new WeakMap<object, Map<string, { at: number; answer: Promise<unknown> }>>();
  const cached: Lookup = function (this: object, query: CoordinatorQuery) {
    let cache = caches.get(this);
    if (cache === undefined) {
      cache = new Map();
      caches.set(this, cache);
    }
    const key = `${query.coordinatorType ?? 0}\u0000${query.groupId}`;
    const hit = cache.get(key);
    if (hit !== undefined && now() - hit.at < ttlMs) return hit.answer;
    const answer = lookUp.call(this, query);
    const entry = { at: now(), answer };
    cache.set(key, entry);
    const forget = cache;
    answer.catch(() => {
      if (forget.get(key) === entry) forget.delete(key);
    });
    return answer;
  };
  cached[CACHED] = true;
  owner.findGroupCoordinatorMetadata = cached;
}

/** Applies the cache to every kafkajs client of this process (once). */
export function cacheKafkajsCoordinatorLookups(): void {
  const require = createRequire(import.meta.url);
  const cluster = require('kafkajs/src/cluster/index.js') as { prototype: CoordinatorLookupOwner };
  cacheCoordinatorLookups(cluster.prototype);
}
