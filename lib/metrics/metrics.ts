// The metrics port: the small surface of a metrics library that dynab's services use. The only
// implementation is prom-client (prom-metrics.ts); nothing else imports it, so the services and
// runners depend on these interfaces and a test or a benchmark can pass `discardMetrics`.
//
// Families hand out label-bound children, and the caller keeps a child for as long as its labels
// stay the same (per experiment and variant, per topic-partition): recording a value on a hot
// path is then one addition, with no label object built per record.

export interface Counter {
  /** Adds a non-negative amount (default 1). */
  inc(amount?: number): void;
}

export interface Gauge {
  set(value: number): void;
  inc(amount?: number): void;
}

export interface Histogram {
  /** Records one observation, in the metric's base unit (seconds for durations). */
  observe(value: number): void;
}

/** One value per label name, in the order of the spec's `labelNames`. */
export type LabelValues<L extends readonly string[]> = { readonly [K in keyof L]: string };

export interface Family<L extends readonly string[], T> {
  /** The child for these label values (the same object on every call with the same values). */
  labels(...values: LabelValues<L>): T;
  /** Drops the child for these label values (a partition no longer owned, say). */
  remove(...values: LabelValues<L>): void;
}

export interface MetricSpec<L extends readonly string[]> {
  /** Prometheus name: `dynab_` prefix, `_total` for counters, base units (`_seconds`). */
  readonly name: string;
  readonly help: string;
  readonly labelNames: L;
}

export interface Metrics {
  counter<const L extends readonly string[]>(spec: MetricSpec<L>): Family<L, Counter>;
  /**
   * A label-less counter whose value is read when scraped, from a monotonic count the code keeps
   * anyway (runner stats): nothing at all on the hot path. Several sources of the same name are
   * summed (two runners in one process).
   */
  counterFrom(spec: MetricSpec<readonly []>, read: () => number): void;
  gauge<const L extends readonly string[]>(spec: MetricSpec<L>): Family<L, Gauge>;
  /**
   * A gauge computed when scraped: `collect` calls `set` for every label set that exists now;
   * label sets it does not set are dropped. Several sources of the same name are merged.
   */
  gaugeFrom<const L extends readonly string[]>(
    spec: MetricSpec<L>,
    collect: (set: (value: number, ...labels: LabelValues<L>) => void) => void,
  ): void;
  histogram<const L extends readonly string[]>(
    spec: MetricSpec<L> & { readonly buckets: readonly number[] },
  ): Family<L, Histogram>;
}

const noCounter: Counter = { inc: () => undefined };
const noGauge: Gauge = { set: () => undefined, inc: () => undefined };
const noHistogram: Histogram = { observe: () => undefined };

/** Metrics that go nowhere, for tests and benchmarks that do not look at them. */
export const discardMetrics: Metrics = {
  counter: () => ({ labels: () => noCounter, remove: () => undefined }),
  counterFrom: () => undefined,
  gauge: () => ({ labels: () => noGauge, remove: () => undefined }),
  gaugeFrom: () => undefined,
  histogram: () => ({ labels: () => noHistogram, remove: () => undefined }),
};

/** Latency buckets in seconds, 1 ms to 10 s (model calls, transactions). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Buckets in seconds for work that takes microseconds to milliseconds (a routing plan). */
export const FAST_BUCKETS_SECONDS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05,
];
