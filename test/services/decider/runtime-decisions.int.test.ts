// Experiments changed at runtime, on the real broker: the router follows updates of the
// experiments topic without a restart, and the decider publishes statistics and acts on the
// stopping rule and the canary guard by writing the next revision of the experiment, which the
// router then follows too.
import { describe, expect, it, onTestFinished } from 'vitest';
import type {
  DecisionMade,
  ExperimentDefined,
  ExperimentStatistics,
  InferenceRequested,
  PosteriorPublished,
  VariantAssigned,
} from '../../../lib/contracts/events.ts';
import type { LogRecord } from '../../../lib/event-log/event-log.ts';
import { startDecider, type RunningDecider } from '../../../services/decider/build-decider.ts';
import type { RunningRouter } from '../../../services/router/build-router.ts';
import { stoppingRule, variantCounts } from '../../support/fixtures.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  openPipeline,
  startTestRouter,
  type Pipeline,
} from '../../support/pipeline-harness.ts';

function runRouter(pipeline: Pipeline): Promise<RunningRouter> {
  return startTestRouter(pipeline, { seed: 11, now: 1_700_000_000_500 });
}

async function runDecider(pipeline: Pipeline): Promise<RunningDecider> {
  const decider = await startDecider({
    eventLog: pipeline.eventLog,
    codecs: pipeline.codecs,
    topics: pipeline.topics,
    groupId: uniqueName('decider'),
    transactionalId: uniqueName('decider-tx'),
    logger: pipeline.logger,
    now: () => 1_700_000_900_000,
    intervalMs: 50,
  });
  onTestFinished(() => decider.stop());
  return decider;
}

/** Distinguishes the request ids of repeated batches while waiting for a change to show. */
let batchNumber = 0;

function request(requestId: string, experiment = 'spam-filter'): InferenceRequested {
  return {
    requestId,
    experiment,
    payload: Buffer.from('Subject: hello'),
    contentType: 'text/plain',
    userId: null,
    targetVariant: null,
    eventTime: 1_700_000_000_000,
  };
}

/** Sends n requests and resolves with their assignments. */
async function route(
  pipeline: Pipeline,
  assignments: LogRecord[],
  prefix: string,
  n: number,
  experiment = 'spam-filter',
): Promise<VariantAssigned[]> {
  const { topics, codecs } = pipeline;
  await pipeline.send(
    Array.from({ length: n }, (_, i) => ({
      topic: topics.requests,
      key: `${prefix}${i}`,
      value: codecs.request.encode(request(`${prefix}${i}`, experiment)),
    })),
  );
  return waitFor(`${n} assignments for ${prefix}`, () => {
    const mine = assignments
      .map((r) => codecs.assignment.decode(r.value ?? Buffer.alloc(0)))
      .filter((a) => a.request.requestId.startsWith(prefix));
    return mine.length === n ? mine : undefined;
  });
}

function partial(variants: PosteriorPublished['variants']): PosteriorPublished {
  return {
    experiment: 'spam-filter',
    partition: 0,
    variants,
    version: variants.reduce((sum, v) => sum + v.count, 0),
    publishedAt: 1,
    decayedAt: 0,
    shadowVariants: [],
  };
}

