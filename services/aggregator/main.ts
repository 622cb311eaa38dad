import { join } from 'node:path';
import { openRocksDbStore } from '../../lib/store/rocksdb-store.ts';
import { runService } from '../../lib/runtime/service-main.ts';
import { startAggregator } from './build-aggregator.ts';

await runService('aggregator', async (context) => {
  const { config, eventLog, codecs, topics, logger, metrics, readiness, onFatal } = context;
  const store = await openRocksDbStore(join(config.stateDir, `aggregator-${config.instanceId}`), {
    blockCacheBytes: config.rocksdbBlockCacheBytes,
    memtableBudgetBytes: config.rocksdbMemtableBudgetBytes,
    indexAndFilterInCache: config.rocksdbIndexInCache,
  });
  const running = await startAggregator({
    eventLog,
    store,
    codecs,
    topics,
    logger,
    metrics,
    readiness,
    onFatal,
    groupId: `${config.topicPrefix}aggregator`,
    transactionalId: `${config.topicPrefix}aggregator-${config.instanceId}`,
    now: Date.now,
    snapshotIntervalMs: config.snapshotIntervalMs,
    orphanAfterMs: config.orphanAfterMs,
    eventTimeAllowanceMs: config.eventTimeAllowanceMs,
    idleCloseMs: config.idleCloseMs,
  });
  return {
    async stop() {
      await running.stop();
      await store.close();
    },
  };
});
