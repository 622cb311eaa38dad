import { describe, expect, it } from 'vitest';
import { formatAuditReplay, runAuditReplayBench } from '../../bench/audit-replay-bench.ts';
import { testBrokers } from '../support/kafka-test-kit.ts';

// The audit-and-replay benchmark at a tiny size on the shared test broker: every phase runs and
// the numbers it prints are consistent (the slices of a 400-request run cover whole partitions).
describe('audit-replay benchmark', () => {
  it('fills, joins, audits and replays 400 requests', async () => {
    const result = await runAuditReplayBench({
      requests: 400,
      replayRecords: 200,
      partitions: 2,
      auditIds: 3,
      coldCli: false,
      brokers: testBrokers(),
    });
    expect(result.fill.records).toBe(1_600);
    // Requests, assignments, predictions, labels, the aggregator's rewards and its commit markers.
    expect(result.topicOffsets).toBeGreaterThan(2_000);
    expect(result.audit.complete).toBe(3);
    expect(result.audit.command.calls).toBe(3);
    expect(result.audit.offsetsReadMax).toBeLessThan(result.topicOffsets);
    expect(result.live.rewardsPerSecond).toBeGreaterThan(0);
    expect(result.replay.records).toBe(200);
    expect(result.replay.divergences).toBe(0);
    expect(formatAuditReplay(result)).toContain('| replay ÷ live aggregator (records/s) |');
  });
});
