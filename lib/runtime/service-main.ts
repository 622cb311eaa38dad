// The shared shell of every service's main.ts: parse config once, serve metrics and health, open
// the event log, start the service, stop cleanly on SIGTERM/SIGINT, and exit non-zero on a fatal
// start-up error.
import { loadConfig, type DynabConfig } from '../config/config.ts';
import { loadCodecs, type Codecs } from '../codec/avro-codec.ts';
import { topicNames, topicSpecs, type TopicNames } from '../contracts/topics.ts';
import { KafkaEventLog } from '../event-log/kafka-event-log.ts';
import type { EventLog } from '../event-log/event-log.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { startMetricsServer, type RunningMetricsServer } from '../metrics/metrics-server.ts';
import { createMetricsRegistry } from '../metrics/prom-metrics.ts';
import { Readiness } from '../metrics/readiness.ts';

export interface ServiceContext {
  readonly config: DynabConfig;
  readonly eventLog: EventLog;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly logger: Logger;
  /** The process's metrics registry (served on `/metrics`). */
  readonly metrics: Metrics;
  /** The service's readiness conditions (served on `/readyz`). */
  readonly readiness: Readiness;
  /** Ends the process after a failure the service cannot recover from, so a supervisor restarts it. */
  readonly onFatal: (error: Error) => void;
}

export async function runService(
  name: string,
  start: (context: ServiceContext) => Promise<{ stop(): Promise<void> }>,
): Promise<void> {
  const logger = createLogger(name);
  let config: DynabConfig;
  try {
    config = loadConfig();
  } catch (error) {
    logger.fatal({ err: error }, 'cannot start');
    process.exit(2);
  }
  if (config.brokers.length === 0) {
    logger.fatal(
      'DYNAB_BROKERS is not set: services need a Kafka cluster (npm start runs one locally)',
    );
    process.exit(2);
  }
  const registry = createMetricsRegistry({ service: name, instance: config.instanceId });
  const readiness = new Readiness();
  const connected = readiness.condition('not connected to the Kafka cluster yet');
  const started = readiness.condition('starting');
  // Served from the first moment, so /healthz answers and /readyz says what it waits for.
  let metricsServer: RunningMetricsServer;
  try {
    metricsServer = await startMetricsServer({
      host: config.metricsHost,
      port: config.metricsPort,
      registry,
      readiness,
    });
  } catch (error) {
    logger.fatal(
      { err: error, host: config.metricsHost, port: config.metricsPort },
      'cannot serve metrics',
    );
    process.exit(2);
  }
  logger.info({ metrics: metricsServer.url }, 'serving /metrics, /healthz and /readyz');
  const eventLog = new KafkaEventLog({
    brokers: config.brokers,
    clientId: `dynab-${name}-${config.instanceId}`,
    log: (level, message, extra) => logger[level]({ kafka: extra }, message),
  });
  const topics = topicNames(config.topicPrefix);
  let running: { stop(): Promise<void> } | null = null;
  let stopping = false;
  const shutdown = async (signal: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    started.set(false, 'stopping');
    await running
      ?.stop()
      .catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
    await eventLog.close().catch(() => undefined);
    await metricsServer.close().catch(() => undefined);
    process.exit(exitCode);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  try {
    await eventLog.waitUntilReady(60_000);
    await eventLog.ensureTopics(topicSpecs(topics, config.partitions));
    connected.set(true);
    const onFatal = (error: Error): void => {
      logger.fatal(
        { err: error },
        'unrecoverable failure; exiting so that a supervisor restarts the service',
      );
      void shutdown('fatal', 1);
    };
    running = await start({
      config,
      eventLog,
      codecs: loadCodecs(),
      topics,
      logger,
      metrics: registry,
      readiness,
      onFatal,
    });
    started.set(true);
    logger.info({ brokers: config.brokers, metrics: metricsServer.url }, 'started');
    // Tells a supervising process (npm start) that this service is consuming, and where its
    // metrics are.
    process.send?.({ type: 'ready', service: name, metricsUrl: metricsServer.url });
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    await eventLog.close().catch(() => undefined);
    process.exit(1);
  }
}
