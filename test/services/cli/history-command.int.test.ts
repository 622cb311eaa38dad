// The experiment history on the real broker: the decider appends revisions, posterior versions,
// allocation changes and decisions to the experiment-history topic, `dynab history` prints them,
// and a restarted decider does not repeat what is already there.
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ExperimentHistoryEntry, PosteriorPublished } from '../../../lib/contracts/events.ts';
import { runHistoryCommand } from '../../../services/cli/history-command.ts';
import { startDecider } from '../../../services/decider/build-decider.ts';
import { stoppingRule, variantCounts } from '../../support/fixtures.ts';
import { testBrokers, uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import { experimentFixture, openPipeline, type Pipeline } from '../../support/pipeline-harness.ts';

const T = 1_700_000_000_000;

async function runDecider(pipeline: Pipeline, groupId: string, now: () => number) {
  const decider = await startDecider({
    eventLog: pipeline.eventLog,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId,
    transactionalId: `${groupId}-tx`,
    logger: pipeline.logger,
    now,
    intervalMs: 20,
    historyIntervalMs: 0,
  });
  onTestFinished(() => decider.stop());
  return decider;
}

describe('dynab history', () => {
  it('prints revisions, posterior versions, allocations and decisions, once each', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    const history = await pipeline.collect(topics.experimentHistory);
    const entries = (): ExperimentHistoryEntry[] =>
      history.map((r) => codecs['experiment-history'].decode(r.value ?? Buffer.alloc(0)));
    let now = T;
    await pipeline.defineExperiment(
      experimentFixture({
        policy: 'thompson-sampling',
        stopping: stoppingRule({
          rule: 'glr',
          goal: 'decide',
          threshold: 0.95,
          minRewards: 10,
          autoPromote: true,
        }),
      }),
    );
    const groupId = uniqueName('decider');
    const decider = await runDecider(pipeline, groupId, () => now);
    await waitFor('the first revision and plan', () =>
      entries().some((e) => e.kind === 'plan') ? true : undefined,
    );

    const partial = (p: number, version: number, a: number, b: number): PosteriorPublished => ({
      experiment: 'spam-filter',
      partition: p,
      variants: [variantCounts('champion', a, 400 - a), variantCounts('challenger', b, 400 - b)],
      version,
      publishedAt: now,
      decayedAt: 0,
      shadowVariants: [],
    });
    now = T + 1_000;
    await pipeline.send(
      [partial(0, 10, 200, 360), partial(1, 12, 210, 350)].map((s) => ({
        topic: topics.posteriors,
        key: `spam-filter/${s.partition}`,
        value: codecs.posterior.encode(s),
      })),
    );
    // Clearly better: the rule names the challenger and promotes it (the next revision).
    const timeline = await waitFor('the decision and the promotion revision', () => {
      const all = entries();
      return all.some((e) => e.kind === 'decision') &&
        all.some((e) => e.kind === 'revision' && e.state === 'promoted')
        ? all
        : undefined;
    });
    expect(timeline.filter((e) => e.kind === 'posterior').at(-1)).toMatchObject({
      posteriorVersion: 22,
      state: 'running',
    });
    expect(timeline.find((e) => e.kind === 'decision')?.detail).toMatch(/^winner challenger/);
    await decider.stop();
    const before = history.length;

    // A restarted decider re-evaluates everything but has nothing new to append.
    const again = await runDecider(pipeline, groupId, () => now);
    await again.evaluateNow();
    await again.evaluateNow();
    expect(history.length).toBe(before);

    const env = {
      DYNAB_BROKERS: testBrokers().join(','),
      DYNAB_TOPIC_PREFIX: pipeline.prefix,
      DYNAB_PARTITIONS: '2',
    };
    let stdout = '';
    const code = await runHistoryCommand(['spam-filter'], {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: () => true },
      env,
      now: () => now,
      readText: () => Promise.reject(new Error('no files')),
    });
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toBe(`history of spam-filter (${before} entries)`);
    expect(stdout).toMatch(/r1\s+revision\s+revision 1: running, policy thompson-sampling/);
    expect(stdout).toMatch(/r1\s+plan\s+champion 50\.0%, challenger 50\.0%/);
    expect(stdout).toMatch(/r1\s+posterior\s+version 22: champion 800 rewards/);
    expect(stdout).toMatch(/r1\s+decision\s+winner challenger \(glr, applied\)/);
    expect(stdout).toMatch(/r2\s+revision\s+revision 2: promoted/);
    expect(stdout).toMatch(/r2\s+plan\s+champion 0\.0%, challenger 100\.0% by static-weights/);

    let json = '';
    await runHistoryCommand(['spam-filter', '--kind', 'decision', '--json'], {
      stdout: { write: (t: string) => (json += t) },
      stderr: { write: () => true },
      env,
      now: () => now,
      readText: () => Promise.reject(new Error('no files')),
    });
    expect((JSON.parse(json) as ExperimentHistoryEntry[]).map((e) => e.kind)).toEqual(['decision']);
  });
});
