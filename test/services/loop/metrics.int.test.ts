// Every service's /metrics and /readyz during a real-broker run: router, inference and
// aggregator in this process, each with its own registry, readiness and metrics server as its
// main.ts would have them, on a known input: 5 requests (3 for the champion, 2 for the
// challenger, one of which the model fails), then a label for each.
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import type { InferenceRequested } from '../../../lib/contracts/events.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';
import { startMetricsServer } from '../../../lib/metrics/metrics-server.ts';
import { createMetricsRegistry, type MetricsRegistry } from '../../../lib/metrics/prom-metrics.ts';
import { Readiness, type ReadinessCondition } from '../../../lib/metrics/readiness.ts';
import type { ModelEndpoint } from '../../../lib/model-endpoint/model-endpoint.ts';
import { openRocksDbStore } from '../../../lib/store/rocksdb-store.ts';
import { startAggregator } from '../../../services/aggregator/build-aggregator.ts';
import { startInference } from '../../../services/inference/build-inference.ts';
import { startRouter } from '../../../services/router/build-router.ts';
import { uniqueName, waitFor } from '../../support/kafka-test-kit.ts';
import { experimentFixture, labelFixture, openPipeline } from '../../support/pipeline-harness.ts';

/**
 * A Readiness that keeps its reasons after every change a scrape could see, so a test sees each
 * step however briefly it held. Changes made in one synchronous run (a condition met and the
 * next one registered) are seen together, at the end of that run, as `/readyz` would see them.
 */
class RecordingReadiness extends Readiness {
  readonly history: string[] = [];
  private pending = false;

  override condition(reason: string): ReadinessCondition {
    const inner = super.condition(reason);
    this.changed();
    return {
      set: (ready: boolean, why?: string) => {
        if (ready) inner.set(true);
        else inner.set(false, why ?? reason);
        this.changed();
      },
    };
  }

  private changed(): void {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      const step = this.state().reasons.join('; ');
      if (this.history.at(-1) !== step) this.history.push(step);
    });
  }
}

interface Served {
  readonly registry: MetricsRegistry;
  readonly readiness: RecordingReadiness;
  readonly base: string;
}

async function serve(service: string): Promise<Served> {
  const registry = createMetricsRegistry({ service, processMetrics: false });
  const readiness = new RecordingReadiness();
  const server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry, readiness });
  onTestFinished(() => server.close());
  return { registry, readiness, base: `http://127.0.0.1:${server.port}` };
}

/** Samples of a scrape: `name{labels}` → value, the default `service` label left out. */
async function scrape(served: Served): Promise<Map<string, number>> {
  const response = await fetch(`${served.base}/metrics`);
  expect(response.status).toBe(200);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const space = line.lastIndexOf(' ');
    const series = line
      .slice(0, space)
      .replace(/,?service="[^"]*"/, '')
      .replace('{}', '')
      .replace('{,', '{');
    samples.set(series, Number(line.slice(space + 1)));
  }
  return samples;
}

async function readyz(served: Served): Promise<{ status: number; text: string }> {
  const response = await fetch(`${served.base}/readyz`);
  return { status: response.status, text: await response.text() };
}

const request = (
  requestId: string,
  targetVariant: string,
  payload: string,
): InferenceRequested => ({
  requestId,
  experiment: 'spam-filter',
  payload: Buffer.from(payload),
  contentType: 'text/plain',
  userId: null,
  targetVariant,
  eventTime: Date.now(),
});

