// What every stage of the scale benchmark shares: the run's context (broker, codecs, folders),
// the workload (payloads of both sizes, requests, labels, the experiment), and the stage itself:
// a topic prefix whose processes, clients and topics are all removed when the stage ends, also
// when it fails.
import { join } from 'node:path';
import type { Codecs } from '../lib/codec/avro-codec.ts';
import { CHAMPION_CHALLENGER, defineExperiment } from '../lib/contracts/experiment-defaults.ts';
import { topicNames, topicSpecs, type TopicNames } from '../lib/contracts/topics.ts';
import type { EventLog, LogProducer, LogRecord, OutRecord } from '../lib/event-log/event-log.ts';
import type { LabelledMail } from '../services/local-endpoint/spam-corpus.ts';
import { spawnService, stopChild, type Child } from '../services/launcher/service-processes.ts';
import {
  CleanupStack,
  deleteTopicsWithPrefix,
  ensureTopicsRetrying,
  spawnEndpoint,
  withTimeout,
} from './scale-harness.ts';
import { fitUtf8 } from './scale-measures.ts';
import type { SizeKey } from './scale-results.ts';

/** The experiment of every stage; the local endpoints serve an endpoint of the same name. */
export const EXPERIMENT = 'spam-filter';
export const SMALL_BYTES = 256;

export const SCRIPTS = {
  router: 'services/router/main.ts',
  inference: 'services/inference/main.ts',
  aggregator: 'services/aggregator/main.ts',
  noopTwin: 'bench/noop-twin-main.ts',
} as const;

/**
 * The local endpoints, each serving the experiment's variants on 127.0.0.1. Arguments win over
 * the DYNAB_LOCAL_ENDPOINT_* variables that pass through from this process's environment.
 */
export const ENDPOINTS = {
  spam: {
    script: 'services/local-endpoint/main.ts',
    args: [
      ['--endpoint', EXPERIMENT],
      ['--host', '127.0.0.1'],
      ['--port', '0'],
      ['--variants', CHAMPION_CHALLENGER.map((v) => `${v.name}=${v.weight}`).join(',')],
    ].flat(),
  },
  instant: {
    script: 'bench/instant-endpoint-main.ts',
    args: [
      ['--endpoint', EXPERIMENT],
      ['--variants', CHAMPION_CHALLENGER.map((v) => v.name).join(',')],
    ].flat(),
  },
} as const;

export const READY_TIMEOUT_MS = 180_000;
/** A wait fails when its count has not moved for this long. */
export const STALL_MS = 120_000;
/** Generous deadline for n outputs: two minutes plus 50 ms per record (20 records/s). */
export const deadlineFor = (records: number): number => 120_000 + records * 50;

export interface ScaleContext {
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly brokers: readonly string[];
  /** For Kafka's own tools. */
  readonly classpath: string;
  readonly partitions: number;
  readonly runDir: string;
  readonly logDir: string;
  /** Every topic of the run starts with it. */
  readonly runPrefix: string;
  /** The embedded broker's process, for its CPU time (undefined for an external broker). */
  readonly brokerPid?: number;
  readonly note: (message: string) => void;
}

/** One of the two record sizes, built from the served half of the spam corpus. */
export interface PayloadSize {
  readonly key: SizeKey;
  readonly meanBytes: number;
  payload(index: number): Buffer;
  /** The truth label of request `index`'s mail. */
  truth(index: number): string;
}

export function payloadSizes(serve: readonly LabelledMail[]): Record<SizeKey, PayloadSize> {
  if (serve.length === 0) throw new Error('the served half of the spam corpus is empty');
  const mails = serve.map((m) => Buffer.from(m.text, 'utf8'));
  const small = serve.map((m) => fitUtf8(m.text, SMALL_BYTES));
  const truth = (i: number): string => serve[i % serve.length]?.label ?? 'ham';
  return {
    small: {
      key: 'small',
      meanBytes: SMALL_BYTES,
      payload: (i) => small[i % small.length] ?? Buffer.alloc(0),
      truth,
    },
    spam: {
      key: 'spam',
      meanBytes: mails.reduce((sum, b) => sum + b.length, 0) / mails.length,
      payload: (i) => mails[i % mails.length] ?? Buffer.alloc(0),
      truth,
    },
  };
}

/** A record whose topic is chosen when it is written. */
export type BacklogRecord = Omit<OutRecord, 'topic'>;

export function requestRecord(
  codecs: Codecs,
  size: PayloadSize,
  requestId: string,
  index: number,
): BacklogRecord {
  return {
    key: requestId,
    value: codecs.request.encode({
      requestId,
      experiment: EXPERIMENT,
      payload: size.payload(index),
      contentType: 'text/plain',
      userId: null,
      targetVariant: null,
      eventTime: Date.now(),
    }),
  };
}

