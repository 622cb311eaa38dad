import { describe, expect, it } from 'vitest';
import type { KafkaCeilingRow } from '../../bench/kafka-ceiling.ts';
import { formatScaleReport, scaleSummary } from '../../bench/scale-report.ts';
import {
  scalePlan,
  type DrainResult,
  type ScaleResult,
  type SizeEndToEnd,
  type SizeKey,
} from '../../bench/scale-results.ts';

const drain = (name: string, perSecond: number, instances = 1): DrainResult => ({
  name,
  instances,
  records: 1000,
  seconds: 1000 / perSecond,
  perSecond,
  backlogWriteSeconds: 0.5,
  failedOutputs: 0,
});

const ceilingRow = (label: string, recordBytes: number, producerRate: number): KafkaCeilingRow => ({
  label,
  recordBytes,
  producer: {
    records: 1000,
    recordsPerSecond: producerRate,
    mibPerSecond: (producerRate * recordBytes) / 2 ** 20,
    latencyMs: { avg: 5, max: 9, p50: 4, p95: 8, p99: 9, p999: 9 },
    payloadsRead: null,
    topic: 't',
    partitions: 4,
    meanRecordBytes: recordBytes,
    command: 'java …',
    elapsedMs: 1000,
  },
  consumer: {
    records: 1000,
    mib: 1,
    recordsPerSecond: producerRate * 2,
    mibPerSecond: 1,
    rebalanceMs: 100,
    fetchMs: 100,
    fetchRecordsPerSecond: producerRate * 3,
    fetchMibPerSecond: 1,
    warning: null,
    topic: 't',
    command: 'java …',
    elapsedMs: 1000,
  },
  latency: {
    avgMs: 2,
    p50Ms: 2,
    p99Ms: 6,
    p999Ms: 9,
    progress: [],
    topic: 'l',
    messages: 200,
    recordBytes,
    command: 'java …',
    elapsedMs: 1000,
  },
});

const endToEnd = (size: SizeKey, rate: number, probeP99: number): SizeEndToEnd => ({
  size,
  requests: 1000,
  inFlight: 1000,
  predictionsPerSecond: rate,
  rewardsPerSecond: rate * 0.9,
  loads: [0.25, 0.5, 0.8].map((load) => ({
    load,
    offeredPerSecond: load * rate,
    requests: 100,
    achievedPerSecond: load * rate,
    latencyMs: { count: 100, p50: 10 * load, p99: 100 * load, max: 200 },
    assignmentLatencyMs: { count: 100, p50: 5 * load, p99: 50 * load, max: 100 },
    rewardLatencyMs: { count: 100, p50: 40 * load, p99: 400 * load, max: 500 },
    sendLateP99Ms: 1,
    sendLateMaxMs: 3,
  })),
  labelToRouterMs: { count: 20, p50: 210, p99: probeP99, max: probeP99 },
  cpuPerRequestMicros: { router: 50, inference: 60, aggregator: 70, broker: 120, generator: 40 },
});

const result: ScaleResult = {
  options: { requests: 1000, partitions: 4, quick: true },
  plan: scalePlan(true),
  broker: 'embedded Kafka 4.1.2',
  loadAverageStart: 1.5,
  loadAverageEnd: 2.5,
  seconds: 300,
  smallBytes: 256,
  spamMeanBytes: 5365,
  ceiling: {
    kafkaVersion: '4.1.2',
    producerProps: { acks: 'all' },
    partitions: 4,
    rows: [ceilingRow('fixed-size', 256, 40_000), ceilingRow('served spam mails', 5365, 4_000)],
  },
  drains: [
    {
      size: 'small',
      router: drain('r', 1200),
      routerTwin: drain('rt', 2400),
      inferenceInstant: drain('i', 500),
      inferenceTwin: drain('it', 2000),
      inferenceRealModel: drain('im', 400),
    },
    {
      size: 'spam',
      router: drain('r', 1000),
      routerTwin: drain('rt', 1250),
      inferenceInstant: drain('i', 400),
      inferenceTwin: drain('it', 1600),
      inferenceRealModel: drain('im', 200),
      scaleOut: {
        inferenceTwoInstances: drain('i2', 600, 2),
        aggregatorOneInstance: drain('a1', 3000),
        aggregatorTwoInstances: drain('a2', 4500, 2),
      },
    },
  ],
  endToEnd: [endToEnd('small', 400, 300), endToEnd('spam', 200, 350)],
};

