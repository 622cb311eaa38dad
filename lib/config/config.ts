// Configuration, parsed once at start from environment variables. Every problem is reported in
// one message; the result is frozen and passed down. Each key is documented where it is defined.
import { z } from 'zod';
import { DynabError } from '../errors/catalogue.ts';

const csv = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);
const int = (min: number) => z.coerce.number().int().min(min);

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
  /** DYNAB_PREDICTED_LABEL_FIELD: JSON field of the model output holding the predicted label. */
  predictedLabelField: z.string().default('label'),
  /** DYNAB_SNAPSHOT_INTERVAL_MS: the aggregator publishes changed posteriors at most this often. */
  snapshotIntervalMs: int(0).default(200),
  /** DYNAB_ORPHAN_AFTER_MS: a label still without a prediction this long (event time) after it is dead-lettered as an orphan. */
  orphanAfterMs: int(1).default(7 * 24 * 60 * 60 * 1000),
  /** DYNAB_DECIDER_INTERVAL_MS: the decider recomputes changed experiments at most this often. */
  deciderIntervalMs: int(10).default(1000),
});

export type DynabConfig = Readonly<z.infer<typeof schema>>;

const ENV_KEYS: Record<keyof z.infer<typeof schema>, string> = {
  brokers: 'DYNAB_BROKERS',
  topicPrefix: 'DYNAB_TOPIC_PREFIX',
  partitions: 'DYNAB_PARTITIONS',
  stateDir: 'DYNAB_STATE_DIR',
  instanceId: 'DYNAB_INSTANCE_ID',
  maxPayloadBytes: 'DYNAB_MAX_PAYLOAD_BYTES',
  sagemakerRegion: 'DYNAB_SAGEMAKER_REGION',
  sagemakerEndpointUrl: 'DYNAB_SAGEMAKER_ENDPOINT_URL',
  inferenceConcurrency: 'DYNAB_INFERENCE_CONCURRENCY',
  inferenceTimeoutMs: 'DYNAB_INFERENCE_TIMEOUT_MS',
  inferenceMaxAttempts: 'DYNAB_INFERENCE_MAX_ATTEMPTS',
  predictedLabelField: 'DYNAB_PREDICTED_LABEL_FIELD',
  snapshotIntervalMs: 'DYNAB_SNAPSHOT_INTERVAL_MS',
  orphanAfterMs: 'DYNAB_ORPHAN_AFTER_MS',
  deciderIntervalMs: 'DYNAB_DECIDER_INTERVAL_MS',
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
