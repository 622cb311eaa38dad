// `dynab experiment put` with the example file the README and docker-compose use.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import { topicNames } from '../../../lib/contracts/topics.ts';
import { experimentFromJson } from '../../../services/cli/put-experiment.ts';
import {
  openTestEventLog,
  testBrokers,
  uniqueName,
  waitFor,
} from '../../support/kafka-test-kit.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('dynab experiment put', () => {
  it('publishes the example experiment to the compacted experiments topic', async () => {
    const prefix = `${uniqueName('cli')}.`;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bin/dynab.ts',
        'experiment',
        'put',
        'examples/spam-filter-experiment.json',
      ],
      {
        cwd: repoRoot,
        env: { ...process.env, DYNAB_BROKERS: testBrokers().join(','), DYNAB_TOPIC_PREFIX: prefix },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output).toBe(0);

    const eventLog = openTestEventLog();
    const consumer = await eventLog.createConsumer({
      groupId: uniqueName('read'),
      topics: [topicNames(prefix).experiments],
      fromBeginning: true,
    });
    const seen: Buffer[] = [];
    await consumer.run((batch) => {
      for (const r of batch.records) if (r.value !== null) seen.push(r.value);
    });
    await waitFor('the experiment record', () => (seen.length === 1 ? true : undefined));
    await consumer.stop();
    const experiment = loadCodecs().experiment.decode(seen[0] ?? Buffer.alloc(0));
    expect(experiment).toMatchObject({
      experiment: 'spam-filter',
      policy: 'thompson-sampling',
      warmUpRewards: 20,
      state: 'running',
      // The example's rule is an error-controlled one: the GLR test at δ = 0.05, goal decide.
      stopping: {
        goal: 'decide',
        rule: 'glr',
        threshold: 0.95,
        minRewards: 100,
        autoPromote: false,
      },
    });
    expect(experiment.variants.map((v) => v.name)).toEqual(['champion', 'challenger']);
  });

  it('rejects experiments without a name or variants', () => {
    expect(() => experimentFromJson({ variants: [{ name: 'a', weight: 1 }] }, 0)).toThrow(
      /experiment/,
    );
    expect(() => experimentFromJson({ experiment: 'x', variants: [] }, 0)).toThrow(/variants/);
    expect(() => experimentFromJson([], 0)).toThrow(/JSON object/);
    expect(
      experimentFromJson({ experiment: 'x', variants: [{ name: 'a', weight: 1 }] }, 5),
    ).toMatchObject({ priorAlpha: 1, updatedAt: 5 });
  });
});
