// `dynab audit` on the real broker: a request routed by the real router, its prediction and
// label joined by the real aggregator, and the trail read back from the request's partition.
import { describe, expect, it } from 'vitest';
import type { RewardResolved } from '../../../lib/contracts/events.ts';
import { partitionForKey } from '../../../lib/event-log/murmur2.ts';
import { runAuditCommand } from '../../../services/cli/audit-command.ts';
import type { AuditTrail } from '../../../services/cli/core/audit-trail.ts';
import { cliRunner } from '../../support/cli-harness.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import {
  experimentFixture,
  labelFixture,
  openPipeline,
  predictionFixture,
  startTestAggregator,
  startTestRouter,
} from '../../support/pipeline-harness.ts';

describe('dynab audit', () => {
  it('prints the whole trail of one request, read from its partition only', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs } = pipeline;
    const now = Date.now();
    await pipeline.defineExperiment(experimentFixture({ revision: 3 }));
    await startTestRouter(pipeline, { seed: 7, now });
    await startTestAggregator(pipeline, await pipeline.tempDir(), uniqueName('agg'), {
      now,
      snapshotIntervalMs: 50,
    });
    // The audited request and a neighbour on the same partition, which must not show up.
    const id = 'audit-1';
    const neighbour = ['n-1', 'n-2', 'n-3', 'n-4', 'n-5'].find(
      (n) => partitionForKey(n, 2) === partitionForKey(id, 2),
    );
    expect(neighbour).toBeDefined();
    const requestIds = [id, neighbour ?? ''];
    await pipeline.send(
      requestIds.map((requestId) => ({
        topic: topics.requests,
        key: requestId,
        value: codecs.request.encode({
          requestId,
          experiment: 'spam-filter',
          payload: Buffer.from('Subject: hello'),
          contentType: 'text/plain',
          userId: null,
          targetVariant: null,
          eventTime: now,
        }),
      })),
    );
    const assignments = await pipeline.collect(topics.assignments);
    const assigned = await waitFor('both assignments', () => {
      const decoded = assignments.map((r) => codecs.assignment.decode(r.value ?? Buffer.alloc(0)));
      return decoded.length >= 2 ? decoded : undefined;
    });
    const mine = assigned.find((a) => a.request.requestId === id)!;
    expect(mine.experimentRevision).toBe(3);
    // The inference service's part, by hand: the prediction copies the decision.
    await pipeline.send(
      assigned.map((a) => ({
        topic: topics.predictions,
        key: a.request.requestId,
        value: codecs.prediction.encode(
          predictionFixture(a.request.requestId, {
            requestedVariant: a.variant,
            invokedVariant: a.variant,
            propensity: a.propensity,
            snapshotVersion: a.snapshotVersion,
            policy: a.policy,
            requestTime: now,
            eventTime: now + 5,
            allocation: a.allocation,
            experimentRevision: a.experimentRevision ?? null,
          }),
        ),
      })),
    );
    await pipeline.send(
      requestIds.map((requestId) => ({
        topic: topics.labels,
        key: requestId,
        value: codecs.label.encode(labelFixture(requestId, { eventTime: now + 10 })),
      })),
    );
    const rewardRecords = await pipeline.collect(topics.rewards);
    const reward = await waitFor('the reward', () =>
      rewardRecords
        .map((r) => codecs.reward.decode(r.value ?? Buffer.alloc(0)))
        .find((r) => r.requestId === id),
    );
    expect(reward).toMatchObject({
      policy: mine.policy,
      snapshotVersion: mine.snapshotVersion,
      experimentRevision: 3,
    } satisfies Partial<RewardResolved>);

    const run = cliRunner(pipeline, runAuditCommand);

    const json = await run(id, '--json', '--from', '-1h', '--to', 'now');
    expect(json.stderr).toBe('');
    expect(json.code).toBe(0);
    const trail = JSON.parse(json.stdout) as AuditTrail;
    expect(trail.partition).toBe(partitionForKey(id, 2));
    expect(trail.outcome).toBe('label');
    expect(trail.request?.value.requestId).toBe(id);
    expect(trail.assignment?.value).toMatchObject({
      variant: mine.variant,
      policy: mine.policy,
      propensity: mine.propensity,
      experimentRevision: 3,
    });
    expect(trail.predictions).toHaveLength(1);
    expect(trail.labels).toHaveLength(1);
    expect(trail.rewards.map((r) => r.value.requestId)).toEqual([id]);
    expect(trail.warnings).toEqual([]);
    expect(trail.retention).toEqual([]);

    const text = await run(id, '--at', String(now));
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`routing   ${mine.variant} by ${mine.policy}`);
    expect(text.stdout).toContain('experiment revision 3');
    expect(text.stdout).toContain('outcome   label: resolved by a label');
    expect(text.stdout).not.toContain(neighbour);

    // A slice that ends before the request: nothing found, exit 1.
    const before = await run(
      id,
      '--from',
      String(now - 7_200_000),
      '--to',
      String(now - 3_600_000),
    );
    expect(before.code).toBe(1);
    expect(before.stdout).toContain('outcome   not-found');

    const usage = await run();
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('Usage: dynab audit');
  });
});
