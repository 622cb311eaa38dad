// Inference throughput with one InvokeEndpoint call per record vs batch calls, against the local
// SageMaker endpoint serving the trained spam models (its own process, as `npm start` runs it),
// through the real AWS SDK. Not part of `npm run bench`; run it alone:
//   node --import tsx bench/inference-batch-bench.ts [--records 4000] [--batches 1,10,100]
//        [--rounds 3] [--service]
// Two measures per batch size (1 = one call per record):
//   calls    the inference call path in this process (plan, invoke with DYNAB_INFERENCE_CONCURRENCY
//            64 in flight, split, build and encode predictions), no broker: records/s and this
//            process's CPU per record.
//   service  (--service) the inference service itself on an embedded Kafka broker: a backlog of
//            assignments on 4 partitions, rate from the first prediction read back (read
//            committed) to the last.
// Rounds of the batch sizes are interleaved, so a busy neighbour slows them alike; the median
// round is printed.
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import type { VariantAssigned } from '../lib/contracts/events.ts';
import { topicNames, topicSpecs } from '../lib/contracts/topics.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { createLogger } from '../lib/log/logger.ts';
import { createSageMakerEndpoint } from '../lib/model-endpoint/sagemaker-endpoint.ts';
import { startInference } from '../services/inference/build-inference.ts';
import { invocationsOf, planCalls } from '../services/inference/core/plan-calls.ts';
import { predictionOf } from '../services/inference/core/prediction.ts';
import { limitInFlight } from '../services/inference/in-flight-limit.ts';
import { invokeCall } from '../services/inference/invoke-calls.ts';
import { startLocalEndpoint, stopChild } from '../services/launcher/service-processes.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';

const CONCURRENCY = 64;
const MAX_BATCH_BYTES = 1024 * 1024;

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}
const records = Number(option('records') ?? 4000);
const rounds = Number(option('rounds') ?? 3);
const batchSizes = (option('batches') ?? '1,100').split(',').map(Number);
const withService = process.argv.includes('--service');
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const cpuMs = (): number => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};
const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const { serve } = splitCorpus(loadSpamCorpus());
/** The router's output for the demo: mails of the serve split, half to each variant. */
const assignments: VariantAssigned[] = Array.from({ length: records }, (_, i) => {
  const mail = serve[i % serve.length];
  const variant = i % 2 === 0 ? 'champion' : 'challenger';
  return {
    request: {
      requestId: `r${i}`,
      experiment: 'spam-filter',
      payload: Buffer.from(mail?.text ?? ''),
      contentType: 'text/plain',
      userId: null,
      targetVariant: null,
      eventTime: Date.now(),
    },
    variant,
    policy: 'thompson-sampling',
    snapshotVersion: 1,
    propensity: 0.5,
    reason: 'posterior',
    decisionTime: Date.now(),
    allocation: [],
    shadowVariants: [],
  };
});
const payloadBytes = assignments.reduce((sum, a) => sum + a.request.payload.length, 0);

const runDir = await mkdtemp(join(tmpdir(), 'dynab-inference-bench-'));
const logDir = join(runDir, 'logs');
await mkdir(logDir, { recursive: true });
const local = await startLocalEndpoint(process.env, logDir, 'spam-filter');
const codecs = loadCodecs();
let kafka: EmbeddedKafka | null = null;

