// A local Kinesis for `npm start -- --labels-via kinesis`: the kinesalite emulator (in memory, on
// 127.0.0.1 with a free port), and the two calls the demo needs on it, creating the stream and
// putting records. kinesalite is a development dependency: it is loaded only when asked for.
import type { AddressInfo } from 'node:net';
import {
  CreateStreamCommand,
  DescribeStreamSummaryCommand,
  PutRecordsCommand,
  ResourceInUseException,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';

export interface LocalKinesis {
  readonly endpoint: string;
  stop(): Promise<void>;
}

interface ListeningServer {
  listen(port: number, host: string, callback: () => void): unknown;
  address(): unknown;
  close(callback: () => void): unknown;
  closeAllConnections?: () => void;
}

export async function startLocalKinesis(): Promise<LocalKinesis> {
  let create: (options: Record<string, number>) => ListeningServer;
  try {
    const module = (await import('kinesalite')) as {
      default: (options: Record<string, number>) => ListeningServer;
    };
    create = module.default;
  } catch (cause) {
    throw new Error(
      'the Kinesis emulator (kinesalite, a development dependency) is not installed: run npm ci',
      { cause },
    );
  }
  // kinesalite's default account limit is 10 shards; a demo or a benchmark may need more.
  const server = create({
    createStreamMs: 0,
    deleteStreamMs: 0,
    updateStreamMs: 0,
    shardLimit: 1000,
  });
  await new Promise<void>((resolve) => {
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Creates the stream unless it exists, and waits until it is active. */
export async function ensureStream(
  client: KinesisClient,
  stream: string,
  shards: number,
  timeoutMs = 30_000,
): Promise<void> {
  try {
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: shards }));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const summary = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
    if (summary.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    if (Date.now() > deadline)
      throw new Error(`stream ${stream} is not active after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Puts records (data, partition key), 500 per call; throws if any was refused. */
export async function putRecords(
  client: KinesisClient,
  stream: string,
  records: readonly { readonly data: string; readonly partitionKey: string }[],
): Promise<void> {
  for (let i = 0; i < records.length; i += 500) {
    const answer = await client.send(
      new PutRecordsCommand({
        StreamName: stream,
        Records: records.slice(i, i + 500).map((record) => ({
          Data: Buffer.from(record.data),
          PartitionKey: record.partitionKey,
        })),
      }),
    );
    if ((answer.FailedRecordCount ?? 0) > 0) {
      throw new Error(`${answer.FailedRecordCount} of ${records.length} records were refused`);
    }
  }
}
