import { describe, expect, it } from 'vitest';
import { CONFIG_ENV_KEYS, loadConfig } from '../../../lib/config/config.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';

function configError(env: Record<string, string | undefined>): DynabError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(DynabError);
    return error as DynabError;
  }
  throw new Error('expected loadConfig to throw');
}

describe('loadConfig', () => {
  it('uses the defaults for an empty environment', () => {
    expect(loadConfig({})).toEqual({
      brokers: [],
      topicPrefix: 'dynab.',
      partitions: 4,
      stateDir: '.dynab/state',
      instanceId: '0',
      maxPayloadBytes: 256 * 1024,
      unknownExperiment: 'fallback',
      sagemakerRegion: 'us-east-1',
      inferenceConcurrency: 64,
      inferenceTimeoutMs: 10_000,
      inferenceMaxAttempts: 4,
      inferenceBatchFormats: { '*': 'none' },
      inferenceMaxBatchRecords: 100,
      inferenceMaxBatchBytes: 1024 * 1024,
      predictedLabelField: 'label',
      snapshotIntervalMs: 50,
      orphanAfterMs: 7 * 24 * 60 * 60 * 1000,
      eventTimeAllowanceMs: 5 * 60 * 1000,
      idleCloseMs: 10 * 60 * 1000,
      deciderIntervalMs: 1000,
      historyIntervalMs: 60_000,
      rocksdbBlockCacheBytes: 128 * 1024 * 1024,
      rocksdbMemtableBudgetBytes: 64 * 1024 * 1024,
      rocksdbIndexInCache: true,
      labelSource: 'kafka',
      appLogMaxRecordBytes: 1024 * 1024,
      kinesisRegion: 'us-east-1',
      kinesisPollIntervalMs: 1000,
      kinesisMaxRecords: 1000,
      attributionGraceMs: 60_000,
      metricsHost: '127.0.0.1',
      metricsPort: 0,
    });
    expect(loadConfig({}).sagemakerEndpointUrl).toBeUndefined();
  });

  it('treats empty variables as unset', () => {
    expect(
      loadConfig({ DYNAB_PARTITIONS: '', DYNAB_INSTANCE_ID: '', DYNAB_SAGEMAKER_ENDPOINT_URL: '' }),
    ).toEqual(loadConfig({}));
  });

  it('ignores variables it does not know', () => {
    expect(loadConfig({ DYNAB_NOPE: 'x', PATH: '/usr/bin' })).toEqual(loadConfig({}));
  });

  it('splits DYNAB_BROKERS on commas, trimming and dropping empty entries', () => {
    expect(loadConfig({ DYNAB_BROKERS: 'kafka-1:9092' }).brokers).toEqual(['kafka-1:9092']);
    expect(loadConfig({ DYNAB_BROKERS: ' a:9092 , b:9093,,c:9094, ' }).brokers).toEqual([
      'a:9092',
      'b:9093',
      'c:9094',
    ]);
  });

  it('parses integer variables', () => {
    const config = loadConfig({
      DYNAB_PARTITIONS: '12',
      DYNAB_MAX_PAYLOAD_BYTES: '1024',
      DYNAB_INFERENCE_CONCURRENCY: '8',
      DYNAB_INFERENCE_TIMEOUT_MS: '2500',
      DYNAB_INFERENCE_MAX_ATTEMPTS: '1',
      DYNAB_INFERENCE_MAX_BATCH_RECORDS: '1',
      DYNAB_INFERENCE_MAX_BATCH_BYTES: String(6 * 1024 * 1024),
      DYNAB_SNAPSHOT_INTERVAL_MS: '0',
    });
    expect(config.inferenceMaxBatchRecords).toBe(1);
    expect(config.inferenceMaxBatchBytes).toBe(6 * 1024 * 1024);
    expect(config.partitions).toBe(12);
    expect(config.maxPayloadBytes).toBe(1024);
    expect(config.inferenceConcurrency).toBe(8);
    expect(config.inferenceTimeoutMs).toBe(2500);
    expect(config.inferenceMaxAttempts).toBe(1);
    expect(config.snapshotIntervalMs).toBe(0);
  });

  it('reads the RocksDB memory bounds', () => {
    const config = loadConfig({
      DYNAB_ROCKSDB_BLOCK_CACHE_BYTES: String(2 ** 32 - 1),
      DYNAB_ROCKSDB_MEMTABLE_BUDGET_BYTES: String(4 * 1024 * 1024),
      DYNAB_ROCKSDB_INDEX_IN_CACHE: 'false',
    });
    expect(config.rocksdbBlockCacheBytes).toBe(2 ** 32 - 1);
    expect(config.rocksdbMemtableBudgetBytes).toBe(4 * 1024 * 1024);
    expect(config.rocksdbIndexInCache).toBe(false);
    expect(loadConfig({ DYNAB_ROCKSDB_INDEX_IN_CACHE: 'true' }).rocksdbIndexInCache).toBe(true);
  });

  it('reads the string variables', () => {
    const config = loadConfig({
      DYNAB_TOPIC_PREFIX: 'test.',
      DYNAB_STATE_DIR: '/var/lib/dynab',
      DYNAB_INSTANCE_ID: 'router-2',
      DYNAB_SAGEMAKER_REGION: 'eu-west-1',
      DYNAB_SAGEMAKER_ENDPOINT_URL: 'http://localhost:8080',
      DYNAB_PREDICTED_LABEL_FIELD: 'verdict',
    });
    expect(config.topicPrefix).toBe('test.');
    expect(config.stateDir).toBe('/var/lib/dynab');
    expect(config.instanceId).toBe('router-2');
    expect(config.sagemakerRegion).toBe('eu-west-1');
    expect(config.sagemakerEndpointUrl).toBe('http://localhost:8080');
    expect(config.predictedLabelField).toBe('verdict');
  });

  it('reads what the router does with unknown experiments', () => {
    expect(loadConfig({ DYNAB_UNKNOWN_EXPERIMENT: 'dead-letter' }).unknownExperiment).toBe(
      'dead-letter',
    );
    expect(loadConfig({ DYNAB_UNKNOWN_EXPERIMENT: 'fallback' }).unknownExperiment).toBe('fallback');
  });

  it.each([
    ['DYNAB_UNKNOWN_EXPERIMENT', 'drop'],
    ['DYNAB_PARTITIONS', 'four'],
    ['DYNAB_PARTITIONS', '0'],
    ['DYNAB_PARTITIONS', '2.5'],
    ['DYNAB_MAX_PAYLOAD_BYTES', '-1'],
    ['DYNAB_INFERENCE_CONCURRENCY', '0'],
    ['DYNAB_INFERENCE_TIMEOUT_MS', 'soon'],
    ['DYNAB_INFERENCE_MAX_ATTEMPTS', '0'],
    ['DYNAB_SNAPSHOT_INTERVAL_MS', '-5'],
    ['DYNAB_INFERENCE_MAX_BATCH_RECORDS', '0'],
    ['DYNAB_INFERENCE_MAX_BATCH_BYTES', String(6 * 1024 * 1024 + 1)],
    ['DYNAB_INFERENCE_BATCH_FORMATS', 'spam-filter=xml'],
    ['DYNAB_SAGEMAKER_ENDPOINT_URL', 'not a url'],
    ['DYNAB_ROCKSDB_BLOCK_CACHE_BYTES', '0'],
    ['DYNAB_ROCKSDB_BLOCK_CACHE_BYTES', String(2 ** 32)],
    ['DYNAB_ROCKSDB_MEMTABLE_BUDGET_BYTES', String(4 * 1024 * 1024 - 1)],
    ['DYNAB_ROCKSDB_MEMTABLE_BUDGET_BYTES', '64MiB'],
    ['DYNAB_ROCKSDB_INDEX_IN_CACHE', 'yes'],
    ['DYNAB_METRICS_PORT', '65536'],
    ['DYNAB_METRICS_PORT', 'http'],
  ])('rejects %s=%j with CONFIG_INVALID naming the variable', (name, value) => {
    const error = configError({ [name]: value });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain(`${name}:`);
  });

  it('reports every invalid variable in one error', () => {
    const error = configError({
      DYNAB_BROKERS: 'ok:9092',
      DYNAB_PARTITIONS: 'lots',
      DYNAB_MAX_PAYLOAD_BYTES: '0',
      DYNAB_INFERENCE_TIMEOUT_MS: '1.5',
      DYNAB_SAGEMAKER_ENDPOINT_URL: '::',
      DYNAB_SNAPSHOT_INTERVAL_MS: '-1',
    });
    expect(error.code).toBe('CONFIG_INVALID');
    for (const name of [
      'DYNAB_PARTITIONS',
      'DYNAB_MAX_PAYLOAD_BYTES',
      'DYNAB_INFERENCE_TIMEOUT_MS',
      'DYNAB_SAGEMAKER_ENDPOINT_URL',
      'DYNAB_SNAPSHOT_INTERVAL_MS',
    ]) {
      expect(error.message).toContain(`${name}:`);
    }
    expect(error.message).not.toContain('DYNAB_BROKERS');
    // Reported by env var name, never by the internal key.
    expect(error.message).not.toMatch(/\bpartitions:/);
  });

  it('reads a batch format per experiment, with * for the others', () => {
    const formats = loadConfig({
      DYNAB_INFERENCE_BATCH_FORMATS: ' spam-filter = jsonlines ,tabular=csv,,tf=instances,*=none',
    }).inferenceBatchFormats;
    expect(formats).toEqual({
      'spam-filter': 'jsonlines',
      tabular: 'csv',
      tf: 'instances',
      '*': 'none',
    });
    expect(Object.isFrozen(formats)).toBe(true);
    // An experiment called like an Object.prototype member is just another name.
    expect(Object.hasOwn(formats, 'constructor')).toBe(false);
    expect('constructor' in formats).toBe(false);
  });

  it('reports every bad batch format entry in one error', () => {
    const error = configError({
      DYNAB_INFERENCE_BATCH_FORMATS: 'a=xml,b,=csv,c=csv,c=none,d=csv=none',
      DYNAB_PARTITIONS: 'x',
    });
    expect(error.message).toContain('DYNAB_PARTITIONS:');
    for (const problem of [
      '"a": unknown batch format "xml"',
      '"b" is not experiment=format',
      '"=csv" is not experiment=format',
      '"c" is listed twice',
      '"d=csv=none" is not experiment=format',
    ]) {
      expect(error.message).toContain(`DYNAB_INFERENCE_BATCH_FORMATS: ${problem}`);
    }
  });

  it('returns a frozen object', () => {
    const config = loadConfig({ DYNAB_PARTITIONS: '2' });
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { partitions: number }).partitions = 3;
    }).toThrow(TypeError);
    expect(config.partitions).toBe(2);
  });

  it('maps every config key to a distinct DYNAB_ variable', () => {
    const names = Object.values(CONFIG_ENV_KEYS);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^DYNAB_[A-Z_]+$/);
    expect(Object.keys(CONFIG_ENV_KEYS).sort()).toEqual(
      [
        ...Object.keys(loadConfig({})),
        'sagemakerEndpointUrl',
        'labelMappingFile',
        'appLogTopic',
        'kinesisStream',
        'kinesisEndpointUrl',
      ].sort(),
    );
  });
});
