// Configuration, parsed once at start from environment variables. Every problem is reported in
// one message; the result is frozen and passed down. Each key is documented where it is defined.
import { z } from 'zod';
import { DynabError } from '../errors/catalogue.ts';
import { BATCH_FORMATS, type BatchFormat } from '../model-batch/batch-format.ts';
import {
  DEFAULT_ROCKSDB_MEMORY,
  MAX_BLOCK_CACHE_BYTES,
  MIN_MEMTABLE_BUDGET_BYTES,
} from '../store/rocksdb-memory.ts';

/** How an experiment's invocations are batched: a batch format, or `none` (a call per record). */
export type BatchFormatSetting = BatchFormat | 'none';
/** Batch format per experiment (endpoint name); the key `*` applies to experiments not listed. */
export type BatchFormatSettings = Readonly<Record<string, BatchFormatSetting>>;

const BATCH_FORMAT_SETTINGS: readonly string[] = [...BATCH_FORMATS, 'none'];
/** SageMaker's real-time payload limit; a batch body above it would be rejected whole. */
export const SAGEMAKER_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** What the router does with a request for an experiment it does not know (see the key). */
export const UNKNOWN_EXPERIMENT_MODES = ['fallback', 'dead-letter'] as const;
export type UnknownExperimentMode = (typeof UNKNOWN_EXPERIMENT_MODES)[number];

/** Where label ingestion reads application logs (see the key). */
export const LABEL_SOURCES = ['kafka', 'kinesis'] as const;
export type LabelSourceKind = (typeof LABEL_SOURCES)[number];

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);
const int = (min: number) => z.coerce.number().int().min(min);
const bool = z.enum(['true', 'false']).transform((text) => text === 'true');

/** Parses `spam-filter=jsonlines, *=none`, reporting every bad entry. */
const batchFormats = z.string().transform((text, context) => {
  const settings: Record<string, BatchFormatSetting> = Object.create(null) as Record<
    string,
    BatchFormatSetting
  >;
  const seen = new Set<string>();
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const [name = '', format = '', ...rest] = entry.split('=').map((part) => part.trim());
    let problem: string | null = null;
    if (rest.length > 0 || name === '' || format === '') {
      problem = `${JSON.stringify(entry.trim())} is not experiment=format`;
    } else if (seen.has(name)) {
      problem = `${JSON.stringify(name)} is listed twice`;
    } else if (!BATCH_FORMAT_SETTINGS.includes(format)) {
      problem = `${JSON.stringify(name)}: unknown batch format ${JSON.stringify(format)} (one of ${BATCH_FORMAT_SETTINGS.join(', ')})`;
    }
    seen.add(name);
    if (problem !== null) {
      context.issues.push({ code: 'custom', message: problem, input: text });
      continue;
    }
    settings[name] = format as BatchFormatSetting;
  }
  return Object.freeze<BatchFormatSettings>(settings);
});

