// What both runners record once a transaction committed: dead letters by code (read from the
// committed outputs) and each consumed partition's lag (from the batch's high watermark).
import { describe, expect, it } from 'vitest';
import type { LogBatch, OutRecord } from '../../../lib/event-log/event-log.ts';
import { createMetricsRegistry } from '../../../lib/metrics/prom-metrics.ts';
import { Readiness } from '../../../lib/metrics/readiness.ts';
import { runnerSeries } from '../../../lib/metrics/series.ts';
import {
  DEAD_LETTER_CODE_HEADER,
  memberReadiness,
  recordCommitted,
} from '../../../lib/stream/processor-runner.ts';

const record = (offset: number) => ({
  topic: 'requests',
  partition: 1,
  offset: String(offset),
  key: null,
  value: null,
  headers: {},
  timestamp: 0,
});

describe('recordCommitted', () => {
  it('counts dead letters by code and sets the lag behind the high watermark', async () => {
    const registry = createMetricsRegistry({ service: 'router', processMetrics: false });
    const series = runnerSeries(registry);
    const outputs: OutRecord[] = [
      { topic: 'assignments', key: 'a', value: null },
      {
        topic: 'dead',
        key: 'b',
        value: null,
        headers: { [DEAD_LETTER_CODE_HEADER]: 'INVALID_FIELD' },
      },
      {
        topic: 'dead',
        key: 'c',
        value: null,
        headers: { [DEAD_LETTER_CODE_HEADER]: 'INVALID_FIELD' },
      },
      {
        topic: 'dead',
        key: 'd',
        value: null,
        headers: { [DEAD_LETTER_CODE_HEADER]: 'UNKNOWN_SCHEMA' },
      },
    ];
    // Offsets 3 and 4 processed; the partition's next offset is 10: 5 records behind.
    const batch: LogBatch = {
      topic: 'requests',
      partition: 1,
      highWatermark: '10',
      records: [record(3), record(4)],
    };
    recordCommitted(series, outputs, [batch]);
    const text = await registry.exposition();
    expect(text).toContain('dynab_dead_letters_total{code="INVALID_FIELD",service="router"} 2');
    expect(text).toContain('dynab_dead_letters_total{code="UNKNOWN_SCHEMA",service="router"} 1');
    expect(text).toContain(
      'dynab_consumer_lag_records{topic="requests",partition="1",service="router"} 5',
    );
    recordCommitted(series, [], [{ ...batch, records: [record(9)] }]);
    expect(await registry.exposition()).toContain(
      'dynab_consumer_lag_records{topic="requests",partition="1",service="router"} 0',
    );
  });
});

describe('memberReadiness', () => {
  it('is unmet until assigned, and again after a crash or a stop', () => {
    const readiness = new Readiness();
    const member = memberReadiness(readiness, 'g');
    expect(readiness.state().reasons).toEqual(['consumer group g: partitions not assigned yet']);
    member.assigned();
    expect(readiness.state().ready).toBe(true);
    member.down('consumer crashed: boom');
    expect(readiness.state().reasons).toEqual(['consumer group g: consumer crashed: boom']);
  });
});