/** A label: a truth label to compare with the prediction, or an explicit reward. */
export function labelRecord(
  codecs: Codecs,
  requestId: string,
  label: string | null,
  reward: number | null,
): BacklogRecord {
  return {
    key: requestId,
    value: codecs.label.encode({
      requestId,
      reward,
      label,
      eventTime: Date.now(),
      source: 'scale-bench',
    }),
  };
}

/** Records read back, ready to be written again elsewhere (same key, value, partition). */
export function backlogOf(records: readonly LogRecord[]): BacklogRecord[] {
  return records.map((r) => ({
    key: r.key,
    value: r.value,
    headers: r.headers,
    partition: r.partition,
  }));
}

export interface Stage {
  readonly prefix: string;
  readonly cleanup: CleanupStack;
  /** A producer of this stage (kafkajs keeps refreshing metadata of every topic it wrote to). */
  readonly producer: LogProducer;
  /** Writes each call as one transaction: a backlog that appears at once. */
  readonly backlogProducer: LogProducer;
  /** The dynab topics of `prefix` (plus plain extra ones) and the experiment in them. */
  prepareTopics(prefix: string, extra?: readonly string[]): Promise<TopicNames>;
  /** Environment of a service of this run: this process's own, plus broker, prefix and state. */
  serviceEnv(prefix: string, extra?: Readonly<Record<string, string>>): NodeJS.ProcessEnv;
  spawn(name: string, script: string, env: NodeJS.ProcessEnv): Child;
  endpoint(
    name: string,
    endpoint: { readonly script: string; readonly args: readonly string[] },
    env: NodeJS.ProcessEnv,
  ): Promise<{ child: Child; url: string }>;
}

/**
 * Runs `body` as a stage under the prefix `<run prefix><name>.`. Whatever it started (processes,
 * clients) is stopped and its topics are deleted when it ends, in reverse order of creation;
 * `run` also holds the clean-up so that an interrupted run does it.
 */
export async function inStage<T>(
  ctx: ScaleContext,
  run: CleanupStack,
  name: string,
  body: (stage: Stage) => Promise<T>,
): Promise<T> {
  const prefix = `${ctx.runPrefix}${name}.`;
  const cleanup = new CleanupStack(ctx.note);
  run.defer(`stage ${name}`, () => cleanup.runAll());
  cleanup.defer(`delete the topics ${prefix}*`, () =>
    deleteTopicsWithPrefix({ brokers: ctx.brokers, classpath: ctx.classpath }, prefix),
  );
  ctx.note(`stage ${name}`);
  try {
    const producer = await ctx.eventLog.createProducer();
    cleanup.defer('close the producer', () => producer.close());
    const backlogProducer = await ctx.eventLog.createProducer({
      transactionalId: `${prefix}backlog`,
    });
    cleanup.defer('close the backlog producer', () => backlogProducer.close());
    const stage: Stage = {
      prefix,
      cleanup,
      producer,
      backlogProducer,
      async prepareTopics(topicPrefix, extra = []) {
        const topics = topicNames(topicPrefix);
        await ensureTopicsRetrying(ctx.eventLog, [
          ...topicSpecs(topics, ctx.partitions),
          ...extra.map((topic) => ({ name: topic, partitions: ctx.partitions, compacted: false })),
        ]);
        const experiment = defineExperiment({
          experiment: EXPERIMENT,
          variants: CHAMPION_CHALLENGER,
          warmUpRewards: 0,
          updatedAt: Date.now(),
        });
        await producer.send([
          {
            topic: topics.experiments,
            key: EXPERIMENT,
            value: ctx.codecs.experiment.encode(experiment),
          },
        ]);
        return topics;
      },
      serviceEnv: (topicPrefix, extra = {}) => ({
        // Everything set for this run passes through (e.g. DYNAB_INFERENCE_* tuning keys).
        ...process.env,
        DYNAB_LOG_LEVEL: process.env['DYNAB_LOG_LEVEL'] ?? 'warn',
        // Both local endpoints (spam models, instant model) read JSON lines, as npm start sets up.
        DYNAB_INFERENCE_BATCH_FORMATS:
          process.env['DYNAB_INFERENCE_BATCH_FORMATS'] ?? `${EXPERIMENT}=jsonlines`,
        DYNAB_BROKERS: ctx.brokers.join(','),
        DYNAB_TOPIC_PREFIX: topicPrefix,
        DYNAB_PARTITIONS: String(ctx.partitions),
        DYNAB_STATE_DIR: join(ctx.runDir, 'state', topicPrefix),
        ...extra,
      }),
      spawn(childName, script, env) {
        const child = spawnService(childName, script, env, ctx.logDir);
        cleanup.defer(`stop ${childName}`, () => stopChild(child));
        return child;
      },
      async endpoint(childName, { script, args }, env) {
        const started = spawnEndpoint(childName, script, args, env, ctx.logDir);
        cleanup.defer(`stop ${childName}`, () => stopChild(started.child));
        const url = await withTimeout(started.url, READY_TIMEOUT_MS, `${childName} to listen`);
        return { child: started.child, url };
      },
    };
    return await body(stage);
  } finally {
    await cleanup.runAll();
  }
}
