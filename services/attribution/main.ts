import { join } from 'node:path';
import { runService } from '../../lib/runtime/service-main.ts';
import { openRocksDbStore } from '../../lib/store/rocksdb-store.ts';
import { startAttribution } from './build-attribution.ts';

await runService('attribution', async ({ config, eventLog, codecs, topics, logger, onFatal }) => {
  const store = await openRocksDbStore(join(config.stateDir, `attribution-${config.instanceId}`));
  const running = await startAttribution({
    eventLog,
    store,
    codecs,
    topics,
    logger,
    onFatal,
    groupId: `${config.topicPrefix}attribution`,
    transactionalId: `${config.topicPrefix}attribution-${config.instanceId}`,
    graceMs: config.attributionGraceMs,
    maxPayloadBytes: config.maxPayloadBytes,
    now: Date.now,
  });
  return {
    async stop() {
      await running.stop();
      await store.close();
    },
  };
});
