// Command-line parsing of `dynab experiment ...`: the sub-command, its positionals and its
// kebab-case flags, each mapped onto a field of the experiment definition. Malformed input
// throws a UsageError (exit 2); range and cross-field rules are experimentProblems' job. Pure.
import type {
  CanaryConfig,
  ExperimentPolicy,
  RewardKind,
  StoppingRuleName,
  ExperimentGoal,
  VariantConfig,
} from '../../../lib/contracts/events.ts';
import { parseDuration } from './duration.ts';
import { GOALS, POLICIES, REWARD_KINDS, STOPPING_RULES } from './experiment-json.ts';
import { CANARY_DEFAULTS, isEmptyPatch, type ExperimentPatch } from './experiment-patch.ts';

/** Bad command-line input: the shell prints the message and the usage, and exits with 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The commands that only change an experiment's state; shared with apply-command.ts. */
export type StateCommand =
  | {
      readonly kind: 'pause' | 'resume' | 'stop';
      readonly name: string;
      readonly reason: string | undefined;
    }
  | {
      readonly kind: 'promote';
      readonly name: string;
      readonly variant: string;
      readonly reason: string | undefined;
    };

export type ExperimentCommand =
  | {
      readonly kind: 'create';
      readonly name: string | undefined;
      readonly file: string | undefined;
      readonly patch: ExperimentPatch;
      readonly reason: string | undefined;
    }
  | {
      readonly kind: 'update';
      readonly name: string;
      readonly file: string | undefined;
      readonly patch: ExperimentPatch;
    }
  | StateCommand
  | { readonly kind: 'show'; readonly name: string | undefined; readonly json: boolean }
  | { readonly kind: 'put'; readonly source: string }
  | { readonly kind: 'help' };

// ---------------------------------------------------------------------------------------------
// Values

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const COUNT = /^\d+$/;

function fail(flag: string, message: string): never {
  throw new UsageError(`${flag}: ${message}`);
}

function number(flag: string, text: string): number {
  const value = Number(text);
  if (!NUMBER.test(text.trim()) || !Number.isFinite(value)) fail(flag, `"${text}" is not a number`);
  return value;
}

function count(flag: string, text: string): number {
  const value = Number(text);
  if (!COUNT.test(text.trim()) || !Number.isSafeInteger(value)) {
    fail(flag, `"${text}" is not a whole number ≥ 0`);
  }
  return value;
}

function duration(flag: string, text: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    return fail(flag, error instanceof Error ? error.message : String(error));
  }
}

function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) fail(flag, `"${text}" is not one of ${allowed.join(', ')}`);
  return text as T;
}

const orNone = <T>(text: string, parse: (text: string) => T): T | null =>
  text === 'none' ? null : parse(text);

function names(flag: string, text: string): string[] {
  const list = text.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) fail(flag, `"${text}" has an empty name`);
  return list;
}

/** `a:0.5,b:0.5`, or `a,b` for equal weights. */
export function parseVariants(text: string, flag = '--variants'): VariantConfig[] {
  const items = names(flag, text).map((item) => {
    const colon = item.lastIndexOf(':');
    return colon < 0
      ? { name: item, weight: undefined }
      : { name: item.slice(0, colon), weight: number(flag, item.slice(colon + 1)) };
  });
  const weighted = items.filter((v) => v.weight !== undefined).length;
  if (weighted !== 0 && weighted !== items.length) {
    fail(flag, 'give a weight to every variant (name:weight) or to none (equal weights)');
  }
  if (items.some((v) => v.name === '')) fail(flag, `"${text}" has an empty name`);
  return items.map((v) => ({ name: v.name, weight: v.weight ?? 1 / items.length }));
}

