// Parsers for the summaries printed by Kafka's performance tools (kafka-tools 4.1), kept apart
// from the code that runs them so they can be tested on captured output. Each parser throws with
// the output it could not read rather than return a partial result.
//
// Units are the tools' own: their "MB" is 2^20 bytes, so the fields say MiB.

export interface ProducerPerformanceSummary {
  readonly records: number;
  readonly recordsPerSecond: number;
  readonly mibPerSecond: number;
  /**
   * Send → acknowledgement per record, in ms. With `--throughput -1` the producer is saturated,
   * so these are mostly time spent queued in the producer's buffer, not a latency of Kafka.
   */
  readonly latencyMs: {
    readonly avg: number;
    readonly max: number;
    readonly p50: number;
    readonly p95: number;
    readonly p99: number;
    readonly p999: number;
  };
  /** Payloads read from --payload-file ("Number of messages read"), when one was used. */
  readonly payloadsRead: number | null;
}

export interface ConsumerPerformanceSummary {
  readonly records: number;
  readonly mib: number;
  /** Over the whole run, including joining the consumer group (rebalanceMs). */
  readonly recordsPerSecond: number;
  readonly mibPerSecond: number;
  readonly rebalanceMs: number;
  /** Time spent fetching: the whole run minus the group join. */
  readonly fetchMs: number;
  readonly fetchRecordsPerSecond: number;
  readonly fetchMibPerSecond: number;
  /** The tool's warning, e.g. that it stopped before reading every record asked for. */
  readonly warning: string | null;
}

export interface EndToEndLatencySummary {
  /** Mean of every round trip in ms, the first (cold) one included. */
  readonly avgMs: number;
  /** Percentiles in whole ms: the tool truncates each sample to a whole millisecond. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** The samples the tool prints as progress (every 1000th message): [index, ms]. */
  readonly progress: readonly (readonly [number, number])[];
}

const NUMBER = String.raw`(-?\d+(?:\.\d+)?|NaN|-?Infinity)`;

function outputError(tool: string, what: string, output: string): Error {
  const shown = output.trimEnd().split('\n').slice(-10).join('\n');
  return new Error(`${tool}: no ${what} in its output:\n${shown}`);
}

const PRODUCER_SUMMARY = new RegExp(
  String.raw`^(\d+) records sent, ${NUMBER} records/sec \(${NUMBER} MB/sec\), ` +
    String.raw`${NUMBER} ms avg latency, ${NUMBER} ms max latency, ` +
    String.raw`(\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$`,
);

/**
 * Reads ProducerPerformance's final summary: the one line with percentiles, printed once the
 * producer is closed. The progress lines printed every 5 s have no percentiles and are skipped.
 */
export function parseProducerPerformance(output: string): ProducerPerformanceSummary {
  const lines = output.split('\n').map((line) => line.trim());
  const match = lines.map((line) => PRODUCER_SUMMARY.exec(line)).find((m) => m !== null);
  if (match === undefined) throw outputError('ProducerPerformance', 'final summary', output);
  const [records, perSecond, mib, avg, max, p50, p95, p99, p999] = match
    .slice(1)
    .map((group) => Number(group));
  const read = lines
    .map((line) => /^Number of messages read: (\d+)$/.exec(line))
    .find((m) => m !== null);
  return {
    records: records ?? Number.NaN,
    recordsPerSecond: perSecond ?? Number.NaN,
    mibPerSecond: mib ?? Number.NaN,
    latencyMs: {
      avg: avg ?? Number.NaN,
      max: max ?? Number.NaN,
      p50: p50 ?? Number.NaN,
      p95: p95 ?? Number.NaN,
      p99: p99 ?? Number.NaN,
      p999: p999 ?? Number.NaN,
    },
    payloadsRead: read?.[1] === undefined ? null : Number(read[1]),
  };
}

type ConsumerColumn =
  | 'data.consumed.in.nMsg'
  | 'data.consumed.in.MB'
  | 'nMsg.sec'
  | 'MB.sec'
  | 'rebalance.time.ms'
  | 'fetch.time.ms'
  | 'fetch.nMsg.sec'
  | 'fetch.MB.sec';

/**
 * Reads ConsumerPerformance's summary: a header line of comma-separated column names
 * (`start.time, end.time, data.consumed.in.MB, ...`) and, after it, one line of values. Columns are
 * looked up by name, so a reordering between releases does not go unnoticed as wrong numbers.
 * When the topic ran dry the tool prints a WARNING line between the two (and still exits 0).
 */
export function parseConsumerPerformance(output: string): ConsumerPerformanceSummary {
  const lines = output.split('\n').map((line) => line.trim());
  const headerAt = lines.findIndex((line) => line.startsWith('start.time,'));
  const header = lines[headerAt]?.split(',').map((name) => name.trim());
  const values = lines
    .slice(headerAt + 1)
    .map((line) => line.split(',').map((value) => value.trim()))
    .find((fields) => fields.length === header?.length);
  if (header === undefined || values === undefined)
    throw outputError('ConsumerPerformance', 'header and values', output);
  const column = (name: ConsumerColumn): number => {
    const value = values[header.indexOf(name)];
    if (value === undefined || !new RegExp(`^${NUMBER}$`).test(value))
      throw outputError('ConsumerPerformance', `number in column ${name}`, output);
    return Number(value);
  };
  return {
    records: column('data.consumed.in.nMsg'),
    mib: column('data.consumed.in.MB'),
    recordsPerSecond: column('nMsg.sec'),
    mibPerSecond: column('MB.sec'),
    rebalanceMs: column('rebalance.time.ms'),
    fetchMs: column('fetch.time.ms'),
    fetchRecordsPerSecond: column('fetch.nMsg.sec'),
    fetchMibPerSecond: column('fetch.MB.sec'),
    warning: lines.find((line) => line.startsWith('WARNING:')) ?? null,
  };
}

/**
 * Reads EndToEndLatency's last two lines: `Avg latency: <ms> ms` and
 * `Percentiles: 50th = <ms>, 99th = <ms>, 99.9th = <ms>`.
 */
export function parseEndToEndLatency(output: string): EndToEndLatencySummary {
  const lines = output.split('\n').map((line) => line.trim());
  const avg = lines
    .map((line) => new RegExp(`^Avg latency: ${NUMBER} ms$`).exec(line))
    .find((m) => m !== null);
  const percentiles = lines
    .map((line) => /^Percentiles: 50th = (\d+), 99th = (\d+), 99\.9th = (\d+)$/.exec(line))
    .find((m) => m !== null);
  if (avg?.[1] === undefined || percentiles === undefined)
    throw outputError('EndToEndLatency', 'average and percentiles', output);
  const progress = lines.flatMap((line): [number, number][] => {
    const m = /^(\d+)\t(\d+(?:\.\d+)?(?:E-?\d+)?)$/.exec(line);
    return m?.[1] === undefined || m[2] === undefined ? [] : [[Number(m[1]), Number(m[2])]];
  });
  return {
    avgMs: Number(avg[1]),
    p50Ms: Number(percentiles[1]),
    p99Ms: Number(percentiles[2]),
    p999Ms: Number(percentiles[3]),
    progress,
  };
}
