import { randomBytes } from 'node:crypto';
import { createSeededRandom } from '../../lib/bandit/random.ts';
import { runService } from '../../lib/runtime/service-main.ts';
import { startRouter } from './build-router.ts';

await runService(
  'router',
  ({ config, eventLog, codecs, topics, logger, metrics, readiness, onFatal }) =>
    startRouter({
      eventLog,
      codecs,
      topics,
      logger,
      metrics,
      readiness,
      onFatal,
      groupId: `${config.topicPrefix}router`,
      transactionalId: `${config.topicPrefix}router-${config.instanceId}`,
      maxPayloadBytes: config.maxPayloadBytes,
      unknownExperiment: config.unknownExperiment,
      // A fresh seed per process; decisions stay auditable through the logged propensities.
      random: createSeededRandom(randomBytes(4).readUInt32LE(0)),
      now: Date.now,
    }),
);