/** `CHALLENGER:SHARE[:MARGIN[:CONFIDENCE[:MIN_REWARDS]]]`. */
export function parseCanary(text: string, flag = '--canary'): CanaryConfig {
  const parts = text.split(':');
  const [challenger = '', share, margin, confidence, minRewards] = parts;
  if (parts.length < 2 || parts.length > 5 || challenger === '' || share === undefined) {
    fail(flag, `"${text}" is not CHALLENGER:SHARE[:MARGIN[:CONFIDENCE[:MIN_REWARDS]]]`);
  }
  return {
    challenger,
    share: number(flag, share),
    margin: margin === undefined ? CANARY_DEFAULTS.margin : number(flag, margin),
    confidence: confidence === undefined ? CANARY_DEFAULTS.confidence : number(flag, confidence),
    minRewards: minRewards === undefined ? CANARY_DEFAULTS.minRewards : count(flag, minRewards),
    rolledBackAt: CANARY_DEFAULTS.rolledBackAt,
  };
}

// ---------------------------------------------------------------------------------------------
// Flags of create and update

interface FlagSpec {
  /** The definition field it sets: two flags setting one field conflict. */
  readonly field: string;
  /** Whether the flag takes a value (`--flag VALUE` or `--flag=VALUE`). */
  readonly takesValue: boolean;
  readonly apply: (patch: ExperimentPatch, value: string, flag: string) => void;
}

const stopping = (patch: ExperimentPatch): NonNullable<ExperimentPatch['stopping']> =>
  (patch.stopping ??= {});

const CONFIG_FLAGS: Readonly<Record<string, FlagSpec>> = {
  '--variants': {
    field: 'variants',
    takesValue: true,
    apply: (p, v, f) => (p.variants = parseVariants(v, f)),
  },
  '--policy': {
    field: 'policy',
    takesValue: true,
    apply: (p, v, f) => (p.policy = oneOf<ExperimentPolicy>(f, v, POLICIES)),
  },
  '--champion': {
    field: 'champion',
    takesValue: true,
    apply: (p, v) => (p.champion = v === 'none' ? null : v),
  },
  '--epsilon': {
    field: 'epsilon',
    takesValue: true,
    apply: (p, v, f) => (p.epsilon = number(f, v)),
  },
  '--ucb-exploration': {
    field: 'ucbExploration',
    takesValue: true,
    apply: (p, v, f) => (p.ucbExploration = number(f, v)),
  },
  '--floor': {
    field: 'probabilityFloor',
    takesValue: true,
    apply: (p, v, f) => (p.probabilityFloor = number(f, v)),
  },
  '--half-life': {
    field: 'halfLifeMs',
    takesValue: true,
    apply: (p, v, f) => (p.halfLifeMs = orNone(v, (t) => duration(f, t))),
  },
  '--warm-up': {
    field: 'warmUpRewards',
    takesValue: true,
    apply: (p, v, f) => (p.warmUpRewards = count(f, v)),
  },
  '--window': {
    field: 'attributionWindowMs',
    takesValue: true,
    apply: (p, v, f) => (p.attributionWindowMs = duration(f, v)),
  },
  '--grace': {
    field: 'graceMs',
    takesValue: true,
    apply: (p, v, f) => (p.graceMs = duration(f, v)),
  },
  '--implicit-reward': {
    field: 'implicitReward',
    takesValue: true,
    apply: (p, v, f) => (p.implicitReward = orNone(v, (t) => number(f, t))),
  },
  '--reward-kind': {
    field: 'rewardKind',
    takesValue: true,
    apply: (p, v, f) => (p.rewardKind = oneOf<RewardKind>(f, v, REWARD_KINDS)),
  },
  '--prior-alpha': {
    field: 'priorAlpha',
    takesValue: true,
    apply: (p, v, f) => (p.priorAlpha = number(f, v)),
  },
  '--prior-beta': {
    field: 'priorBeta',
    takesValue: true,
    apply: (p, v, f) => (p.priorBeta = number(f, v)),
  },
  '--prior-mean': {
    field: 'priorMean',
    takesValue: true,
    apply: (p, v, f) => (p.priorMean = number(f, v)),
  },
  '--prior-variance': {
    field: 'priorVariance',
    takesValue: true,
    apply: (p, v, f) => (p.priorVariance = number(f, v)),
  },
  '--prior-strength': {
    field: 'priorStrength',
    takesValue: true,
    apply: (p, v, f) => (p.priorStrength = number(f, v)),
  },
  '--shadow': {
    field: 'shadowVariants',
    takesValue: true,
    apply: (p, v, f) => (p.shadowVariants = v === 'none' ? [] : names(f, v)),
  },
  '--sticky': { field: 'sticky', takesValue: false, apply: (p) => (p.sticky = true) },
  '--no-sticky': { field: 'sticky', takesValue: false, apply: (p) => (p.sticky = false) },
  '--canary': {
    field: 'canary',
    takesValue: true,
    apply: (p, v, f) => (p.canary = orNone(v, (t) => parseCanary(t, f))),
  },
  '--stop': {
    field: 'stopping.rule',
    takesValue: true,
    apply: (p, v, f) => (stopping(p).rule = oneOf<StoppingRuleName>(f, v, STOPPING_RULES)),
  },
  '--goal': {
    field: 'stopping.goal',
    takesValue: true,
    apply: (p, v, f) => (stopping(p).goal = oneOf<ExperimentGoal>(f, v, GOALS)),
  },
  '--tolerance': {
    field: 'stopping.tolerance',
    takesValue: true,
    apply: (p, v, f) => (stopping(p).tolerance = number(f, v)),
  },
  '--mde': {
    field: 'stopping.minimumDetectableEffect',
    takesValue: true,
    apply: (p, v, f) => (stopping(p).minimumDetectableEffect = orNone(v, (t) => number(f, t))),
  },
  '--threshold': {
    field: 'stopping.threshold',
    takesValue: true,
    apply: (p, v, f) => (stopping(p).threshold = number(f, v)),
  },
  '--min-rewards': {
    field: 'stopping.minRewards',
    takesValue: true,
    apply: (p, v, f) => (stopping(p).minRewards = count(f, v)),
  },
  '--auto-promote': {
    field: 'stopping.autoPromote',
    takesValue: false,
    apply: (p) => (stopping(p).autoPromote = true),
  },
  '--no-auto-promote': {
    field: 'stopping.autoPromote',
    takesValue: false,
    apply: (p) => (stopping(p).autoPromote = false),
  },
};