describe('scaleSummary', () => {
  const summary = scaleSummary(result);

  it('carries the headline metrics: 256 B unsuffixed, mails as Spam', () => {
    expect(summary).toMatchObject({
      e2eRequestsPerSecond: 400,
      e2eSpamRequestsPerSecond: 200,
      kafkaProducerRecordsPerSecond: 40_000,
      kafkaProducerSpamRecordsPerSecond: 4_000,
      routerVsNoopTwin: 0.5,
      routerVsNoopTwinSpam: 0.8,
      inferenceVsNoopTwin: 0.25,
      inferenceVsNoopTwinSpam: 0.25,
      e2eFractionOfKafkaProducer: 0.01,
      e2eSpamFractionOfKafkaProducer: 0.05,
      inferenceScaleOut: 1.5,
      aggregatorScaleOut: 1.5,
      aggregatorRewardsPerSecond: 3000,
      labelToRouterP99Ms: 350,
      labelToRouterSmallP99Ms: 300,
      latencyP99MsAt80: 80,
      latencySpamP50MsAt25: 2.5,
      cpuRouterMicrosPerRequest: 50,
      cpuSpamBrokerMicrosPerRequest: 120,
    });
    expect(summary).not.toHaveProperty('cpuEndpointMicrosPerRequest');
    expect(summary['run']).toMatchObject({ requests: 1000, partitions: 4, quick: true });
  });

  it('writes a metric that was not measured as null, which JSON can hold', () => {
    const [small, spam] = result.drains;
    if (small === undefined || spam === undefined) throw new Error('fixture has both sizes');
    const partial = scaleSummary({
      ...result,
      drains: [
        small,
        {
          size: 'spam',
          router: spam.router,
          routerTwin: spam.routerTwin,
          inferenceInstant: spam.inferenceInstant,
          inferenceTwin: spam.inferenceTwin,
          inferenceRealModel: spam.inferenceRealModel,
        },
      ],
    });
    expect(partial['inferenceScaleOut']).toBeNull();
    const parsed = JSON.parse(JSON.stringify(partial)) as Record<string, unknown>;
    expect(parsed['aggregatorScaleOut']).toBeNull();
  });
});

describe('formatScaleReport', () => {
  it('has a table per measure with the ratios filled in', () => {
    const report = formatScaleReport(result);
    for (const heading of [
      "### 1. Kafka's own ceiling",
      '### 2. Each service beside its no-op twin',
      '### 3. End to end at the maximum rate',
      '### 4. Request → prediction latency under open-loop load',
      '### 5. Label → router, at 80% of the sustained maximum rate',
      '### 6. Scale-out: 1 vs 2 instances (spam mails)',
    ])
      expect(report).toContain(heading);
    expect(report).toContain('| end to end, requests → predictions /s | 400 | 200 |');
    expect(report).toContain("| … of Kafka's producer records/s | 1.0% | 5.0% |");
    expect(report).toContain('| label → router p99 at 80% | 300 ms | 350 ms |');
    expect(report).toContain('| 256 B | router (requests → assignments) | 1,200 | 0.8 s | 2,400 |');
    expect(report).toContain('| spam mails | 1,000 | 1,000 | 200 | 180 | 4,000 | 5.0% |');
    expect(report).toContain(
      '| aggregator (predictions + labels → rewards) | 3,000 | 4,500 | 1.50 |',
    );
    // 50 + 60 + 70 + 120 + 40 = 340 µs per request: 2,000,000 / 340 ≈ 5,882 requests/s.
    expect(report).toContain(
      '| 256 B | 50 µs | 60 µs | 70 µs | – | 120 µs | 40 µs | 340 µs | 5,882 |',
    );
  });
});
