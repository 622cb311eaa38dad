import { beforeAll, describe, expect, it } from 'vitest';
import { runConsumerPerformance, runProducerPerformance } from '../../bench/kafka-ceiling.ts';
import { resolveKafkaToolsClasspath } from '../../infra/kafka/kafka-tools.ts';
import { testBrokers, uniqueName } from '../support/kafka-test-kit.ts';

// Kafka's own tools against the shared test broker, kept small: each tool is a JVM start.
describe("Kafka's performance tools", () => {
  let classpath = '';
  beforeAll(async () => {
    // Fetches the tools jar on a fresh machine (once).
    classpath = await resolveKafkaToolsClasspath();
  });

  it('produces 2,000 small records into a fresh topic and reads them back', async () => {
    const target = { brokers: testBrokers(), classpath };
    const produced = await runProducerPerformance(target, {
      topic: uniqueName('kafka-ceiling'),
      records: 2_000,
      payload: { kind: 'fixed', bytes: 100 },
      partitions: 2,
    });
    expect(produced.records).toBe(2_000);
    expect(produced.recordsPerSecond).toBeGreaterThan(0);
    expect(produced.meanRecordBytes).toBeCloseTo(100, -1);

    const consumed = await runConsumerPerformance(target, {
      topic: produced.topic,
      records: 2_000,
    });
    expect(consumed.records).toBe(2_000);
    expect(consumed.warning).toBeNull();
  });
});
