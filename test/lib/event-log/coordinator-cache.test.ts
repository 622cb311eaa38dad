import { describe, expect, it } from 'vitest';
import {
  CACHED,
  cacheCoordinatorLookups,
  type CoordinatorLookupOwner,
} from '../../../lib/event-log/coordinator-cache.ts';

/** A stand-in for kafkajs's Cluster prototype that counts its round trips. */
function fakeCluster(answers: (query: { groupId: string }) => Promise<unknown>) {
  const calls: string[] = [];
  const owner: CoordinatorLookupOwner = {
    findGroupCoordinatorMetadata(query) {
      calls.push(`${query.coordinatorType ?? 0}:${query.groupId}`);
      return answers(query);
    },
  };
  return { owner, calls };
}

describe('cacheCoordinatorLookups', () => {
  it('answers repeated lookups of one client from the cache until the time to live passes', async () => {
    let clock = 0;
    const { owner, calls } = fakeCluster((q) => Promise.resolve({ coordinator: q.groupId }));
    cacheCoordinatorLookups(owner, () => clock, 1_000);
    const client = Object.create(owner) as CoordinatorLookupOwner;
    const find = (groupId: string, coordinatorType: number) =>
      client.findGroupCoordinatorMetadata({ groupId, coordinatorType });

    expect(await find('tx-1', 1)).toEqual({ coordinator: 'tx-1' });
    await find('tx-1', 1);
    await find('group-a', 0);
    await find('group-a', 0);
    expect(calls).toEqual(['1:tx-1', '0:group-a']);
    clock = 999;
    await find('tx-1', 1);
    expect(calls).toHaveLength(2);
    clock = 1_000;
    await find('tx-1', 1);
    expect(calls).toEqual(['1:tx-1', '0:group-a', '1:tx-1']);
  });

  it('keeps clients apart, shares a lookup in flight, and forgets a failed one at once', async () => {
    let fail = true;
    const { owner, calls } = fakeCluster((q) =>
      fail ? Promise.reject(new Error('coordinator not available')) : Promise.resolve(q.groupId),
    );
    cacheCoordinatorLookups(owner, () => 0, 1_000);
    cacheCoordinatorLookups(owner, () => 0, 1_000); // a second call changes nothing
    const a = Object.create(owner) as CoordinatorLookupOwner;
    const b = Object.create(owner) as CoordinatorLookupOwner;

    const first = a.findGroupCoordinatorMetadata({ groupId: 'g' });
    const second = a.findGroupCoordinatorMetadata({ groupId: 'g' });
    expect(second).toBe(first);
    await expect(first).rejects.toThrow('coordinator not available');
    fail = false;
    expect(await a.findGroupCoordinatorMetadata({ groupId: 'g' })).toBe('g');
    expect(await b.findGroupCoordinatorMetadata({ groupId: 'g' })).toBe('g');
    expect(calls).toEqual(['0:g', '0:g', '0:g']);
  });
});

describe("kafkajs's own Cluster", () => {
  it('has the lookup the cache wraps, and every event log applies the cache', async () => {
    const { createRequire } = await import('node:module');
    const require = createRequire(import.meta.url);
    const cluster = require('kafkajs/src/cluster/index.js') as {
      prototype: CoordinatorLookupOwner;
    };
    expect(typeof cluster.prototype.findGroupCoordinatorMetadata).toBe('function');
    const { KafkaEventLog } = await import('../../../lib/event-log/kafka-event-log.ts');
    new KafkaEventLog({ brokers: ['127.0.0.1:1'], clientId: 'no-connection' });
    const wrapped = cluster.prototype.findGroupCoordinatorMetadata;
    expect(wrapped[CACHED]).toBe(true);
    new KafkaEventLog({ brokers: ['127.0.0.1:1'], clientId: 'no-connection' });
    expect(cluster.prototype.findGroupCoordinatorMetadata).toBe(wrapped);
  });
});
