// What the posterior must be, computed by the chaos driver from what it actually sent: the
// same event-time rules the aggregator applies (a label counts if its event time is inside the
// prediction's window; otherwise it is late; a window with no in-window label resolves with the
// implicit reward, or is dropped for a failed prediction). Pure.
import type { LabelReceived } from '../lib/contracts/events.ts';
import { emptyTotals, type VariantTotals } from '../lib/contracts/posterior-totals.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { partitionForKey } from '../lib/event-log/murmur2.ts';

export interface SentLabel {
  readonly eventTime: number;
  readonly label: 'spam' | 'ham';
}

export interface ObservedPrediction {
  readonly requestId: string;
  readonly variant: string;
  readonly requestTime: number;
  readonly predictedLabel: string | null;
  readonly failed: boolean;
}

/** Per-variant totals, in the shape the aggregator publishes them. */
export type TruthTally = { -readonly [K in keyof VariantTotals]: VariantTotals[K] };

export const emptyTruth = (): TruthTally => emptyTotals();

/**
 * Folds one request's fate into the expected tallies. `labels` are the distinct labels sent
 * for the request (duplicates excluded), in the order they were sent.
 */
export function expectOutcome(
  tallies: Map<string, TruthTally>,
  prediction: ObservedPrediction,
  labels: readonly SentLabel[],
  windowMs: number,
  implicitReward: number,
): void {
  const t = tallies.get(prediction.variant) ?? emptyTruth();
  tallies.set(prediction.variant, t);
  // Every distinct prediction is one decision that served its variant.
  t.assigned += 1;
  const windowEnd = prediction.requestTime + windowMs;
  const inWindow = labels.find((l) => l.eventTime <= windowEnd);
  const late = labels.find((l) => l.eventTime > windowEnd);
  if (prediction.failed) {
    // A failed prediction earns nothing: an in-window label cannot be scored (dead-lettered),
    // and a closed window drops it.
    if (inWindow === undefined) t.dropped += 1;
    return;
  }
  if (inWindow !== undefined) {
    const reward = inWindow.label === prediction.predictedLabel ? 1 : 0;
    t.successes += reward;
    t.failures += 1 - reward;
    t.count += 1;
    // A late label sent before the in-window one is still reported as late.
    if (late !== undefined && labels.indexOf(late) < labels.indexOf(inWindow)) t.late += 1;
    return;
  }
  if (late !== undefined) t.late += 1;
  t.successes += implicitReward;
  t.failures += 1 - implicitReward;
  t.count += 1;
  t.implicit += 1;
}

export interface Verdict {
  readonly exact: boolean;
  readonly expected: number;
  readonly published: number;
  readonly lost: number;
  readonly double: number;
  readonly mismatches: readonly string[];
}

/** Compares published tallies with the expected ones, per variant and field. */
export function judge(
  expected: ReadonlyMap<string, TruthTally>,
  published: ReadonlyMap<string, TruthTally>,
): Verdict {
  const variants = new Set([...expected.keys(), ...published.keys()]);
  let lost = 0;
  let double = 0;
  const mismatches: string[] = [];
  for (const variant of variants) {
    const e = expected.get(variant) ?? emptyTruth();
    const p = published.get(variant) ?? emptyTruth();
    lost +=
      Math.max(0, e.count - p.count) +
      Math.max(0, e.late - p.late) +
      Math.max(0, e.dropped - p.dropped);
    double +=
      Math.max(0, p.count - e.count) +
      Math.max(0, p.late - e.late) +
      Math.max(0, p.dropped - e.dropped);
    for (const field of [
      'successes',
      'failures',
      'count',
      'implicit',
      'dropped',
      'late',
      'assigned',
    ] as const) {
      if (Math.abs(e[field] - p[field]) > 1e-9)
        mismatches.push(`${variant}.${field}: expected ${e[field]}, published ${p[field]}`);
    }
  }
  const sum = (m: ReadonlyMap<string, TruthTally>): number =>
    [...m.values()].reduce((s, t) => s + t.count, 0);
  return {
    exact: mismatches.length === 0,
    expected: sum(expected),
    published: sum(published),
    lost,
    double,
    mismatches,
  };
}

/**
 * One label per partition, dated `tickTime` (event time and record timestamp), that moves every
 * partition's watermark there. Each request id hashes to its own partition (murmur2, as
 * predictions are keyed), so the aggregator takes it where it lands instead of forwarding it.
 */
export function watermarkTicks(
  topic: string,
  partitions: number,
  tickTime: number,
  source: string,
  encode: (label: LabelReceived) => Buffer,
  /** Request ids are `<idPrefix>-<partition>-<n>`: ticks of another prefix never share an id. */
  idPrefix = 'watermark',
): OutRecord[] {
  return Array.from({ length: partitions }, (_, p) => {
    let n = 0;
    while (partitionForKey(`${idPrefix}-${p}-${n}`, partitions) !== p) n++;
    const requestId = `${idPrefix}-${p}-${n}`;
    return {
      topic,
      key: requestId,
      partition: p,
      // The record's own time too: a label moves the watermark no further than its timestamp.
      timestamp: tickTime,
      value: encode({ requestId, reward: null, label: 'ham', eventTime: tickTime, source }),
    };
  });
}