const schema = z.object({
  /** DYNAB_BROKERS: comma-separated bootstrap brokers. Empty: `npm start` runs an embedded broker. */
  brokers: csv.default([]),
  /** DYNAB_TOPIC_PREFIX: prefix of every topic name. */
  topicPrefix: z.string().default('dynab.'),
  /** DYNAB_PARTITIONS: partitions of the request-keyed topics (requests … rewards). */
  partitions: int(1).default(4),
  /** DYNAB_STATE_DIR: folder for local state (RocksDB). */
  stateDir: z.string().default('.dynab/state'),
  /** DYNAB_INSTANCE_ID: distinguishes replicas of one service (transactional ids, state dirs). */
  instanceId: z.string().min(1).default('0'),
  /** DYNAB_MAX_PAYLOAD_BYTES: requests with larger payloads are dead-lettered by the router. */
  maxPayloadBytes: int(1).default(256 * 1024),
  /**
   * DYNAB_UNKNOWN_EXPERIMENT: what the router does with a request for an experiment it does not
   * know. `fallback` (default): it is served as if dynab were not there, by the endpoint's own
   * production-variant weights (no TargetVariant; policy `fallback-weights`; the variant that
   * answered is recorded on the prediction), counted and logged, and kept out of every posterior.
   * `dead-letter`: it goes to the dead letters as UNKNOWN_EXPERIMENT.
   */
  unknownExperiment: z.enum(UNKNOWN_EXPERIMENT_MODES).default('fallback'),
  /** DYNAB_SAGEMAKER_REGION: AWS region of the SageMaker runtime. */
  sagemakerRegion: z.string().default('us-east-1'),
  /** DYNAB_SAGEMAKER_ENDPOINT_URL: override URL (the local endpoint); unset means real AWS. */
  sagemakerEndpointUrl: z.url().optional(),
  /** DYNAB_INFERENCE_CONCURRENCY: model invocations in flight per inference instance. */
  inferenceConcurrency: int(1).default(64),
  /** DYNAB_INFERENCE_TIMEOUT_MS: timeout of one model invocation. */
  inferenceTimeoutMs: int(1).default(10_000),
  /** DYNAB_INFERENCE_MAX_ATTEMPTS: attempts for throttled/unavailable invocations. */
  inferenceMaxAttempts: int(1).default(4),
  /**
   * DYNAB_INFERENCE_BATCH_FORMATS: `experiment=format,…` with format `jsonlines`, `csv`,
   * `instances` or `none`, and `*` for every experiment not listed (without `*`, unlisted ones are
   * not batched). Assignments of one experiment and variant that arrive together are sent as one
   * InvokeEndpoint call in that format. Default `*=none`: whether a container reads batches is a
   * property of the model behind the endpoint, which only its owner knows, so batching is
   * switched on per endpoint (`npm start` does it for the local endpoint it starts).
   */
  inferenceBatchFormats: batchFormats.prefault('*=none'),
  /** DYNAB_INFERENCE_MAX_BATCH_RECORDS: most records in one batched InvokeEndpoint call. */
  inferenceMaxBatchRecords: int(1).default(100),
  /**
   * DYNAB_INFERENCE_MAX_BATCH_BYTES: largest batch body. Default 1 MiB, well under SageMaker's
   * 6 MB payload limit (the most allowed here), so a batch is never refused for its size and one
   * call stays short; a record larger than this on its own is still sent, alone.
   */
  inferenceMaxBatchBytes: int(1)
    .max(SAGEMAKER_MAX_PAYLOAD_BYTES)
    .default(1024 * 1024),
  /** DYNAB_PREDICTED_LABEL_FIELD: JSON field of the model output holding the predicted label. */
  predictedLabelField: z.string().default('label'),
  /** DYNAB_SNAPSHOT_INTERVAL_MS: the aggregator publishes changed posteriors at most this often. */
  snapshotIntervalMs: int(0).default(50),
  /**
   * DYNAB_ORPHAN_AFTER_MS: a label still without a prediction this long (event time) after it is
   * dead-lettered as an orphan; a resolved request is forgotten (its join slot deleted) this long
   * after its window closed, so late labels and duplicates are recognised until then.
   */
  orphanAfterMs: int(1).default(7 * 24 * 60 * 60 * 1000),
  /**
   * DYNAB_EVENT_TIME_ALLOWANCE_MS: how far a label's event time may lie beyond the broker
   * timestamp of its record (producers' clock skew and buffering). A label dated further ahead is
   * dead-lettered with the reason, never counted or clamped: its event time drives the partition's
   * watermark, and one record must not close the windows of everything else on its partition.
   */
  eventTimeAllowanceMs: int(0).default(5 * 60 * 1000),
  /**
   * DYNAB_IDLE_CLOSE_MS: after this long without any label on a partition (processing time), the
   * aggregator's watermark there advances with processing time, so windows close on an idle
   * labels stream. 0 turns the rule off (windows then close only as label event times advance).
   */
  idleCloseMs: int(0).default(10 * 60 * 1000),
  /** DYNAB_DECIDER_INTERVAL_MS: the decider recomputes changed experiments at most this often. */
  deciderIntervalMs: int(10).default(1000),
  /**
   * DYNAB_HISTORY_INTERVAL_MS: the decider appends an experiment's posterior summary and a change
   * of its allocation to the experiment history at most this often (revisions and decisions
   * always).
   */
  historyIntervalMs: int(0).default(60_000),
  /**
   * DYNAB_ROCKSDB_BLOCK_CACHE_BYTES: block cache of each aggregator store (default 128 MiB, at most
   * 4 GiB − 1). With DYNAB_ROCKSDB_INDEX_IN_CACHE it also holds the index and filter blocks, and
   * then caps all the memory RocksDB uses for reading, however many joins are pending. Size it to
   * hold those blocks, about 6 MB per million pending joins, with room to spare: once they no
   * longer fit, every random read parses them again (BENCHMARKS.md, "State store memory").
   */
  rocksdbBlockCacheBytes: int(1)
    .max(MAX_BLOCK_CACHE_BYTES)
    .default(DEFAULT_ROCKSDB_MEMORY.blockCacheBytes),
  /**
   * DYNAB_ROCKSDB_MEMTABLE_BUDGET_BYTES: write-buffer budget of each aggregator store (default
   * 64 MiB, at least 4 MiB): write buffers of a quarter of it, flushed two at a time; up to 1.5 ×
   * the budget only while flushes fall behind. Larger budgets write to disk less often.
   */
  rocksdbMemtableBudgetBytes: int(MIN_MEMTABLE_BUDGET_BYTES).default(
    DEFAULT_ROCKSDB_MEMORY.memtableBudgetBytes,
  ),
  /**
   * DYNAB_ROCKSDB_INDEX_IN_CACHE: `true` (default) keeps index and filter blocks in the block
   * cache; `false` keeps them beside every open table file instead (faster random reads once the
   * cache is too small for them, but about 6 MB more per million pending joins, unbounded).
   */
  rocksdbIndexInCache: bool.default(DEFAULT_ROCKSDB_MEMORY.indexAndFilterInCache),
  /**
   * DYNAB_LABEL_SOURCE: where label ingestion reads application logs: `kafka` (default, the topic
   * DYNAB_APP_LOG_TOPIC) or `kinesis` (the stream DYNAB_KINESIS_STREAM).
   */
  labelSource: z.enum(LABEL_SOURCES).default('kafka'),
  /**
   * DYNAB_LABEL_MAPPING_FILE: the label mapping (JSON) of label ingestion: where request id,
   * experiment, user and event time are in an application-log record, and the rules that make
   * labels (services/label-ingestion/README.md). Required by that service, checked at its start.
   */
  labelMappingFile: z.string().min(1).optional(),
  /** DYNAB_APP_LOG_TOPIC: the Kafka topic of application logs (default `<prefix>app-logs`). */
  appLogTopic: z.string().min(1).optional(),
  /**
   * DYNAB_APP_LOG_MAX_RECORD_BYTES: larger application-log records are dead-lettered before they
   * are parsed (default 1 MiB).
   */
  appLogMaxRecordBytes: int(1).default(1024 * 1024),
  /** DYNAB_KINESIS_STREAM: the Kinesis stream of application logs (for DYNAB_LABEL_SOURCE=kinesis). */
  kinesisStream: z.string().min(1).optional(),
  /** DYNAB_KINESIS_REGION: AWS region of the Kinesis stream. */
  kinesisRegion: z.string().default('us-east-1'),
  /** DYNAB_KINESIS_ENDPOINT_URL: override URL (an emulator); unset means real AWS. */
  kinesisEndpointUrl: z.url().optional(),
  /**
   * DYNAB_KINESIS_POLL_INTERVAL_MS: pause between GetRecords calls on a shard that returned
   * nothing (AWS allows 5 GetRecords calls per second per shard).
   */
  kinesisPollIntervalMs: int(0).default(1000),
  /** DYNAB_KINESIS_MAX_RECORDS: most records asked for in one GetRecords call (at most 10000). */
  kinesisMaxRecords: int(1).max(10_000).default(1000),
  /**
   * DYNAB_ATTRIBUTION_GRACE_MS: a label that names only a user is credited once requests up to
   * this much after its event time have been seen on its partition, so a request that is read
   * later than the label still gets the credit it is due (last-touch attribution).
   */
  attributionGraceMs: int(0).default(60_000),
  /**
   * DYNAB_METRICS_HOST: address each service's metrics server (`/metrics`, `/healthz`,
   * `/readyz`) listens on. Loopback by default: the metrics name experiments and variants, so
   * exposing them beyond the host is a decision (`0.0.0.0` for a scraper on another machine).
   */
  metricsHost: z.string().min(1).default('127.0.0.1'),
  /**
   * DYNAB_METRICS_PORT: port of that server. 0 (default) takes a free port, which the service
   * logs and reports to its supervisor (`npm start` prints the URL); set one per process for a
   * scraper with static targets.
   */
  metricsPort: int(0).max(65_535).default(0),
});

