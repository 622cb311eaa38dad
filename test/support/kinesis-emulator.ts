// A Kinesis emulator (kinesalite, in memory) on 127.0.0.1 with a free port, started by the test
// that needs it and closed when that test ends, with an admin client for streams and records.
import type { AddressInfo } from 'node:net';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  KinesisClient,
  ListShardsCommand,
  MergeShardsCommand,
  PutRecordsCommand,
  SplitShardCommand,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import kinesalite from 'kinesalite';
import { onTestFinished } from 'vitest';
import { waitFor } from './kafka-test-kit.ts';

export const EMULATOR_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' };

export interface KinesisEmulator {
  readonly endpoint: string;
  readonly client: KinesisClient;
  createStream(name: string, shards: number): Promise<void>;
  /** Puts the records (data, partition key) in order, one call per 500. */
  put(stream: string, records: readonly { data: string | Buffer; key: string }[]): Promise<void>;
  /** Splits a shard at the middle of its hash key range; waits until the stream is active. */
  split(stream: string, shardId: string): Promise<void>;
  merge(stream: string, shardId: string, adjacentShardId: string): Promise<void>;
  /** Open shards, in the order of their hash key ranges (neighbours are adjacent). */
  openShards(stream: string): Promise<string[]>;
}

export async function startKinesisEmulator(): Promise<KinesisEmulator> {
  const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new KinesisClient({
    region: 'us-east-1',
    endpoint,
    credentials: EMULATOR_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
  });
  onTestFinished(async () => {
    client.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const active = (stream: string) =>
    waitFor(`stream ${stream} active`, async () => {
      const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      return summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE' ? true : undefined;
    });
  const shardsOf = async (stream: string) =>
    (await client.send(new ListShardsCommand({ StreamName: stream }))).Shards ?? [];
  return {
    endpoint,
    client,
    async createStream(name, shards) {
      await client.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
      await active(name);
    },
    async put(stream, records) {
      for (let i = 0; i < records.length; i += 500) {
        const answer = await client.send(
          new PutRecordsCommand({
            StreamName: stream,
            Records: records.slice(i, i + 500).map((record) => ({
              Data: typeof record.data === 'string' ? Buffer.from(record.data) : record.data,
              PartitionKey: record.key,
            })),
          }),
        );
        if ((answer.FailedRecordCount ?? 0) > 0) throw new Error('PutRecords failed');
      }
    },
    async split(stream, shardId) {
      const shard = (await shardsOf(stream)).find((s) => s.ShardId === shardId);
      const range = shard?.HashKeyRange;
      if (range?.StartingHashKey === undefined || range.EndingHashKey === undefined) {
        throw new Error(`no shard ${shardId}`);
      }
      const middle = (BigInt(range.StartingHashKey) + BigInt(range.EndingHashKey)) / 2n;
      await client.send(
        new SplitShardCommand({
          StreamName: stream,
          ShardToSplit: shardId,
          NewStartingHashKey: middle.toString(),
        }),
      );
      await active(stream);
    },
    async merge(stream, shardId, adjacentShardId) {
      await client.send(
        new MergeShardsCommand({
          StreamName: stream,
          ShardToMerge: shardId,
          AdjacentShardToMerge: adjacentShardId,
        }),
      );
      await active(stream);
    },
    async openShards(stream) {
      return (await shardsOf(stream))
        .filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined)
        .sort((x, y) =>
          BigInt(x.HashKeyRange?.StartingHashKey ?? 0) <
          BigInt(y.HashKeyRange?.StartingHashKey ?? 0)
            ? -1
            : 1,
        )
        .map((s) => s.ShardId ?? '');
    },
  };
}