describe('metrics of a running pipeline', () => {
  it('serves the series with the values of a known input, and turns ready only when it should', async () => {
    const pipeline = await openPipeline(2);
    const { topics, codecs, eventLog, logger } = pipeline;
    await pipeline.defineExperiment(experimentFixture());

    // Router: before its tables are read and its partitions assigned, it is not ready.
    const router = await serve('router');
    const routerStarting = startRouter({
      eventLog,
      codecs,
      topics,
      logger,
      groupId: uniqueName('router'),
      transactionalId: uniqueName('router-tx'),
      maxPayloadBytes: 1024,
      unknownExperiment: 'fallback',
      random: createSeededRandom(1),
      now: Date.now,
      metrics: router.registry,
      readiness: router.readiness,
    });
    const before = router.readiness.state();
    expect(before.ready).toBe(false);
    expect(before.reasons).toEqual(['experiments and posteriors tables not read to their end yet']);
    expect((await readyz(router)).status).toBe(503);
    const runningRouter = await routerStarting;
    onTestFinished(() => runningRouter.stop());
    await waitFor('router ready', async () =>
      (await readyz(router)).status === 200 ? true : undefined,
    );
    // Once the tables were read, it waited for its partitions (the runner's condition), and
    // only then turned ready: the distinct steps it went through, in order.
    expect(router.readiness.history).toEqual([
      'experiments and posteriors tables not read to their end yet',
      expect.stringMatching(/^consumer group [^;]*: partitions not assigned yet$/) as string,
      '',
    ]);

    const inference = await serve('inference');
    const endpoint: ModelEndpoint = {
      invoke(input) {
        if (Buffer.from(input.body).toString() === 'fail')
          return Promise.reject(new DynabError('MODEL_ERROR', 'the model failed'));
        return Promise.resolve({
          invokedVariant: input.targetVariant,
          body: Buffer.from('{"label":"spam"}'),
          contentType: 'application/json',
        });
      },
      close: () => undefined,
    };
    const runningInference = await startInference({
      eventLog,
      endpoint,
      codecs,
      topics,
      logger,
      groupId: uniqueName('inference'),
      transactionalId: uniqueName('inference-tx'),
      concurrency: 4,
      maxAttempts: 1,
      batching: { formats: { '*': 'none' }, maxRecords: 100, maxBytes: 1024 * 1024 },
      predictedLabelField: 'label',
      now: Date.now,
      monotonicNow: () => performance.now(),
      metrics: inference.registry,
      readiness: inference.readiness,
    });
    onTestFinished(() => runningInference.stop());

    const aggregator = await serve('aggregator');
    const store = await openRocksDbStore(await pipeline.tempDir());
    const aggregatorStarting = startAggregator({
      eventLog,
      store,
      codecs,
      topics,
      logger,
      groupId: uniqueName('aggregator'),
      now: Date.now,
      snapshotIntervalMs: 50,
      orphanAfterMs: 3_600_000,
      metrics: aggregator.registry,
      readiness: aggregator.readiness,
    });
    expect(aggregator.readiness.state().reasons).toEqual([
      'experiments table not read to its end yet',
    ]);
    expect((await readyz(aggregator)).status).toBe(503);
    const runningAggregator = await aggregatorStarting;
    onTestFinished(async () => {
      await runningAggregator.stop();
      await store.close();
    });
    for (const served of [inference, aggregator]) {
      await waitFor('ready', async () =>
        (await readyz(served)).status === 200 ? true : undefined,
      );
    }

    const sent: [string, string, string][] = [
      ['r1', 'champion', 'hello'],
      ['r2', 'champion', 'hello'],
      ['r3', 'champion', 'hello'],
      ['r4', 'challenger', 'hello'],
      ['r5', 'challenger', 'fail'],
    ];
    await pipeline.send(
      sent.map(([id, variant, payload]) => ({
        topic: topics.requests,
        key: id,
        value: codecs.request.encode(request(id, variant, payload)),
      })),
    );
    await waitFor('5 predictions', async () => {
      const samples = await scrape(inference);
      return samples.get('dynab_records_processed_total') === 5 ? samples : undefined;
    });
    await pipeline.send(
      sent.map(([id]) => ({
        topic: topics.labels,
        key: id,
        value: codecs.label.encode(labelFixture(id, { eventTime: Date.now() })),
      })),
    );
    const fromAggregator = await waitFor('10 records joined', async () => {
      const samples = await scrape(aggregator);
      return samples.get('dynab_records_processed_total') === 10 ? samples : undefined;
    });

    const fromRouter = await scrape(router);
    expect(
      fromRouter.get('dynab_assignments_total{experiment="spam-filter",variant="champion"}'),
    ).toBe(3);
    expect(
      fromRouter.get('dynab_assignments_total{experiment="spam-filter",variant="challenger"}'),
    ).toBe(2);
    expect(fromRouter.get('dynab_records_processed_total')).toBe(5);
    expect(fromRouter.get('dynab_transaction_duration_seconds_count')).toBeGreaterThan(0);
    expect(fromRouter.get('dynab_router_plan_build_seconds_count')).toBeGreaterThan(0);
    for (const p of ['0', '1'])
      expect(
        fromRouter.get(`dynab_consumer_lag_records{topic="${topics.requests}",partition="${p}"}`),
      ).toBe(0);

    const fromInference = await scrape(inference);
    expect(
      fromInference.get('dynab_invocations_total{experiment="spam-filter",variant="champion"}'),
    ).toBe(3);
    expect(
      fromInference.get('dynab_invocations_total{experiment="spam-filter",variant="challenger"}'),
    ).toBe(2);
    expect(
      fromInference.get(
        'dynab_model_errors_total{experiment="spam-filter",variant="challenger",code="MODEL_ERROR"}',
      ),
    ).toBe(1);
    expect(
      fromInference.get(
        'dynab_model_errors_total{experiment="spam-filter",variant="champion",code="MODEL_ERROR"}',
      ),
    ).toBeUndefined();
    expect(
      fromInference.get(
        'dynab_model_latency_seconds_count{experiment="spam-filter",variant="champion"}',
      ),
    ).toBe(3);
    expect(
      fromInference.get(
        'dynab_model_latency_seconds_bucket{le="10",experiment="spam-filter",variant="champion"}',
      ),
    ).toBe(3);

    // Four rewards of 1; the label of the failed prediction is dead-lettered (it earns nothing).
    expect(
      fromAggregator.get('dynab_rewards_total{experiment="spam-filter",variant="champion"}'),
    ).toBe(3);
    expect(
      fromAggregator.get('dynab_rewards_total{experiment="spam-filter",variant="challenger"}'),
    ).toBe(1);
    expect(
      fromAggregator.get('dynab_reward_sum{experiment="spam-filter",variant="champion"}'),
    ).toBe(3);
    expect(fromAggregator.get('dynab_dead_letters_total{code="INVALID_FIELD"}')).toBe(1);
    // The failed prediction stays open until its window closes (then it is dropped).
    expect(fromAggregator.get('dynab_pending_joins')).toBe(1);
    expect(fromAggregator.get('dynab_late_labels_total')).toBe(0);
    expect(fromAggregator.get('dynab_orphan_labels_total')).toBe(0);
    expect(fromAggregator.get('dynab_labels_forwarded_total')).toBe(0);
    expect(fromAggregator.get('dynab_transaction_duration_seconds_count')).toBeGreaterThan(0);

    // The router has the aggregator's snapshot now, and says how old it is.
    const age = await waitFor('snapshot age', async () =>
      (await scrape(router)).get('dynab_router_snapshot_age_seconds{experiment="spam-filter"}'),
    );
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);

    // A service that stops is not ready any more.
    await runningRouter.stop();
    expect(await readyz(router)).toEqual({
      status: 503,
      text: expect.stringContaining('stopping') as string,
    });
  });
});
