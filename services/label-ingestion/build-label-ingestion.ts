// Label ingestion: application-log records from a label source (a Kafka topic or a Kinesis
// stream) → labels on the `labels` topic, keyed by request id, through the declarative mapping.
// The source commits the labels a batch produced together with its position in one Kafka
// transaction; malformed records go to the dead letters with the reason; records that match no
// rule are counted.
import type { Codecs } from '../../lib/codec/avro-codec.ts';
import type { TopicNames } from '../../lib/contracts/topics.ts';
import type { Logger } from '../../lib/log/logger.ts';
import { createLabelHandler, type LabelHandlerStats } from './label-handler.ts';
import type { LabelSource, SourceStats } from './label-source.ts';
import type { LoadedMapping } from './load-mapping.ts';

export interface LabelIngestionDeps {
  readonly source: LabelSource;
  readonly loaded: LoadedMapping;
  readonly codecs: Codecs;
  readonly topics: TopicNames;
  readonly maxRecordBytes: number;
  readonly logger: Logger;
  readonly now: () => number;
}

export interface LabelIngestionStats extends SourceStats {
  labels: number;
  unmatched: number;
  byRule: Readonly<Record<string, number>>;
}

export interface RunningLabelIngestion {
  /** A snapshot of the counters at the time of reading. */
  readonly stats: Readonly<LabelIngestionStats>;
  stop(): Promise<void>;
}

/** A line with the counters at most this often. */
const REPORT_INTERVAL_MS = 60_000;

export async function startLabelIngestion(
  deps: LabelIngestionDeps,
): Promise<RunningLabelIngestion> {
  const handler = createLabelHandler({
    loaded: deps.loaded,
    codecs: deps.codecs,
    labelsTopic: deps.topics.labels,
    userAttributionTopic: deps.topics.userAttribution,
    maxRecordBytes: deps.maxRecordBytes,
    now: deps.now,
  });
  const snapshot = (source: Readonly<SourceStats>, mapped: Readonly<LabelHandlerStats>) => ({
    ...source,
    labels: mapped.labels,
    unmatched: mapped.unmatched,
    byRule: Object.fromEntries(mapped.byRule),
  });
  const running = await deps.source.start(handler.handle);
  const report = setInterval(() => {
    deps.logger.info(
      { source: deps.source.name, ...snapshot(running.stats, handler.stats) },
      'label ingestion',
    );
  }, REPORT_INTERVAL_MS);
  report.unref();
  deps.logger.info(
    { source: deps.source.name, rules: deps.loaded.mapping.rules.map((rule) => rule.name) },
    'label ingestion started',
  );
  return {
    get stats() {
      return snapshot(running.stats, handler.stats);
    },
    async stop() {
      clearInterval(report);
      await running.stop();
    },
  };
}
