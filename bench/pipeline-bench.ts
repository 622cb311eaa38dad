// End-to-end pipeline benchmark: router, inference and aggregator as three processes (as
// `npm start` runs them) against a real Kafka broker and the local SageMaker endpoint serving
// the trained spam models.
//   1. throughput: N requests produced as fast as possible; time from the first send until the
//      N-th assignment and the N-th prediction are read back (read-committed).
//   2. label → router latency: one label at a time for an already-predicted request; time until
//      a routing table fed by the posteriors topic (the router's own code path) shows it.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import type { PosteriorPublished, PredictionMade } from '../lib/contracts/events.ts';
import { CHAMPION_CHALLENGER, defineExperiment } from '../lib/contracts/experiment-defaults.ts';
import { topicNames, topicSpecs } from '../lib/contracts/topics.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { startTableReader } from '../lib/stream/table-reader.ts';
import { RoutingTable } from '../services/router/core/routing-table.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';
import {
  spawnService,
  startLocalEndpoint,
  stopChild,
  waitForReady,
  type Child,
} from '../services/launcher/service-processes.ts';

export interface PipelineBenchOptions {
  readonly requests: number;
  readonly latencySamples: number;
  readonly partitions: number;
  readonly brokers: readonly string[];
  readonly snapshotIntervalMs: number;
}

export interface PipelineBenchResult {
  readonly requests: number;
  readonly assignmentsPerSecond: number;
  readonly predictionsPerSecond: number;
  readonly labelToRouterMs: { readonly median: number; readonly p95: number; readonly max: number };
}

