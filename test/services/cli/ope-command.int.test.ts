// `dynab ope` on the real broker: decisions logged with their allocations, joined with labels by
// the real aggregator; the command joins rewards and predictions back and reports the estimates
// the pure estimators give on the same decisions, with the support warning for decisions made
// after a promotion.
import { describe, expect, it } from 'vitest';
import { evaluateOffPolicy, type LoggedDecision } from '../../../lib/stats/off-policy.ts';
import { runOpeCommand } from '../../../services/cli/ope-command.ts';
import { cliRunner } from '../../support/cli-harness.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  openPipeline,
  predictionFixture,
  startTestAggregator,
} from '../../support/pipeline-harness.ts';

const T = 1_700_000_000_000;

describe('dynab ope', () => {
  it('estimates another policy from the logged decisions, and warns where support is missing', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    await pipeline.defineExperiment(experimentFixture());
    const aggregator = await startTestAggregator(
      pipeline,
      await pipeline.tempDir(),
      uniqueName('agg'),
      {
        now: T + 60_000,
        snapshotIntervalMs: 50,
      },
    );
    const split = [
      { variant: 'champion', probability: 0.8 },
      { variant: 'challenger', probability: 0.2 },
    ];
    const promoted = [
      { variant: 'champion', probability: 1 },
      { variant: 'challenger', probability: 0 },
    ];
    // 30 decisions at 80/20, then 10 after the champion was promoted.
    const decisions = Array.from({ length: 40 }, (_, i) => {
      const allocation = i < 30 ? split : promoted;
      const variant = i < 30 && i % 5 === 0 ? 'challenger' : 'champion';
      const propensity = allocation.find((a) => a.variant === variant)?.probability ?? 1;
      // The challenger's answers are right, the champion's right every other time.
      const right = variant === 'challenger' || i % 2 === 0;
      return { id: `ope-${i}`, variant, propensity, allocation, right };
    });
    await pipeline.send(
      decisions.map((d, i) => ({
        topic: topics.predictions,
        key: d.id,
        value: codecs.prediction.encode(
          predictionFixture(d.id, {
            requestedVariant: d.variant,
            invokedVariant: d.variant,
            propensity: d.propensity,
            allocation: d.allocation,
            policy: 'thompson-sampling',
            requestTime: T + i,
            eventTime: T + i,
          }),
        ),
      })),
    );
    await pipeline.send(
      decisions.map((d, i) => ({
        topic: topics.labels,
        key: d.id,
        value: codecs.label.encode(
          labelFixture(d.id, { label: d.right ? 'spam' : 'ham', eventTime: T + 1_000 + i }),
        ),
      })),
    );
    await waitFor('every reward', () =>
      aggregator.stats.rewards === decisions.length ? true : undefined,
    );

    const run = cliRunner(pipeline, runOpeCommand);

    const result = await run(
      '--experiment',
      'spam-filter',
      '--policy',
      'variant:challenger',
      '--json',
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ReturnType<typeof evaluateOffPolicy>;
    const expected = evaluateOffPolicy(
      decisions.map((d): LoggedDecision => ({
        variant: d.variant,
        reward: d.right ? 1 : 0,
        propensity: d.propensity,
        allocation: d.allocation,
      })),
      new Map([['challenger', 1]]),
    );
    expect(report.decisions).toBe(40);
    // The same decisions in another order: the same IPS and SNIPS (DR's folds depend on order).
    expect(report.ips.value).toBeCloseTo(expected.ips.value, 12);
    expect(report.snips.value).toBeCloseTo(expected.snips.value, 12);
    expect(report.snips.value).toBe(1);
    expect(report.unsupported).toEqual([{ variant: 'challenger', decisions: 10 }]);

    const text = await run(
      '--experiment',
      'spam-filter',
      '--policy',
      'weights:champion=1,challenger=1',
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      'off-policy evaluation of champion 50.0%, challenger 50.0% on spam-filter: 40 logged decisions',
    );
    expect(text.stdout).toMatch(/^doubly robust\s+\d\.\d{4}\s+\[/m);
    expect(text.stdout).toContain(
      'warning: no support: the logging policy gave challenger no probability in 10 of 40 decisions',
    );

    expect((await run('--experiment', 'spam-filter', '--policy', 'variant:nope')).code).toBe(2);
  });
});