/** Flags that are not definition fields. */
const OTHER_FLAGS = {
  '--file': { takesValue: true },
  '--reason': { takesValue: true },
  '--json': { takesValue: false },
} as const satisfies Record<string, { takesValue: boolean }>;
type OtherFlag = keyof typeof OTHER_FLAGS;

export interface ParsedFlags {
  readonly positionals: readonly string[];
  /** The definition fields the flags set. */
  readonly patch: ExperimentPatch;
  /** Values of the other flags that were given (`--json` has the value ""). */
  readonly options: Readonly<Partial<Record<OtherFlag, string>>>;
  /** Every flag given, as written (without `=VALUE`). */
  readonly flags: readonly string[];
}

const isFlag = (arg: string): boolean => arg.startsWith('--') && arg.length > 2;

/**
 * Splits arguments into positionals, definition fields (as a partial definition) and the other
 * flags. Unknown flags, missing or malformed values and a field set twice throw a UsageError.
 */
export function parseExperimentFlags(args: readonly string[]): ParsedFlags {
  const positionals: string[] = [];
  const patch: ExperimentPatch = {};
  const options: Partial<Record<OtherFlag, string>> = {};
  const flags: string[] = [];
  const fieldsSet = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (!isFlag(arg)) {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf('=');
    const flag = equals < 0 ? arg : arg.slice(0, equals);
    const inline = equals < 0 ? undefined : arg.slice(equals + 1);
    const config = CONFIG_FLAGS[flag];
    const other = Object.hasOwn(OTHER_FLAGS, flag) ? OTHER_FLAGS[flag as OtherFlag] : undefined;
    if (config === undefined && other === undefined) throw new UsageError(`unknown option ${flag}`);
    const takesValue = config?.takesValue ?? other?.takesValue ?? false;
    let value = '';
    if (takesValue) {
      // The next argument is the value even when it starts with "-" (e.g. --prior-mean -0.5).
      const next = inline ?? args[++i];
      if (next === undefined) throw new UsageError(`${flag} needs a value`);
      value = next;
    } else if (inline !== undefined) {
      throw new UsageError(`${flag} takes no value`);
    }
    const field = config?.field ?? flag;
    const earlier = fieldsSet.get(field);
    if (earlier !== undefined) {
      throw new UsageError(
        earlier === flag ? `${flag} is given twice` : `${flag} conflicts with ${earlier}`,
      );
    }
    fieldsSet.set(field, flag);
    flags.push(flag);
    if (config !== undefined) config.apply(patch, value, flag);
    else options[flag as OtherFlag] = value;
  }
  return { positionals, patch, options, flags };
}

