// kill -9 of the aggregator process in mid-stream, three times, then an exact posterior: the
// RocksDB batch that holds each state change also holds the consumed offsets, so no reward is
// lost or counted twice whatever instant the process dies at.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import { testBrokers, waitFor } from '../../support/kafka-test-kit.ts';
import {
  ExpectedTally,
  experimentFixture,
  foldedCount,
  labelFixture,
  mergePosteriors,
  openPipeline,
  predictionFixture,
  type Tally,
} from '../../support/pipeline-harness.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('aggregator under kill -9', () => {
  it('publishes exactly the expected counts after being SIGKILLed in mid-stream three times', async () => {
    const pipeline = await openPipeline(3);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const stateDir = await pipeline.tempDir();
    const env = {
      ...process.env,
      DYNAB_BROKERS: testBrokers().join(','),
      DYNAB_TOPIC_PREFIX: pipeline.prefix,
      DYNAB_PARTITIONS: '3',
      DYNAB_STATE_DIR: stateDir,
      DYNAB_SNAPSHOT_INTERVAL_MS: '20',
      DYNAB_LOG_LEVEL: 'warn',
    };
    let child: ChildProcess | null = null;
    const start = async (): Promise<ChildProcess> => {
      const p = spawn(process.execPath, ['--import', 'tsx', 'services/aggregator/main.ts'], {
        cwd: repoRoot,
        env,
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      await new Promise<void>((resolve, reject) => {
        p.on('message', (m: unknown) => {
          if (typeof m === 'object' && m !== null && (m as { type?: string }).type === 'ready')
            resolve();
        });
        p.once('exit', (code) =>
          reject(new Error(`aggregator exited with ${code} before it was ready`)),
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

    const posteriors = await pipeline.collect(topics.posteriors);
    const rewardOf = (i: number): number => (i % 7 === 0 || i % 5 === 0 ? 0 : 1);
    const variantOf = (i: number): string => (i % 3 === 0 ? 'challenger' : 'champion');
    const expected = new ExpectedTally();
    // Decisions are counted too: every distinct prediction exactly once, whatever the kills.
    const allocation = [
      { variant: 'champion', probability: 0.625 },
      { variant: 'challenger', probability: 0.375 },
    ];
    const records: OutRecord[] = [];
    const total = 3000;
    for (let i = 0; i < total; i++) {
      const id = `k${i}`;
      const v = variantOf(i);
      records.push({
        topic: topics.predictions,
        key: id,
        value: codecs.prediction.encode(
          predictionFixture(id, { invokedVariant: v, requestedVariant: v, allocation }),
        ),
      });
      records.push({
        topic: topics.labels,
        key: id,
        value: codecs.label.encode(labelFixture(id, { label: rewardOf(i) === 1 ? 'spam' : 'ham' })),
      });
      expected.reward(v, rewardOf(i)).decision(v, allocation);
    }

    const merged = (): Map<string, Tally> => mergePosteriors(posteriors, codecs, 'spam-filter');
    const folded = (): number => foldedCount(merged());

    // Feed in slices; after each of the first three slices, kill the process once it has made
    // progress on that slice but (very likely) not finished it.
    const slices = 4;
    const per = records.length / slices;
    child = await start();
    for (let s = 0; s < slices; s++) {
      const before = folded();
      await pipeline.send(records.slice(s * per, (s + 1) * per));
      if (s < slices - 1) {
        await waitFor(
          'progress on this slice',
          () => (folded() > before ? true : undefined),
          60_000,
          5,
        );
        await kill(child);
        child = await start();
      }
    }
    await waitFor('every reward folded in', () => (folded() === total ? true : undefined), 120_000);
    expect(merged()).toEqual(expected.byVariant);
  });
});
