// The metrics adapter: the metrics port (metrics.ts) on prom-client, one registry per process
// with a `service` default label (and `instance` when replicas share a host), plus Node's own
// process metrics. The only file that imports prom-client.
import {
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry,
  collectDefaultMetrics,
} from 'prom-client';
import type {
  Counter,
  Family,
  Gauge,
  Histogram,
  LabelValues,
  MetricSpec,
  Metrics,
} from './metrics.ts';

/**
 * Label sets kept per family. Experiment and variant names come from records that anyone can
 * produce, so a flood of made-up names must not grow the registry (and every scrape) without
 * bound: past this many, new label sets are all counted under the value `_other`.
 */
export const MAX_SERIES_PER_FAMILY = 1_000;
export const OVERFLOW_LABEL = '_other';

export interface MetricsRegistry extends Metrics {
  /** The Prometheus text exposition of every metric. */
  exposition(): Promise<string>;
  readonly contentType: string;
  /** Names of the registered metrics (for tests and dashboards). */
  names(): string[];
}

export interface MetricsRegistryOptions {
  /** Default label `service` on every series. */
  readonly service: string;
  /** Default label `instance` (DYNAB_INSTANCE_ID), when set. */
  readonly instance?: string;
  /** Node's process metrics (CPU, memory, event-loop lag, GC). Default true. */
  readonly processMetrics?: boolean;
}

/** A counter child that adds locally and hands the sum to prom-client on `flush`. */
class PendingCounter implements Counter {
  private pending = 0;

  constructor(private readonly add: (amount: number) => void) {}

  inc(amount = 1): void {
    if (!(amount >= 0)) throw new Error(`a counter only goes up; got ${amount}`);
    this.pending += amount;
  }

  flush(): void {
    if (this.pending === 0) return;
    const amount = this.pending;
    this.pending = 0;
    this.add(amount);
  }
}

interface Node<T> {
  child: T | undefined;
  readonly next: Map<string, Node<T>>;
}

/** Children cached in a trie of label values: looking one up builds no key or object. */
function childCache<L extends readonly string[], T>(
  labelCount: number,
  create: (values: readonly string[]) => T,
  drop: (values: readonly string[], child: T) => void,
): Family<L, T> {
  const root: Node<T> = { child: undefined, next: new Map() };
  let size = 0;
  let overflow: T | undefined;
  const find = (values: readonly string[]): Node<T> | undefined => {
    let node: Node<T> | undefined = root;
    for (const value of values) {
      node = node.next.get(value);
      if (node === undefined) return undefined;
    }
    return node;
  };
  return {
    labels(...values) {
      const found = find(values)?.child;
      if (found !== undefined) return found;
      if (size >= MAX_SERIES_PER_FAMILY) {
        overflow ??= create(Array.from({ length: labelCount }, () => OVERFLOW_LABEL));
        return overflow;
      }
      let node = root;
      for (const value of values) {
        let next = node.next.get(value);
        if (next === undefined) {
          next = { child: undefined, next: new Map() };
          node.next.set(value, next);
        }
        node = next;
      }
      const child = create(values);
      node.child = child;
      size++;
      return child;
    },
    remove(...values) {
      const node = find(values);
      const child = node?.child;
      if (node === undefined || child === undefined) return;
      node.child = undefined;
      size--;
      drop(values, child);
    },
  };
}