// ---------------------------------------------------------------------------------------------
// Sub-commands

function expectOnly(parsed: ParsedFlags, command: string, allowed: readonly string[]): void {
  const wrong = parsed.flags.find((flag) => !allowed.includes(flag));
  if (wrong !== undefined) throw new UsageError(`${command} does not take ${wrong}`);
}

function positionals(
  parsed: ParsedFlags,
  command: string,
  min: number,
  max: number,
  what: string,
): readonly string[] {
  const { length } = parsed.positionals;
  if (length < min || length > max) {
    throw new UsageError(
      length < min
        ? `${command} needs ${what}`
        : `${command}: unexpected argument "${parsed.positionals[max] ?? ''}"`,
    );
  }
  return parsed.positionals;
}

const CONFIG_FLAG_NAMES = Object.keys(CONFIG_FLAGS);

/** Parses the arguments after `dynab experiment`. */
export function parseExperimentCommand(args: readonly string[]): ExperimentCommand {
  const [sub, ...rest] = args;
  if (sub === undefined) throw new UsageError('a command is required');
  if (sub === 'help' || args.includes('--help') || args.includes('-h')) return { kind: 'help' };
  // put keeps its historical form: exactly one argument, a file or "-".
  if (sub === 'put') {
    const [source, extra] = rest;
    if (source === undefined || extra !== undefined || isFlag(source)) {
      throw new UsageError('put needs exactly one argument: FILE.json or - (stdin)');
    }
    return { kind: 'put', source };
  }
  const parsed = parseExperimentFlags(rest);
  const { options, patch } = parsed;
  switch (sub) {
    case 'create': {
      expectOnly(parsed, 'create', [...CONFIG_FLAG_NAMES, '--file', '--reason']);
      const [name] = positionals(parsed, 'create', 0, 1, 'NAME');
      if (name === undefined && options['--file'] === undefined) {
        throw new UsageError('create needs NAME --variants ... or --file F.json');
      }
      if (options['--file'] === undefined && patch.variants === undefined) {
        throw new UsageError('create needs --variants NAME:WEIGHT,... (or --file F.json)');
      }
      return { kind: 'create', name, file: options['--file'], patch, reason: options['--reason'] };
    }
    case 'update': {
      expectOnly(parsed, 'update', [...CONFIG_FLAG_NAMES, '--file']);
      const [name = ''] = positionals(parsed, 'update', 1, 1, 'NAME');
      if (options['--file'] === undefined && isEmptyPatch(patch)) {
        throw new UsageError('update needs at least one option or --file F.json');
      }
      return { kind: 'update', name, file: options['--file'], patch };
    }
    case 'pause':
    case 'resume':
    case 'stop': {
      expectOnly(parsed, sub, ['--reason']);
      const [name = ''] = positionals(parsed, sub, 1, 1, 'NAME');
      return { kind: sub, name, reason: options['--reason'] };
    }
    case 'promote': {
      expectOnly(parsed, 'promote', ['--reason']);
      const [name = '', variant = ''] = positionals(parsed, 'promote', 2, 2, 'NAME VARIANT');
      return { kind: 'promote', name, variant, reason: options['--reason'] };
    }
    case 'show': {
      expectOnly(parsed, 'show', ['--json']);
      const [name] = positionals(parsed, 'show', 0, 1, 'NAME');
      return { kind: 'show', name, json: options['--json'] !== undefined };
    }
    default:
      throw new UsageError(`unknown command "${sub}"`);
  }
}