describe('experiments at runtime', () => {
  it('the router follows updates of policy, weights and state without a restart, per experiment', async () => {
    const pipeline = await openPipeline(2);
    const experiment = experimentFixture({ policy: 'static-weights' });
    await pipeline.defineExperiment(experiment);
    await pipeline.defineExperiment(
      experimentFixture({
        experiment: 'other',
        policy: 'static-weights',
        variants: [
          { name: 'a', weight: 0.3 },
          { name: 'b', weight: 0.7 },
        ],
      }),
    );
    await runRouter(pipeline);
    const assignments = await pipeline.collect(pipeline.topics.assignments);

    const first = await route(pipeline, assignments, 'static-', 20);
    expect(new Set(first.map((a) => a.reason))).toEqual(new Set(['static-weights']));
    expect(first.every((a) => a.propensity === 0.5)).toBe(true);

    // New weights and an epsilon-greedy policy (its warm-up of 0 rewards is already met).
    await pipeline.defineExperiment({
      ...experiment,
      policy: 'epsilon-greedy',
      epsilon: 0.2,
      variants: [
        { name: 'champion', weight: 0.2 },
        { name: 'challenger', weight: 0.8 },
      ],
      revision: 2,
    });
    const second = await waitFor('epsilon-greedy decisions', async () => {
      const batch = await route(pipeline, assignments, `eg-${batchNumber++}-`, 5);
      return batch.every((a) => a.policy === 'epsilon-greedy') ? batch : undefined;
    });
    // No rewards yet: both arms are untried, so the greedy part is split evenly.
    for (const a of second) expect(a.propensity).toBeCloseTo(0.5, 12);

    await pipeline.defineExperiment({ ...experiment, state: 'paused', revision: 3 });
    const paused = await waitFor('paused decisions', async () => {
      const batch = await route(pipeline, assignments, `p-${batchNumber++}-`, 5);
      return batch.every((a) => a.reason === 'experiment paused: configured weights')
        ? batch
        : undefined;
    });
    expect(paused.every((a) => a.policy === 'static-weights')).toBe(true);

    // An invalid definition is ignored: the paused one stays in force.
    await pipeline.defineExperiment({ ...experiment, probabilityFloor: 0.9, revision: 4 });
    await pipeline.defineExperiment({ ...experiment, state: 'stopped', revision: 5 });
    const stopped = await waitFor('stopped decisions', async () => {
      const batch = await route(pipeline, assignments, `s-${batchNumber++}-`, 5);
      return batch.every((a) => a.reason.startsWith('experiment stopped')) ? batch : undefined;
    });
    expect(stopped.every((a) => a.variant === 'champion' && a.propensity === 1)).toBe(true);

    // Another experiment runs alongside, untouched by every change above.
    const other = await route(pipeline, assignments, 'other-', 20, 'other');
    for (const a of other) {
      expect(a.request.experiment).toBe('other');
      expect(a.reason).toBe('static-weights');
      expect(a.propensity).toBeCloseTo(a.variant === 'b' ? 0.7 : 0.3, 12);
    }
  });

  // Both goals: decide (GLR, a winner at error rate δ) and earn (expected loss below the
  // tolerance, a choice that is good enough). Each promotes once and the router follows.
  it.each([
    { goal: 'decide', rule: 'glr', kind: 'winner' },
    { goal: 'earn', rule: 'expected-loss', kind: 'within-tolerance' },
  ] as const)(
    'goal $goal: the decider publishes statistics, promotes once ($kind), and the router follows',
    async ({ goal, rule, kind }) => {
      const pipeline = await openPipeline(2);
      const { topics, codecs } = pipeline;
      const experiment: ExperimentDefined = experimentFixture({
        stopping: stoppingRule({
          rule,
          goal,
          threshold: 0.95,
          tolerance: 0.001,
          minRewards: 500,
          autoPromote: true,
        }),
      });
      await pipeline.defineExperiment(experiment);
      await runRouter(pipeline);
      const decider = await runDecider(pipeline);
      const stats = await pipeline.collect(topics.experimentStats);
      const decisions = await pipeline.collect(topics.decisions);
      const experiments = await pipeline.collect(topics.experiments);
      const assignments = await pipeline.collect(pipeline.topics.assignments);
      const latestStats = (): ExperimentStatistics | undefined => {
        const last = stats[stats.length - 1];
        return last === undefined
          ? undefined
          : codecs['experiment-stats'].decode(last.value ?? Buffer.alloc(0));
      };

      // Not enough evidence yet: statistics, no decision.
      await pipeline.send([
        {
          topic: topics.posteriors,
          key: 'spam-filter/0',
          value: codecs.posterior.encode(
            partial([variantCounts('champion', 50, 50), variantCounts('challenger', 60, 40)]),
          ),
        },
      ]);
      const early = await waitFor('statistics of 200 rewards', () => {
        const s = latestStats();
        return s !== undefined && s.variants[0]?.rewards === 100 ? s : undefined;
      });
      expect(early.stopping.satisfied).toBe(false);
      expect(early.stopping.detail).toMatch(/waiting for 500 rewards per variant/);
      expect(decisions).toHaveLength(0);

      // Clear evidence: the challenger wins; the decider promotes it in one transaction.
      await pipeline.send([
        {
          topic: topics.posteriors,
          key: 'spam-filter/0',
          value: codecs.posterior.encode(
            partial([variantCounts('champion', 300, 300), variantCounts('challenger', 420, 180)]),
          ),
        },
      ]);
      const decision = await waitFor('a decision', () => {
        const last = decisions[decisions.length - 1];
        return last === undefined
          ? undefined
          : codecs.decision.decode(last.value ?? Buffer.alloc(0));
      });
      expect(decision).toMatchObject<Partial<DecisionMade>>({
        kind,
        variant: 'challenger',
        applied: true,
        revision: 1,
        rule,
      });
      const promoted = await waitFor('the promoted revision', () => {
        const defs = experiments.map((r) => codecs.experiment.decode(r.value ?? Buffer.alloc(0)));
        return defs.find((d) => d.state === 'promoted');
      });
      expect(promoted).toMatchObject({ winner: 'challenger', revision: 2 });

      const after = await waitFor('routing to the winner', async () => {
        const batch = await route(pipeline, assignments, `w-${batchNumber++}-`, 10);
        return batch.every((a) => a.reason === 'experiment promoted: all traffic to challenger')
          ? batch
          : undefined;
      });
      expect(after.every((a) => a.variant === 'challenger' && a.propensity === 1)).toBe(true);

      // More evidence after the promotion changes the statistics but makes no second decision.
      await pipeline.send([
        {
          topic: topics.posteriors,
          key: 'spam-filter/0',
          value: codecs.posterior.encode(
            partial([variantCounts('champion', 300, 300), variantCounts('challenger', 500, 200)]),
          ),
        },
      ]);
      await waitFor('statistics of the promoted revision', () => {
        const s = latestStats();
        return s?.revision === 2 && s.variants[1]?.rewards === 700 ? s : undefined;
      });
      await decider.evaluateNow();
      expect(decisions).toHaveLength(1);
    },
  );

  it('the decider rolls a worse canary back and the router stops sending it traffic', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(
      experimentFixture({
        canary: {
          challenger: 'challenger',
          share: 0.1,
          margin: 0.02,
          confidence: 0.95,
          minRewards: 200,
          rolledBackAt: null,
        },
      }),
    );
    await runRouter(pipeline);
    await runDecider(pipeline);
    const decisions = await pipeline.collect(topics.decisions);
    const assignments = await pipeline.collect(pipeline.topics.assignments);

    const canary = await route(pipeline, assignments, 'c-', 40);
    expect(new Set(canary.map((a) => a.reason))).toEqual(new Set(['canary: challenger at 10.0%']));
    for (const a of canary)
      expect(a.propensity).toBeCloseTo(a.variant === 'challenger' ? 0.1 : 0.9, 12);

    await pipeline.send([
      {
        topic: topics.posteriors,
        key: 'spam-filter/0',
        value: codecs.posterior.encode(
          partial([variantCounts('champion', 1_800, 200), variantCounts('challenger', 150, 100)]),
        ),
      },
    ]);
    const rollback = await waitFor('a roll-back decision', () => {
      const last = decisions[decisions.length - 1];
      return last === undefined ? undefined : codecs.decision.decode(last.value ?? Buffer.alloc(0));
    });
    expect(rollback).toMatchObject({
      kind: 'canary-rollback',
      variant: 'challenger',
      applied: true,
    });
    expect(rollback.reason).toMatch(/rolled back to 0% of traffic/);

    const after = await waitFor('no traffic to the challenger', async () => {
      const batch = await route(pipeline, assignments, `r-${batchNumber++}-`, 20);
      return batch.every((a) => a.reason === 'canary rolled back: challenger gets no traffic')
        ? batch
        : undefined;
    });
    expect(after.every((a) => a.variant === 'champion')).toBe(true);
  });
});
