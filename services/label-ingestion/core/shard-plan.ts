// Which Kinesis shards an instance reads now. A shard that was split or merged is closed: its
// records up to its ending sequence number stay readable, and its children hold what came after.
// Records of one partition key keep their order only if a parent is drained before its children
// are read, so a child waits until every parent that still exists has an `ended` checkpoint. A
// parent no longer listed (beyond the stream's retention) has nothing left to read.

export interface ShardInfo {
  readonly shardId: string;
  /** ParentShardId and AdjacentParentShardId (a merge has two parents). */
  readonly parents: readonly string[];
}

/** The position of label ingestion in one shard, stored in the checkpoints topic. */
export interface ShardCheckpoint {
  /** The last sequence number whose labels are committed; null: none yet (start at the oldest). */
  readonly sequenceNumber: string | null;
  /** The shard is closed and read to its end. */
  readonly ended: boolean;
}

/**
 * The shards to start reading: owned, not yet ended, not already being read, and whose listed
 * parents have all ended.
 */
export function shardsToRead(
  shards: readonly ShardInfo[],
  checkpoints: ReadonlyMap<string, ShardCheckpoint>,
  owns: (shardId: string) => boolean,
  reading: ReadonlySet<string>,
): string[] {
  const listed = new Set(shards.map((shard) => shard.shardId));
  return shards
    .filter(
      (shard) =>
        owns(shard.shardId) &&
        !reading.has(shard.shardId) &&
        checkpoints.get(shard.shardId)?.ended !== true &&
        shard.parents.every(
          (parent) => !listed.has(parent) || checkpoints.get(parent)?.ended === true,
        ),
    )
    .map((shard) => shard.shardId);
}

/** Parents that hold back a child this instance owns (their checkpoints are worth re-reading). */
export function blockingParents(
  shards: readonly ShardInfo[],
  checkpoints: ReadonlyMap<string, ShardCheckpoint>,
  owns: (shardId: string) => boolean,
): string[] {
  const listed = new Set(shards.map((shard) => shard.shardId));
  const blocking = new Set<string>();
  for (const shard of shards) {
    if (!owns(shard.shardId) || checkpoints.get(shard.shardId)?.ended === true) continue;
    for (const parent of shard.parents) {
      if (listed.has(parent) && checkpoints.get(parent)?.ended !== true) blocking.add(parent);
    }
  }
  return [...blocking];
}

/** Exponential backoff after throttling or a failed call: 100 ms doubling up to `maxMs`. */
export function nextBackoff(previousMs: number, maxMs: number): number {
  return Math.min(maxMs, previousMs <= 0 ? 100 : previousMs * 2);
}
