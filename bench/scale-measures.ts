// Pure helpers of the scale benchmark (bench/scale-bench.ts): payload sizing, the open-loop
// schedule, percentiles, rates and the tag that makes a label probe visible in the merged
// posterior. No I/O and no clock: times are passed in, so each rule is unit-tested on its own.

/**
 * The UTF-8 bytes of `text` cut to exactly `bytes`: truncated at a code point boundary (never
 * inside a multi-byte character, so the result is still valid text) and padded with ASCII
 * spaces up to the size when the cut fell short of it or the text is shorter.
 */
export function fitUtf8(text: string, bytes: number): Buffer {
  if (!(Number.isInteger(bytes) && bytes >= 0))
    throw new RangeError(`bytes must be a non-negative integer, got ${bytes}`);
  const encoded = Buffer.from(text, 'utf8');
  let end = Math.min(bytes, encoded.length);
  // A continuation byte is 10xxxxxx: step back to the first byte of the character it belongs to
  // when the character would not fit whole.
  if (end < encoded.length) {
    while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) end--;
  }
  const out = Buffer.alloc(bytes, 0x20);
  encoded.copy(out, 0, 0, end);
  return out;
}

/** When request `index` (from 0) of an open-loop schedule is meant to be sent, in ms. */
export function intendedSendTime(startMs: number, ratePerSecond: number, index: number): number {
  return startMs + (index * 1000) / ratePerSecond;
}

/**
 * How many requests of an open-loop schedule are due at `nowMs`: request i is due once
 * `nowMs >= startMs + i / rate`. At most `total`.
 */
export function dueRequests(
  startMs: number,
  ratePerSecond: number,
  nowMs: number,
  total: number,
): number {
  if (!(ratePerSecond > 0)) throw new RangeError(`rate must be positive, got ${ratePerSecond}`);
  if (nowMs < startMs) return 0;
  return Math.min(total, Math.floor(((nowMs - startMs) * ratePerSecond) / 1000) + 1);
}

/** Requests of an open-loop phase: the rate times the duration, at least one. */
export function openLoopRequests(ratePerSecond: number, durationMs: number): number {
  return Math.max(1, Math.round((ratePerSecond * durationMs) / 1000));
}

/** Nearest-rank percentile (q in [0, 1]) of ascending values; NaN when there are none. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarizeLatencies(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/** Records per second over a window; NaN for an empty or reversed window. */
export function ratePerSecond(records: number, startMs: number, endMs: number): number {
  return endMs > startMs ? (records * 1000) / (endMs - startMs) : Number.NaN;
}

/**
 * Label probes carry this explicit reward. Every other label of the run carries a truth label,
 * whose reward is 0 or 1, so the merged sum of rewards (Beta successes) of the experiment is an
 * integer plus k quarters, k the number of probes folded in: its fractional part tells, exactly
 * (binary fractions add without rounding), whether the probe in flight is in the snapshot.
 */
export const PROBE_REWARD = 0.25;

/** How many probe rewards (mod 4) a merged sum of rewards holds. */
export function probeQuarters(rewardSum: number): number {
  const fraction = rewardSum - Math.floor(rewardSum);
  const quarters = Math.round(fraction / PROBE_REWARD);
  if (Math.abs(quarters * PROBE_REWARD - fraction) > 1e-9)
    throw new RangeError(
      `reward sum ${rewardSum} is not a whole number of quarters: a label other than the probes carried a fractional reward`,
    );
  return quarters % 4;
}

/** Request ids carry their phase: `<phase>:<index>`. */
export function requestIdOf(phase: string, index: number): string {
  return `${phase}:${index}`;
}

/** The phase of a request id made by requestIdOf (the whole id when it has none). */
export function phaseOf(requestId: string): string {
  const colon = requestId.lastIndexOf(':');
  return colon < 0 ? requestId : requestId.slice(0, colon);
}

/** The index of a request id made by requestIdOf; NaN when it has none. */
export function indexOf(requestId: string): number {
  const colon = requestId.lastIndexOf(':');
  return colon < 0 ? Number.NaN : Number(requestId.slice(colon + 1));
}