export function createMetricsRegistry(options: MetricsRegistryOptions): MetricsRegistry {
  const registry = new Registry();
  registry.setDefaultLabels({
    service: options.service,
    ...(options.instance !== undefined ? { instance: options.instance } : {}),
  });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const families = new Map<string, Family<readonly string[], unknown>>();
  const counterSources = new Map<string, (() => number)[]>();
  const gaugeSources = new Map<
    string,
    ((set: (value: number, ...labels: readonly string[]) => void) => void)[]
  >();

  /** One family per name: a second request for it (a second runner) shares the first. */
  const family = <L extends readonly string[], T>(
    name: string,
    build: () => Family<L, T>,
  ): Family<L, T> => {
    const known = families.get(name);
    if (known !== undefined) return known as unknown as Family<L, T>;
    const built = build();
    families.set(name, built);
    return built;
  };

  return {
    counter<const L extends readonly string[]>(spec: MetricSpec<L>): Family<L, Counter> {
      return family(spec.name, () => {
        // A child adds to a number of its own; the amounts reach prom-client when scraped, so
        // counting on a hot path (once per record) does not hash the label values every time.
        const live = new Set<PendingCounter>();
        const metric = new PromCounter({
          name: spec.name,
          help: spec.help,
          labelNames: [...spec.labelNames],
          registers: [registry],
          collect() {
            for (const child of live) child.flush();
          },
        });
        return childCache<L, PendingCounter>(
          spec.labelNames.length,
          (values) => {
            const labelled = metric.labels(...values);
            const child = new PendingCounter((amount) => labelled.inc(amount));
            live.add(child);
            return child;
          },
          (values, child) => {
            live.delete(child);
            metric.remove(...values);
          },
        );
      });
    },

    counterFrom(spec, read) {
      const sources = counterSources.get(spec.name);
      if (sources !== undefined) {
        sources.push(read);
        return;
      }
      const reads = [read];
      counterSources.set(spec.name, reads);
      new PromCounter({
        name: spec.name,
        help: spec.help,
        registers: [registry],
        collect() {
          let total = 0;
          for (const source of reads) total += source();
          this.reset();
          this.inc(total);
        },
      });
    },

    gauge<const L extends readonly string[]>(spec: MetricSpec<L>): Family<L, Gauge> {
      return family(spec.name, () => {
        const metric = new PromGauge({
          name: spec.name,
          help: spec.help,
          labelNames: [...spec.labelNames],
          registers: [registry],
        });
        return childCache<L, Gauge>(
          spec.labelNames.length,
          (values) => metric.labels(...values),
          (values) => metric.remove(...values),
        );
      });
    },

    gaugeFrom<const L extends readonly string[]>(
      spec: MetricSpec<L>,
      collect: (set: (value: number, ...labels: LabelValues<L>) => void) => void,
    ): void {
      type Collect = (set: (value: number, ...labels: readonly string[]) => void) => void;
      const sources = gaugeSources.get(spec.name);
      if (sources !== undefined) {
        sources.push(collect);
        return;
      }
      const collects: Collect[] = [collect];
      gaugeSources.set(spec.name, collects);
      const labelNames: string[] = [...spec.labelNames];
      new PromGauge<string>({
        name: spec.name,
        help: spec.help,
        labelNames,
        registers: [registry],
        collect() {
          this.reset();
          let kept = 0;
          const set = (value: number, ...labels: readonly string[]): void => {
            if (kept++ >= MAX_SERIES_PER_FAMILY) return;
            const named: Record<string, string> = {};
            labelNames.forEach((name, i) => (named[name] = labels[i] ?? ''));
            this.set(named, value);
          };
          for (const source of collects) source(set);
        },
      });
    },

    histogram<const L extends readonly string[]>(
      spec: MetricSpec<L> & { readonly buckets: readonly number[] },
    ): Family<L, Histogram> {
      return family(spec.name, () => {
        const metric = new PromHistogram({
          name: spec.name,
          help: spec.help,
          labelNames: [...spec.labelNames],
          buckets: [...spec.buckets],
          registers: [registry],
        });
        return childCache<L, Histogram>(
          spec.labelNames.length,
          (values) => metric.labels(...values),
          (values) => metric.remove(...values),
        );
      });
    },

    exposition: () => registry.metrics(),
    contentType: registry.contentType,
    names: () => registry.getMetricsAsArray().map((metric) => metric.name),
  };
}
