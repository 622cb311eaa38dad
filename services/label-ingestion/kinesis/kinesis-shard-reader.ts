// The ShardReader port on the AWS SDK v3 Kinesis client. Emulators (kinesalite) need the plain
// Node HTTP handler; real AWS takes region and credentials from the usual provider chain.
import {
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  KinesisClient,
  KMSThrottlingException,
  LimitExceededException,
  ListShardsCommand,
  ProvisionedThroughputExceededException,
  type Shard,
} from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { ShardInfo } from '../core/shard-plan.ts';
import { ShardReadError, type ShardBatch, type ShardReader } from './shard-reader.ts';

export interface KinesisClientOptions {
  readonly region: string;
  /** An emulator's URL; unset means AWS. */
  readonly endpoint?: string;
  /** Static credentials (emulators accept any); unset means the default provider chain. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export function createKinesisClient(options: KinesisClientOptions): KinesisClient {
  return new KinesisClient({
    region: options.region,
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    requestHandler: new NodeHttpHandler({ requestTimeout: 30_000 }),
    // The source retries with its own backoff and knows which failures are worth it.
    maxAttempts: 1,
  });
}

function translate(error: unknown): unknown {
  if (error instanceof ExpiredIteratorException) {
    return new ShardReadError('expired-iterator', error.message, { cause: error });
  }
  if (
    error instanceof ProvisionedThroughputExceededException ||
    error instanceof LimitExceededException ||
    error instanceof KMSThrottlingException
  ) {
    return new ShardReadError('throttled', error.message, { cause: error });
  }
  return error;
}

export function kinesisShardReader(client: KinesisClient, stream: string): ShardReader {
  return {
    stream,
    async listShards() {
      const shards: Shard[] = [];
      let nextToken: string | undefined;
      try {
        do {
          const page = await client.send(
            new ListShardsCommand(
              nextToken === undefined ? { StreamName: stream } : { NextToken: nextToken },
            ),
          );
          shards.push(...(page.Shards ?? []));
          nextToken = page.NextToken;
        } while (nextToken !== undefined);
      } catch (error) {
        throw translate(error);
      }
      return shards.flatMap((shard): ShardInfo[] =>
        shard.ShardId === undefined
          ? []
          : [
              {
                shardId: shard.ShardId,
                parents: [shard.ParentShardId, shard.AdjacentParentShardId].filter(
                  (parent): parent is string => parent !== undefined,
                ),
              },
            ],
      );
    },
    async shardIterator(shardId, afterSequenceNumber) {
      try {
        const answer = await client.send(
          new GetShardIteratorCommand(
            afterSequenceNumber === null
              ? { StreamName: stream, ShardId: shardId, ShardIteratorType: 'TRIM_HORIZON' }
              : {
                  StreamName: stream,
                  ShardId: shardId,
                  ShardIteratorType: 'AFTER_SEQUENCE_NUMBER',
                  StartingSequenceNumber: afterSequenceNumber,
                },
          ),
        );
        if (answer.ShardIterator === undefined) throw new Error(`no iterator for ${shardId}`);
        return answer.ShardIterator;
      } catch (error) {
        throw translate(error);
      }
    },
    async getRecords(iterator, limit): Promise<ShardBatch> {
      try {
        const answer = await client.send(
          new GetRecordsCommand({ ShardIterator: iterator, Limit: limit }),
        );
        return {
          records: (answer.Records ?? []).map((record) => ({
            sequenceNumber: record.SequenceNumber ?? '',
            partitionKey: record.PartitionKey ?? '',
            data: record.Data ?? new Uint8Array(),
            arrivalTime: record.ApproximateArrivalTimestamp?.getTime() ?? -1,
          })),
          nextIterator: answer.NextShardIterator ?? null,
          millisBehindLatest: answer.MillisBehindLatest ?? 0,
        };
      } catch (error) {
        throw translate(error);
      }
    },
  };
}
