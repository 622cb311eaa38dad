// Durations on the command line: a plain number of milliseconds ("90000") or one or more
// number+unit parts ("500ms", "30s", "15m", "2h", "7d", "1h30m"). Pure.

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const PLAIN = /^\d+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;

/**
 * Milliseconds of a duration, or a RangeError naming what is wrong. The result is a whole,
 * non-negative number of milliseconds (the topics carry them as Avro longs).
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  let ms: number;
  if (PLAIN.test(trimmed)) {
    ms = Number(trimmed);
  } else {
    ms = 0;
    let end = 0;
    PART.lastIndex = 0;
    for (let match = PART.exec(trimmed); match !== null; match = PART.exec(trimmed)) {
      const [, amount = '', unit = ''] = match;
      ms += Number(amount) * (UNIT_MS[unit] ?? Number.NaN);
      end = PART.lastIndex;
    }
    if (end === 0 || end !== trimmed.length) {
      throw new RangeError(
        `"${text}" is not a duration (milliseconds, or e.g. 500ms, 30s, 15m, 2h, 7d, 1h30m)`,
      );
    }
  }
  if (!Number.isSafeInteger(ms)) {
    throw new RangeError(`"${text}" is not a whole number of milliseconds`);
  }
  return ms;
}

/** The shortest exact rendering of a duration in the units above ("1h30m", "250ms", "0ms"). */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0 || !Number.isInteger(ms)) return `${ms}ms`;
  if (ms === 0) return '0ms';
  const parts: string[] = [];
  let rest = ms;
  for (const unit of ['d', 'h', 'm', 's', 'ms'] as const) {
    const size = UNIT_MS[unit] ?? 1;
    const amount = Math.floor(rest / size);
    if (amount > 0) {
      parts.push(`${amount}${unit}`);
      rest -= amount * size;
    }
  }
  return parts.join('');
}
