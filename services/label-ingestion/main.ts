import type { DynabConfig } from '../../lib/config/config.ts';
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import { DynabError } from '../../lib/errors/catalogue.ts';
import type { EventLog } from '../../lib/event-log/event-log.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { runService } from '../../lib/runtime/service-main.ts';
import { startLabelIngestion } from './build-label-ingestion.ts';
import { kafkaLabelSource } from './kafka-source.ts';
import { createKinesisClient, kinesisShardReader } from './kinesis/kinesis-shard-reader.ts';
import { kinesisLabelSource } from './kinesis-source.ts';
import type { LabelSource } from './label-source.ts';
import { loadMappingFile } from './load-mapping.ts';

interface SourceContext {
  readonly config: DynabConfig;
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly logger: Logger;
  readonly onFatal: (error: Error) => void;
}

function kinesisSource({ config, eventLog, codecs, topics, logger, onFatal }: SourceContext) {
  if (config.kinesisStream === undefined) {
    throw new DynabError(
      'CONFIG_INVALID',
      'DYNAB_KINESIS_STREAM: required with DYNAB_LABEL_SOURCE=kinesis',
    );
  }
  const emulator =
    config.kinesisEndpointUrl !== undefined && process.env['AWS_ACCESS_KEY_ID'] === undefined;
  const client = createKinesisClient({
    region: config.kinesisRegion,
    ...(config.kinesisEndpointUrl !== undefined ? { endpoint: config.kinesisEndpointUrl } : {}),
    // An emulator takes any credentials; with none in the environment it gets placeholders,
    // otherwise the SDK's default provider chain decides.
    ...(emulator ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
  return kinesisLabelSource({
    reader: kinesisShardReader(client, config.kinesisStream),
    eventLog,
    codecs,
    checkpointTopic: topics.labelSourceCheckpoints,
    groupId: `${config.topicPrefix}label-ingestion-kinesis`,
    transactionalId: `${config.topicPrefix}label-ingestion-kinesis-${config.instanceId}`,
    deadLetterTopic: topics.deadLetters,
    logger,
    now: Date.now,
    pollIntervalMs: config.kinesisPollIntervalMs,
    maxRecords: config.kinesisMaxRecords,
    onFatal,
  });
}

function kafkaSource({ config, eventLog, codecs, topics, logger, onFatal }: SourceContext) {
  return kafkaLabelSource({
    eventLog,
    codecs,
    topic: config.appLogTopic ?? topics.appLogs,
    groupId: `${config.topicPrefix}label-ingestion`,
    transactionalId: `${config.topicPrefix}label-ingestion-${config.instanceId}`,
    deadLetterTopic: topics.deadLetters,
    logger,
    now: Date.now,
    onFatal,
  });
}

await runService('label-ingestion', async (context) => {
  const { config } = context;
  if (config.labelMappingFile === undefined) {
    throw new DynabError('CONFIG_INVALID', 'DYNAB_LABEL_MAPPING_FILE: required by label ingestion');
  }
  const loaded = await loadMappingFile(config.labelMappingFile);
  let source: LabelSource;
  switch (config.labelSource) {
    case 'kafka':
      source = kafkaSource(context);
      break;
    case 'kinesis':
      source = kinesisSource(context);
      break;
  }
  return startLabelIngestion({
    source,
    loaded,
    codecs: context.codecs,
    topics: context.topics,
    maxRecordBytes: config.appLogMaxRecordBytes,
    logger: context.logger,
    now: Date.now,
  });
});
