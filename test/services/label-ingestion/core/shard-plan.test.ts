import { describe, expect, it } from 'vitest';
import {
  blockingParents,
  nextBackoff,
  shardsToRead,
  type ShardCheckpoint,
  type ShardInfo,
} from '../../../../services/label-ingestion/core/shard-plan.ts';

const shards: ShardInfo[] = [
  { shardId: 's0', parents: [] },
  { shardId: 's1', parents: [] },
  { shardId: 's2', parents: ['s0'] },
  { shardId: 's3', parents: ['s0'] },
  { shardId: 's4', parents: ['s1', 's3'] },
];
const all = () => true;
const checkpoints = (entries: Record<string, ShardCheckpoint>) => new Map(Object.entries(entries));
const ended: ShardCheckpoint = { sequenceNumber: '9', ended: true };

describe('shardsToRead', () => {
  it('reads children only after every listed parent ended', () => {
    expect(shardsToRead(shards, new Map(), all, new Set())).toEqual(['s0', 's1']);
    expect(shardsToRead(shards, checkpoints({ s0: ended }), all, new Set())).toEqual([
      's1',
      's2',
      's3',
    ]);
    // A merge child waits for both parents.
    expect(shardsToRead(shards, checkpoints({ s0: ended, s1: ended }), all, new Set())).toEqual([
      's2',
      's3',
    ]);
    expect(
      shardsToRead(shards, checkpoints({ s0: ended, s1: ended, s3: ended }), all, new Set()),
    ).toEqual(['s2', 's4']);
  });

  it('treats a parent that is no longer listed as drained', () => {
    expect(shardsToRead(shards.slice(2, 4), new Map(), all, new Set())).toEqual(['s2', 's3']);
  });

  it('skips shards owned elsewhere, being read, or ended', () => {
    const owns = (id: string) => id !== 's1';
    expect(
      shardsToRead(
        shards,
        checkpoints({ s0: { sequenceNumber: '1', ended: false } }),
        owns,
        new Set(['s0']),
      ),
    ).toEqual([]);
    expect(shardsToRead(shards, checkpoints({ s0: ended }), owns, new Set(['s2']))).toEqual(['s3']);
  });
});

describe('blockingParents', () => {
  it('names the unfinished parents of owned children', () => {
    const owns = (id: string) => id === 's4';
    expect(blockingParents(shards, checkpoints({ s1: ended }), owns)).toEqual(['s3']);
    expect(blockingParents(shards, checkpoints({ s4: ended }), owns)).toEqual([]);
  });
});

describe('nextBackoff', () => {
  it('doubles from 100 ms up to the cap', () => {
    const steps: number[] = [];
    let backoff = 0;
    for (let i = 0; i < 10; i++) steps.push((backoff = nextBackoff(backoff, 10_000)));
    expect(steps).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]);
  });
});