async function measureCalls(
  batch: number,
): Promise<{ perSecond: number; cpuUsPerRecord: number; calls: number }> {
  const sdk = createSageMakerEndpoint({
    region: 'us-east-1',
    endpointUrl: local.url,
    maxAttempts: 1,
  });
  let calls = 0;
  const endpoint = limitInFlight(
    {
      invoke: (input, signal) => {
        calls += 1;
        return sdk.invoke(input, signal);
      },
      close: () => sdk.close(),
    },
    CONCURRENCY,
  );
  const deps = {
    endpoint,
    maxAttempts: 4,
    monotonicNow: () => performance.now(),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  const started = performance.now();
  const cpuStarted = cpuMs();
  // As the service does per consumed batch: plan, invoke concurrently, build and encode.
  const plan = planCalls(
    assignments.flatMap((a, i) => invocationsOf(a, i)),
    () => (batch > 1 ? 'jsonlines' : null),
    { maxRecords: batch, maxBytes: MAX_BATCH_BYTES },
  );
  let encoded = 0;
  await Promise.all(
    plan.map(async (call) => {
      const results = await invokeCall(call, deps);
      const members = call.kind === 'single' ? [call.invocation] : call.invocations;
      for (const [i, invocation] of members.entries()) {
        const result = results[i];
        if (result?.failure !== null)
          throw new Error(`invocation failed: ${result?.failure?.message}`);
        encoded += codecs.prediction.encode(
          predictionOf(invocation, result, Date.now(), 'label'),
        ).length;
      }
    }),
  );
  const elapsedMs = performance.now() - started;
  const cpu = cpuMs() - cpuStarted;
  sdk.close();
  if (encoded === 0) throw new Error('no predictions');
  return { perSecond: (records / elapsedMs) * 1000, cpuUsPerRecord: (cpu * 1000) / records, calls };
}

async function measureService(batch: number, brokers: readonly string[]): Promise<number> {
  const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-inference-bench' });
  const topics = topicNames(`bench-${randomUUID().slice(0, 8)}.`);
  const sdk = createSageMakerEndpoint({
    region: 'us-east-1',
    endpointUrl: local.url,
    maxAttempts: 1,
  });
  try {
    await eventLog.ensureTopics(topicSpecs(topics, 4));
    const producer = await eventLog.createProducer();
    for (let i = 0; i < records; i += 500) {
      await producer.send(
        assignments.slice(i, i + 500).map((a) => ({
          topic: topics.assignments,
          key: a.request.requestId,
          value: codecs.assignment.encode(a),
        })),
      );
    }
    await producer.close();
    let predictions = 0;
    // The consumer group join before the first batch takes seconds with kafkajs; the rate is
    // timed from the first prediction read back to the last, which excludes it.
    const first = { at: Number.NaN, count: 0 };
    const reader = await eventLog.createConsumer({
      groupId: `${topics.predictions}-reader`,
      topics: [topics.predictions],
      fromBeginning: true,
      maxWaitTimeMs: 10,
    });
    await reader.run((b) => {
      predictions += b.records.length;
      if (Number.isNaN(first.at)) {
        first.at = performance.now();
        first.count = predictions;
      }
    });
    const started = performance.now();
    const inference = await startInference({
      eventLog,
      endpoint: sdk,
      codecs,
      topics,
      groupId: `${topics.assignments}-inference`,
      transactionalId: `${topics.assignments}-inference-tx`,
      concurrency: CONCURRENCY,
      maxAttempts: 4,
      batching: {
        formats: { 'spam-filter': batch > 1 ? 'jsonlines' : 'none' },
        maxRecords: batch,
        maxBytes: MAX_BATCH_BYTES,
      },
      predictedLabelField: 'label',
      now: Date.now,
      monotonicNow: () => performance.now(),
      logger: createLogger('bench', 'warn'),
    });
    const deadline = started + 600_000;
    while (predictions < records) {
      if (performance.now() > deadline) throw new Error(`only ${predictions} predictions`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const elapsedMs = performance.now() - first.at;
    await inference.stop();
    await reader.stop();
    return ((records - first.count) / elapsedMs) * 1000;
  } finally {
    sdk.close();
    await eventLog.close();
  }
}

try {
  say(
    `${records} spam mails (mean ${(payloadBytes / records / 1024).toFixed(1)} KiB), champion/challenger 50/50, ${CONCURRENCY} calls in flight, local endpoint ${local.url}`,
  );
  // Warm-up: connections, JIT, the endpoint's models.
  for (const batch of batchSizes) await measureCalls(batch);
  const callRuns = new Map(
    batchSizes.map((b) => [b, [] as Awaited<ReturnType<typeof measureCalls>>[]]),
  );
  for (let round = 0; round < rounds; round++) {
    for (const batch of batchSizes) callRuns.get(batch)?.push(await measureCalls(batch));
  }
  say('\n| records per call | calls | records/s (call path) | inference CPU per record |');
  say('|---:|---:|---:|---:|');
  for (const [batch, runs] of callRuns) {
    say(
      `| ${batch} | ${runs[0]?.calls ?? 0} | ${median(runs.map((r) => r.perSecond)).toFixed(0)} | ${median(runs.map((r) => r.cpuUsPerRecord)).toFixed(0)} µs |`,
    );
  }

  if (withService) {
    let brokers = (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== '');
    if (brokers.length === 0) {
      kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka') });
      brokers = kafka.brokers;
    }
    const serviceRuns = new Map(batchSizes.map((b) => [b, [] as number[]]));
    for (let round = 0; round < rounds; round++) {
      for (const batch of batchSizes)
        serviceRuns.get(batch)?.push(await measureService(batch, brokers));
    }
    say('\n| records per call | records/s (inference service, Kafka backlog → predictions) |');
    say('|---:|---:|');
    for (const [batch, runs] of serviceRuns) say(`| ${batch} | ${median(runs).toFixed(0)} |`);
  }
} finally {
  await stopChild(local.child);
  await kafka?.stop();
  await rm(runDir, { recursive: true, force: true });
}
