// `npm run bench -- scale`: how far the backend scales on one broker, in one run, at two record
// sizes (256-byte texts and the served spam mails, ~5.4 KB mean). Stages, each under its own
// topic prefix and each removing its processes and topics when it ends, also on failure:
//   ceiling    Kafka's own producer, consumer and round trip (kafka-ceiling.ts)
//   drains-*   each stream service beside its no-op twin, and scale-out (scale-drains.ts)
//   e2e        the whole stack: maximum rate, latency under open-loop load, label → router
//              (scale-e2e.ts)
// The method of each measure is written up in BENCHMARKS.md ("Backend scale").
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { KAFKA_VERSION, startEmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { resolveKafkaToolsClasspath } from '../infra/kafka/kafka-tools.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';
import {
  TUNED_PRODUCER_PROPS,
  runConsumerPerformance,
  runEndToEndLatency,
  runProducerPerformance,
  writeServedMailsPayloadFile,
  type CeilingPayload,
  type KafkaCeilingReport,
  type KafkaCeilingRow,
} from './kafka-ceiling.ts';
import { runDrains } from './scale-drains.ts';
import { runEndToEnd } from './scale-e2e.ts';
import { CleanupStack } from './scale-harness.ts';
import { scalePlan, type ScalePlan, type ScaleResult, type SizeKey } from './scale-results.ts';
import {
  SMALL_BYTES,
  inStage,
  payloadSizes,
  type ScaleContext,
  type Stage,
} from './scale-stage.ts';

export interface ScaleBenchOptions {
  /** Backlog of each drain and requests of each maximum-rate run. */
  readonly requests: number;
  readonly partitions: number;
  readonly quick: boolean;
  /** Empty: an embedded broker in a temporary folder. */
  readonly brokers: readonly string[];
  /** Keep the processes' logs after a successful run too (they are always kept on failure). */
  readonly keepLogs?: boolean;
  readonly onProgress: (message: string) => void;
}

export async function runScaleBench(options: ScaleBenchOptions): Promise<ScaleResult> {
  const note = options.onProgress;
  const plan = scalePlan(options.quick);
  const started = performance.now();
  const loadAverageStart = loadavg()[0] ?? Number.NaN;
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-scale-'));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const run = new CleanupStack(note);
  let failed = true;
  // Ctrl-C: the services get the signal too and stop themselves; stop the rest here.
  const onSigint = (): void => {
    note('interrupted: cleaning up');
    void run.runAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  run.defer('remove the run folder', async () => {
    process.off('SIGINT', onSigint);
    if (!failed && options.keepLogs !== true) {
      await rm(runDir, { recursive: true, force: true });
      return;
    }
    // A failed run keeps the processes' logs, nothing else (broker data, state, payload file).
    for (const entry of await readdir(runDir))
      if (join(runDir, entry) !== logDir)
        await rm(join(runDir, entry), { recursive: true, force: true });
    note(`service logs kept in ${logDir}`);
  });
  try {
    let brokers = [...options.brokers];
    let brokerPid: number | undefined;
    const embedded = brokers.length === 0;
    if (embedded) {
      const kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka'), onProgress: note });
      run.defer('stop the broker', () => kafka.stop());
      brokers = kafka.brokers;
      brokerPid = kafka.pid;
    }
    const classpath = await resolveKafkaToolsClasspath(undefined, note);
    const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-scale-bench' });
    run.defer('close the event log', () => eventLog.close());
    await eventLog.waitUntilReady(60_000);
    const ctx: ScaleContext = {
      eventLog,
      codecs: loadCodecs(),
      brokers,
      classpath,
      partitions: options.partitions,
      runDir,
      logDir,
      runPrefix: `scale-${randomUUID().slice(0, 8)}.`,
      ...(brokerPid === undefined ? {} : { brokerPid }),
      note,
    };
    const sizes = payloadSizes(splitCorpus(loadSpamCorpus()).serve);

    const ceiling = await inStage(ctx, run, 'ceiling', (stage) => measureCeiling(ctx, stage, plan));
    const drains = [
      await inStage(ctx, run, 'drains-small', (stage) =>
        runDrains(ctx, stage, sizes.small, options.requests * plan.smallDrainFactor, false),
      ),
      await inStage(ctx, run, 'drains-spam', (stage) =>
        runDrains(ctx, stage, sizes.spam, options.requests, true),
      ),
    ];
    const endToEnd = await inStage(ctx, run, 'e2e', (stage) =>
      runEndToEnd(ctx, stage, plan, options.requests, [sizes.small, sizes.spam]),
    );

    failed = false;
    return {
      options: {
        requests: options.requests,
        partitions: options.partitions,
        quick: options.quick,
      },
      plan,
      broker: embedded ? `embedded Kafka ${KAFKA_VERSION}` : `external (${brokers.join(',')})`,
      loadAverageStart,
      loadAverageEnd: loadavg()[0] ?? Number.NaN,
      seconds: (performance.now() - started) / 1000,
      smallBytes: SMALL_BYTES,
      spamMeanBytes: sizes.spam.meanBytes,
      ceiling,
      drains,
      endToEnd,
    };
  } finally {
    await run.runAll();
  }
}

/**
 * Kafka's own tools at both sizes, on topics of the stage (so that the stage deletes them):
 * producer, consumer reading those records back, and round trips of one record at a time.
 */
async function measureCeiling(
  ctx: ScaleContext,
  stage: Stage,
  plan: ScalePlan,
): Promise<KafkaCeilingReport> {
  const target = { brokers: ctx.brokers, classpath: ctx.classpath };
  const mails = await writeServedMailsPayloadFile(ctx.runDir);
  const sizes: { key: SizeKey; label: string; payload: CeilingPayload; records: number }[] = [
    {
      key: 'small',
      label: 'fixed-size',
      payload: { kind: 'fixed', bytes: SMALL_BYTES },
      records: plan.ceilingSmallRecords,
    },
    {
      key: 'spam',
      label: `${mails.count} served spam mails`,
      payload: mails,
      records: plan.ceilingSpamRecords,
    },
  ];
  const rows: KafkaCeilingRow[] = [];
  for (const size of sizes) {
    const recordBytes = size.payload.kind === 'fixed' ? size.payload.bytes : size.payload.meanBytes;
    ctx.note(`ceiling ${size.key}: producer, consumer, round trips`);
    const producer = await runProducerPerformance(target, {
      topic: `${stage.prefix}producer-${size.key}`,
      records: size.records,
      payload: size.payload,
      partitions: ctx.partitions,
    });
    const consumer = await runConsumerPerformance(target, {
      topic: producer.topic,
      records: size.records,
    });
    const latency = await runEndToEndLatency(target, {
      topic: `${stage.prefix}round-trip-${size.key}`,
      messages: plan.ceilingRoundTrips,
      recordBytes: Math.round(recordBytes),
    });
    rows.push({ label: size.label, recordBytes, producer, consumer, latency });
  }
  return {
    kafkaVersion: KAFKA_VERSION,
    producerProps: TUNED_PRODUCER_PROPS,
    partitions: ctx.partitions,
    rows,
  };
}
