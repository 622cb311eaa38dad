import { runService } from '../../lib/runtime/service-main.ts';
import { startDecider } from './build-decider.ts';

await runService('decider', ({ config, eventLog, codecs, topics, logger, metrics }) =>
  startDecider({
    eventLog,
    codecs,
    topics,
    logger,
    metrics,
    groupId: `${config.topicPrefix}decider`,
    // One decider per cluster: a restarted instance fences its predecessor's transactions.
    transactionalId: `${config.topicPrefix}decider`,
    now: Date.now,
    intervalMs: config.deciderIntervalMs,
    historyIntervalMs: config.historyIntervalMs,
  }),
);
