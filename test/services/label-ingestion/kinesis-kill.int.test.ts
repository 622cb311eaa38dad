// kill -9 of the label-ingestion process (Kinesis source) in mid-stream, three times: each
// checkpoint is committed in the Kafka transaction of the labels it covers, so after every
// restart the labels topic holds each record's label exactly once, in order per partition key.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { LogRecord } from '../../../lib/event-log/event-log.ts';
import { testBrokers, uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import { startKinesisEmulator } from '../../support/kinesis-emulator.ts';
import { openPipeline } from '../../support/pipeline-harness.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('label ingestion from Kinesis under kill -9', () => {
  it('emits every label exactly once after being SIGKILLed in mid-stream three times', async () => {
    const pipeline = await openPipeline(1);
    const emulator = await startKinesisEmulator();
    const stream = uniqueName('app-logs');
    await emulator.createStream(stream, 4);
    const mappingFile = join(await pipeline.tempDir(), 'mapping.json');
    await writeFile(
      mappingFile,
      JSON.stringify({
        version: 1,
        source: 'app-log:kinesis',
        requestId: '$.rid',
        rules: [{ name: 'click', when: [{ path: '$.event', equals: 'click' }], reward: 1 }],
      }),
    );
    const env = {
      ...process.env,
      DYNAB_BROKERS: testBrokers().join(','),
      DYNAB_TOPIC_PREFIX: pipeline.prefix,
      DYNAB_PARTITIONS: '1',
      DYNAB_LABEL_SOURCE: 'kinesis',
      DYNAB_LABEL_MAPPING_FILE: mappingFile,
      DYNAB_KINESIS_STREAM: stream,
      DYNAB_KINESIS_ENDPOINT_URL: emulator.endpoint,
      DYNAB_KINESIS_POLL_INTERVAL_MS: '20',
      DYNAB_KINESIS_MAX_RECORDS: '7',
      DYNAB_LOG_LEVEL: 'warn',
    };
    let child: ChildProcess | null = null;
    const start = async (): Promise<ChildProcess> => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'services/label-ingestion/main.ts'], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      p.stderr?.resume();
      await new Promise<void>((resolve, reject) => {
        p.on('message', (m: unknown) => {
          if (typeof m === 'object' && m !== null && (m as { type?: string }).type === 'ready')
            resolve();
        });
        p.once('exit', (code) =>
          reject(new Error(`label ingestion exited with ${code} before it was ready`)),
        );
      });
      return p;
    };
    const kill = async (p: ChildProcess): Promise<void> => {
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.kill('SIGKILL');
      await exited;
    };
    onTestFinished(async () => {
      if (child !== null && child.exitCode === null && child.signalCode === null) await kill(child);
    });

    const labels = await pipeline.collect(pipeline.topics.labels);
    const KEYS = 8;
    const PER_KEY = 150;
    const records: { data: string; key: string }[] = [];
    for (let n = 0; n < PER_KEY; n++) {
      for (let k = 0; k < KEYS; k++) {
        records.push({ data: JSON.stringify({ rid: `k${k}-${n}`, event: 'click' }), key: `k${k}` });
      }
    }
    await emulator.put(stream, records);

    child = await start();
    for (const threshold of [150, 500, 850]) {
      await waitFor(`${threshold} labels`, () => (labels.length >= threshold ? true : undefined));
      await kill(child);
      child = await start();
    }
    await waitFor(
      'every label',
      () => (labels.length >= KEYS * PER_KEY ? true : undefined),
      60_000,
    );
    // Stopped, then the whole topic read to its end: a duplicate committed by the last process
    // cannot hide behind the collector's lag.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    const all: LogRecord[] = [];
    const [range] = await pipeline.eventLog.fetchOffsets(pipeline.topics.labels);
    await pipeline.eventLog.readPartitions(
      pipeline.topics.labels,
      [{ partition: 0, from: range!.low, until: range!.high }],
      (batch) => {
        all.push(...batch.records);
        return Promise.resolve();
      },
    );
    const ids = all.map((record) => record.key?.toString() ?? '');
    expect(ids).toHaveLength(KEYS * PER_KEY);
    expect(new Set(ids).size).toBe(KEYS * PER_KEY);
    for (let k = 0; k < KEYS; k++) {
      const sequence = ids
        .filter((id) => id.startsWith(`k${k}-`))
        .map((id) => Number(id.slice(id.indexOf('-') + 1)));
      expect(sequence).toEqual([...Array(PER_KEY).keys()]);
    }
  });
});
