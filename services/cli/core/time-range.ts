// Points in time and log positions on the command line, for `dynab audit` and `dynab replay`.
// Pure: "now" is passed in.
import { parseDuration } from './duration.ts';

/** Thrown for a malformed argument; the shell prints it with the usage and exits 2. */
export class ArgumentError extends Error {}

/**
 * A time: an ISO 8601 date-time ("2026-12-07T14:00:00Z"), epoch milliseconds ("1765116000000"),
 * "now", or a duration before now ("-2h", "-7d").
 */
export function parseTime(text: string, now: number): number {
  const trimmed = text.trim();
  if (trimmed === 'now') return now;
  if (trimmed.startsWith('-')) {
    try {
      return now - parseDuration(trimmed.slice(1));
    } catch (error) {
      throw new ArgumentError(`"${text}": ${(error as Error).message}`);
    }
  }
  if (/^\d+$/.test(trimmed)) {
    const ms = Number(trimmed);
    if (!Number.isSafeInteger(ms)) throw new ArgumentError(`"${text}" is not a time`);
    return ms;
  }
  const ms = Date.parse(trimmed);
  if (Number.isNaN(ms)) {
    throw new ArgumentError(
      `"${text}" is not a time (ISO 8601 like 2026-12-07T14:00:00Z, epoch ms, now, or -2h)`,
    );
  }
  return ms;
}

/** A position in the log: a time, or an offset given as "offset:N" (the same on every partition). */
export type LogPosition =
  | { readonly kind: 'time'; readonly time: number }
  | { readonly kind: 'offset'; readonly offset: bigint };

export function parsePosition(text: string, now: number): LogPosition {
  const match = /^offset:(\d+)$/.exec(text.trim());
  if (match !== null) return { kind: 'offset', offset: BigInt(match[1] ?? '0') };
  return { kind: 'time', time: parseTime(text, now) };
}

/** Option values of a command line: `--name value` pairs, flags, and the positionals. */
export interface ParsedOptions {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly flags: ReadonlySet<string>;
}

/** Splits `args` by the options the command knows; anything else is an ArgumentError. */
export function parseOptions(
  args: readonly string[],
  known: { readonly values: readonly string[]; readonly flags: readonly string[] },
): ParsedOptions {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const flags = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const [name = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (known.flags.includes(name)) {
      if (inline !== undefined) throw new ArgumentError(`--${name} takes no value`);
      flags.add(name);
    } else if (known.values.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new ArgumentError(`--${name} needs a value`);
      values.set(name, value);
    } else {
      throw new ArgumentError(`unknown option --${name}`);
    }
  }
  return { positionals, values, flags };
}