export type DynabConfig = Readonly<z.infer<typeof schema>>;

const ENV_KEYS: Record<keyof z.infer<typeof schema>, string> = {
  brokers: 'DYNAB_BROKERS',
  topicPrefix: 'DYNAB_TOPIC_PREFIX',
  partitions: 'DYNAB_PARTITIONS',
  stateDir: 'DYNAB_STATE_DIR',
  instanceId: 'DYNAB_INSTANCE_ID',
  maxPayloadBytes: 'DYNAB_MAX_PAYLOAD_BYTES',
  unknownExperiment: 'DYNAB_UNKNOWN_EXPERIMENT',
  sagemakerRegion: 'DYNAB_SAGEMAKER_REGION',
  sagemakerEndpointUrl: 'DYNAB_SAGEMAKER_ENDPOINT_URL',
  inferenceConcurrency: 'DYNAB_INFERENCE_CONCURRENCY',
  inferenceTimeoutMs: 'DYNAB_INFERENCE_TIMEOUT_MS',
  inferenceMaxAttempts: 'DYNAB_INFERENCE_MAX_ATTEMPTS',
  inferenceBatchFormats: 'DYNAB_INFERENCE_BATCH_FORMATS',
  inferenceMaxBatchRecords: 'DYNAB_INFERENCE_MAX_BATCH_RECORDS',
  inferenceMaxBatchBytes: 'DYNAB_INFERENCE_MAX_BATCH_BYTES',
  predictedLabelField: 'DYNAB_PREDICTED_LABEL_FIELD',
  snapshotIntervalMs: 'DYNAB_SNAPSHOT_INTERVAL_MS',
  orphanAfterMs: 'DYNAB_ORPHAN_AFTER_MS',
  eventTimeAllowanceMs: 'DYNAB_EVENT_TIME_ALLOWANCE_MS',
  idleCloseMs: 'DYNAB_IDLE_CLOSE_MS',
  deciderIntervalMs: 'DYNAB_DECIDER_INTERVAL_MS',
  historyIntervalMs: 'DYNAB_HISTORY_INTERVAL_MS',
  rocksdbBlockCacheBytes: 'DYNAB_ROCKSDB_BLOCK_CACHE_BYTES',
  rocksdbMemtableBudgetBytes: 'DYNAB_ROCKSDB_MEMTABLE_BUDGET_BYTES',
  rocksdbIndexInCache: 'DYNAB_ROCKSDB_INDEX_IN_CACHE',
  labelSource: 'DYNAB_LABEL_SOURCE',
  labelMappingFile: 'DYNAB_LABEL_MAPPING_FILE',
  appLogTopic: 'DYNAB_APP_LOG_TOPIC',
  appLogMaxRecordBytes: 'DYNAB_APP_LOG_MAX_RECORD_BYTES',
  kinesisStream: 'DYNAB_KINESIS_STREAM',
  kinesisRegion: 'DYNAB_KINESIS_REGION',
  kinesisEndpointUrl: 'DYNAB_KINESIS_ENDPOINT_URL',
  kinesisPollIntervalMs: 'DYNAB_KINESIS_POLL_INTERVAL_MS',
  kinesisMaxRecords: 'DYNAB_KINESIS_MAX_RECORDS',
  attributionGraceMs: 'DYNAB_ATTRIBUTION_GRACE_MS',
  metricsHost: 'DYNAB_METRICS_HOST',
  metricsPort: 'DYNAB_METRICS_PORT',
};

/** The environment variable that sets each config key (for docs and error messages). */
export const CONFIG_ENV_KEYS: Readonly<Record<keyof DynabConfig, string>> = ENV_KEYS;

/** Parses config from environment variables, listing every problem at once. */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): DynabConfig {
  const raw: Record<string, string> = {};
  for (const [key, envKey] of Object.entries(ENV_KEYS)) {
    const value = env[envKey];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const key = issue.path[0];
      const envKey =
        typeof key === 'string' && key in ENV_KEYS
          ? ENV_KEYS[key as keyof typeof ENV_KEYS]
          : String(key);
      return `${envKey}: ${issue.message}`;
    });
    throw new DynabError('CONFIG_INVALID', `invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  return Object.freeze(parsed.data);
}