const quantile = (sorted: readonly number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

async function waitUntil(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`benchmark timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export async function runPipelineBench(
  options: PipelineBenchOptions,
): Promise<PipelineBenchResult> {
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-bench-'));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir, { recursive: true });
  let kafka: EmbeddedKafka | null = null;
  const children: Child[] = [];
  let brokers = [...options.brokers];
  if (brokers.length === 0) {
    kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka') });
    brokers = kafka.brokers;
  }
  const prefix = `bench-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  const codecs = loadCodecs();
  const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-bench' });
  try {
    await eventLog.waitUntilReady(60_000);
    await eventLog.ensureTopics(topicSpecs(topics, options.partitions));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DYNAB_BROKERS: brokers.join(','),
      DYNAB_TOPIC_PREFIX: prefix,
      DYNAB_PARTITIONS: String(options.partitions),
      DYNAB_STATE_DIR: join(runDir, 'state'),
      DYNAB_SNAPSHOT_INTERVAL_MS: String(options.snapshotIntervalMs),
      DYNAB_LOG_LEVEL: 'warn',
      // The local endpoint reads JSON lines: many requests per InvokeEndpoint call.
      DYNAB_INFERENCE_BATCH_FORMATS:
        process.env['DYNAB_INFERENCE_BATCH_FORMATS'] ?? 'spam-filter=jsonlines',
    };
    const local = await startLocalEndpoint(env, logDir, 'spam-filter');
    children.push(local.child);
    env['DYNAB_SAGEMAKER_ENDPOINT_URL'] = local.url;
    const experiment = defineExperiment({
      experiment: 'spam-filter',
      variants: CHAMPION_CHALLENGER,
      warmUpRewards: 0,
      updatedAt: Date.now(),
    });
    const producer = await eventLog.createProducer();
    await producer.send([
      {
        topic: topics.experiments,
        key: experiment.experiment,
        value: codecs.experiment.encode(experiment),
      },
    ]);
    for (const [name, script] of [
      ['aggregator', 'services/aggregator/main.ts'],
      ['inference', 'services/inference/main.ts'],
      ['router', 'services/router/main.ts'],
    ] as const) {
      children.push(spawnService(name, script, env, logDir));
    }
    await Promise.all(
      children.filter((c) => c.name !== 'local-endpoint').map((c) => waitForReady(c, 120_000)),
    );

    const { serve } = splitCorpus(loadSpamCorpus());
    const predictions = new Map<string, PredictionMade>();
    let assignments = 0;
    const predictionConsumer = await eventLog.createConsumer({
      groupId: `${prefix}bench-p`,
      topics: [topics.predictions],
      fromBeginning: true,
      maxWaitTimeMs: 10,
    });
    await predictionConsumer.run((batch) => {
      for (const r of batch.records) {
        const p = codecs.prediction.decode(r.value ?? Buffer.alloc(0));
        predictions.set(p.requestId, p);
      }
    });
    const assignmentConsumer = await eventLog.createConsumer({
      groupId: `${prefix}bench-a`,
      topics: [topics.assignments],
      fromBeginning: true,
      maxWaitTimeMs: 10,
    });
    await assignmentConsumer.run((batch) => {
      assignments += batch.records.length;
    });
    const table = new RoutingTable();
    table.applyExperiment(experiment.experiment, experiment);
    const posteriors = await startTableReader<PosteriorPublished>({
      eventLog,
      topic: topics.posteriors,
      decode: (r) => codecs.posterior.decode(r.value ?? Buffer.alloc(0)),
      onChange: (changed) => {
        for (const p of changed.values()) if (p !== null) table.applyPosterior(p);
      },
      groupPrefix: `${prefix}bench-posteriors`,
    });

    const requestRecord = (i: number): OutRecord => {
      const mail = serve[i % serve.length];
      const requestId = `r${i}`;
      return {
        topic: topics.requests,
        key: requestId,
        value: codecs.request.encode({
          requestId,
          experiment: 'spam-filter',
          payload: Buffer.from(mail?.text ?? ''),
          contentType: 'text/plain',
          userId: null,
          targetVariant: null,
          eventTime: Date.now(),
        }),
      };
    };

    // Warm-up: connections, JIT, consumer groups settled.
    const warmup = 500;
    for (let i = 0; i < warmup; i += 250)
      await producer.send(Array.from({ length: 250 }, (_, j) => requestRecord(i + j)));
    await waitUntil('warm-up predictions', () => predictions.size >= warmup, 120_000);

    const total = warmup + options.requests;
    const started = performance.now();
    let assignmentsDone = 0;
    const sending = (async () => {
      for (let i = warmup; i < total; i += 500) {
        await producer.send(
          Array.from({ length: Math.min(500, total - i) }, (_, j) => requestRecord(i + j)),
        );
      }
    })();
    await waitUntil('assignments', () => assignments >= total, 600_000);
    assignmentsDone = performance.now();
    await waitUntil('predictions', () => predictions.size >= total, 600_000);
    const predictionsDone = performance.now();
    await sending;

    // Label → router latency, one label at a time so each sample is unloaded.
    const version = (): number => table.route('spam-filter')?.snapshotVersion ?? -1;
    const latencies: number[] = [];
    for (let i = 0; i < options.latencySamples; i++) {
      const requestId = `r${i}`;
      const prediction = predictions.get(requestId);
      if (prediction === undefined) throw new Error(`no prediction for ${requestId}`);
      const before = version();
      const sentAt = performance.now();
      await producer.send([
        {
          topic: topics.labels,
          key: requestId,
          value: codecs.label.encode({
            requestId,
            reward: null,
            label: prediction.predictedLabel ?? 'ham',
            eventTime: Date.now(),
            source: 'bench',
          }),
        },
      ]);
      await waitUntil('the router to see the label', () => version() > before, 30_000);
      latencies.push(performance.now() - sentAt);
    }
    latencies.sort((a, b) => a - b);

    await posteriors.stop();
    await predictionConsumer.stop();
    await assignmentConsumer.stop();
    await producer.close();
    return {
      requests: options.requests,
      assignmentsPerSecond: options.requests / ((assignmentsDone - started) / 1000),
      predictionsPerSecond: options.requests / ((predictionsDone - started) / 1000),
      labelToRouterMs: {
        median: quantile(latencies, 0.5),
        p95: quantile(latencies, 0.95),
        max: latencies[latencies.length - 1] ?? Number.NaN,
      },
    };
  } finally {
    await Promise.all(children.map(stopChild));
    await eventLog.close().catch(() => undefined);
    await kafka?.stop();
    await rm(runDir, { recursive: true, force: true });
  }
}
