import { describe, expect, it } from 'vitest';
import {
  formatAuditReplay,
  LIVE_REWARDS_SUFFIX,
  runAuditReplayBench,
} from '../../bench/audit-replay-bench.ts';
import { loadCodecs } from '../../lib/codec/avro-codec.ts';
import type { RewardResolved } from '../../lib/contracts/events.ts';
import { collectTopic, openTestEventLog, testBrokers, waitFor } from '../support/kafka-test-kit.ts';

// The audit-and-replay benchmark at a tiny size on the shared test broker: every phase runs, the
// numbers it prints are consistent (the slices of a 400-request run cover whole partitions), and
// the rewards it writes for the audit are the ones the live aggregator wrote, but for their time.
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
    // Requests, assignments, predictions, labels and rewards.
    expect(result.fill.records).toBe(2_000);
    expect(result.topicOffsets).toBe(2_000);
    expect(result.audit.complete).toBe(3);
    expect(result.audit.command.calls).toBe(3);
    expect(result.audit.offsetsReadMax).toBeLessThan(result.topicOffsets);
    expect(result.live.rewardsPerSecond).toBeGreaterThan(0);
    expect(result.replay.records).toBe(200);
    expect(result.replay.divergences).toBe(0);
    expect(formatAuditReplay(result)).toContain('| replay ÷ live aggregator (records/s) |');

    const eventLog = openTestEventLog();
    try {
      const codecs = loadCodecs();
      const rewards = async (topic: string): Promise<Map<string, RewardResolved>> => {
        const collected = await collectTopic(eventLog, `${result.prefix}${topic}`);
        const records = await waitFor(`400 records on ${topic}`, () =>
          collected.length >= 400 ? collected : undefined,
        );
        return new Map(
          records.map((r) => {
            // resolvedAt is the aggregator's clock: the one field the two may differ in.
            const reward = { ...codecs.reward.decode(r.value ?? Buffer.alloc(0)), resolvedAt: 0 };
            return [reward.requestId, reward];
          }),
        );
      };
      const written = await rewards('rewards');
      const live = await rewards(LIVE_REWARDS_SUFFIX);
      expect(written.size).toBe(400);
      expect(live).toEqual(written);
    } finally {
      await eventLog.close();
    }
  });
});
