import { DynabError } from '../../lib/errors/catalogue.ts';
import { runService } from '../../lib/runtime/service-main.ts';
import { startLabelIngestion } from './build-label-ingestion.ts';
import { kafkaLabelSource } from './kafka-source.ts';
import type { LabelSource } from './label-source.ts';
import { loadMappingFile } from './load-mapping.ts';

await runService(
  'label-ingestion',
  async ({ config, eventLog, codecs, topics, logger, onFatal }) => {
    if (config.labelMappingFile === undefined) {
      throw new DynabError(
        'CONFIG_INVALID',
        'DYNAB_LABEL_MAPPING_FILE: required by label ingestion',
      );
    }
    const loaded = await loadMappingFile(config.labelMappingFile);
    const topic = config.appLogTopic ?? topics.appLogs;
    let source: LabelSource;
    switch (config.labelSource) {
      case 'kafka':
        source = kafkaLabelSource({
          eventLog,
          codecs,
          topic,
          groupId: `${config.topicPrefix}label-ingestion`,
          transactionalId: `${config.topicPrefix}label-ingestion-${config.instanceId}`,
          deadLetterTopic: topics.deadLetters,
          logger,
          now: Date.now,
          onFatal,
        });
        break;
      case 'kinesis':
        throw new DynabError('CONFIG_INVALID', 'DYNAB_LABEL_SOURCE=kinesis is not available yet');
    }
    return startLabelIngestion({
      source,
      loaded,
      codecs,
      topics,
      maxRecordBytes: config.appLogMaxRecordBytes,
      logger,
      now: Date.now,
    });
  },
);
