// The label-source port: where application-log records come from. A source owns reading, its
// positions and how they are committed; the service hands it one function that turns a record
// into the records to emit (labels), or throws the DynabError that dead-letters it. Whatever the
// source, the records a batch produced and the position after that batch are committed in one
// Kafka transaction, so a restart neither skips a record nor emits its labels twice.
import type { LogRecord, OutRecord } from '../../lib/event-log/event-log.ts';

/**
 * Maps one source record to its outputs. Sources that are not Kafka present their records as
 * LogRecords too: `topic` names the source (e.g. `kinesis:<stream>/<shard>`), `offset` its
 * position (a Kinesis sequence number), so dead letters say where a record came from.
 */
export type RecordHandler = (record: LogRecord) => readonly OutRecord[];

export interface SourceStats {
  /** Source records handled (a batch handled again after a failed transaction counts again). */
  records: number;
  deadLettered: number;
  /** Transactions committed. */
  transactions: number;
}

export interface RunningSource {
  readonly stats: Readonly<SourceStats>;
  stop(): Promise<void>;
}

export interface LabelSource {
  /** Names the source in logs (`kafka:<topic>`, `kinesis:<stream>`). */
  readonly name: string;
  start(handle: RecordHandler): Promise<RunningSource>;
}