export const EXPERIMENT_USAGE = `Usage: dynab experiment COMMAND ...   (DYNAB_BROKERS, DYNAB_TOPIC_PREFIX from the environment)

  create NAME --variants A:W,B:W [options]   define a new experiment (revision 1, running)
  create [NAME] --file F.json|- [options]    the same from a JSON file (ExperimentDefined shape)
  update NAME [--file F.json|-] [options]    change fields of an existing experiment
  pause NAME [--reason TEXT]                 configured weights; the policy and stopping rule wait
  resume NAME [--reason TEXT]                back to running
  stop NAME [--reason TEXT]                  all traffic to the champion
  promote NAME VARIANT [--reason TEXT]       all traffic to VARIANT
  show [NAME] [--json]                       all experiments, or one with statistics and decision
  put FILE.json|-                            define or replace an experiment from a JSON file

Options of create and update (update keeps every field not given):
  --variants A:W,B:W,...        served variants and their static weights (A,B,...: equal weights)
  --policy P                    thompson-sampling | gaussian-thompson-sampling | epsilon-greedy |
                                ucb1 | static-weights
  --champion NAME|none          baseline of comparisons and of stop (none: the first variant)
  --epsilon X                   epsilon-greedy: share of traffic explored uniformly
  --ucb-exploration C           ucb1: exploration factor
  --floor F                     probability floor per variant (variants × F ≤ 1)
  --half-life DURATION|none     discount old rewards in the policy
  --warm-up N                   rewards per variant before the policy drives traffic
  --window DURATION             attribution window of a label
  --grace DURATION              allowed lateness of labels
  --implicit-reward X|none      reward when a window closes without a label (none: drop it)
  --reward-kind K               unit-interval | real
  --prior-alpha A  --prior-beta B                          Beta prior (thompson-sampling)
  --prior-mean M  --prior-variance V  --prior-strength S   Normal prior (gaussian-thompson-sampling)
  --shadow A,B|none             variants invoked on copies of requests, never served
  --sticky | --no-sticky        keep a user on one variant while the allocation allows it
  --canary CHALLENGER:SHARE[:MARGIN[:CONFIDENCE[:MIN_REWARDS]]]|none
                                canary mode (defaults: margin 0.02, confidence 0.95, 200 rewards)
  --goal earn|decide            earn: Thompson sampling, maximise reward while testing;
                                decide: top-two Thompson sampling, find the best with error ≤ δ
  --stop none|expected-loss|glr stopping rule: expected-loss (for earn) reports the leader once
                                choosing it loses < --tolerance; glr (for decide) declares a
                                winner that is wrong at most δ = 1 − --threshold of the time.
                                probability-best only reports P(best): it declares no winner
  --tolerance X                 expected-loss: reward per decision you accept to lose (0.001)
  --threshold X                 glr: 1 − δ (0.95: wrong at most 5% of the time)
  --mde X|none                  glr, two variants: the smallest gap in mean reward worth finding
                                (the test is fastest near it; it never changes the error rate)
  --min-rewards N               rewards every variant needs before the rule may fire (the
                                router gives a variant below it forced exploration traffic)
  --auto-promote | --no-auto-promote   route all traffic to the chosen variant when it fires
  --reason TEXT                 (create) recorded as the state reason
DURATION: milliseconds, or 500ms, 30s, 15m, 2h, 7d, 1h30m.
Exit status: 0 done, 1 refused or failed, 2 usage error.`;
