// Experiment definitions as JSON files (the shape of ExperimentDefined, any field may be left
// out): type checks every field and reports every problem at once, so a typo is an error, not a
// silently ignored key. Ranges and cross-field rules are left to experimentProblems. Pure.
import type {
  CanaryConfig,
  ExperimentDefined,
  ExperimentPolicy,
  ExperimentState,
  RewardKind,
  StoppingConfig,
  StoppingRuleName,
  ExperimentGoal,
  VariantConfig,
} from '../../../lib/contracts/events.ts';
import {
  defineExperiment,
  EXPERIMENT_DEFAULTS,
} from '../../../lib/contracts/experiment-defaults.ts';
import { DynabError } from '../../../lib/errors/catalogue.ts';
import { parseDuration } from './duration.ts';
import { CANARY_DEFAULTS, type ExperimentPatch, type LifecyclePatch } from './experiment-patch.ts';

export const POLICIES: readonly ExperimentPolicy[] = [
  'thompson-sampling',
  'gaussian-thompson-sampling',
  'epsilon-greedy',
  'ucb1',
  'static-weights',
];
export const REWARD_KINDS: readonly RewardKind[] = ['unit-interval', 'real'];
export const STOPPING_RULES: readonly StoppingRuleName[] = [
  'none',
  'expected-loss',
  'glr',
  'probability-best',
];
export const GOALS: readonly ExperimentGoal[] = ['earn', 'decide'];
export const STATES: readonly ExperimentState[] = ['running', 'paused', 'stopped', 'promoted'];

/** A parsed experiment file. */
export interface ExperimentFile {
  /** The "experiment" field, when present. */
  readonly name: string | undefined;
  readonly patch: ExperimentPatch;
  /** Lifecycle fields as the file gives them (only `put` applies them as they are). */
  readonly lifecycle: LifecyclePatch;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Collects problems while reading fields of one JSON object. */
class FieldReader {
  constructor(
    private readonly source: Json,
    private readonly path: string,
    private readonly problems: string[],
  ) {}

  /**
   * The field converted by `convert` (undefined when it does not fit, which is reported as a
   * problem). Absent fields are undefined; JSON null is null when `nullable`, else absent.
   */
  private read<T>(
    key: string,
    nullable: boolean,
    expected: string,
    convert: (value: unknown) => T | undefined,
  ): T | null | undefined {
    const value = this.source[key];
    if (value === undefined || value === null) return nullable ? value : undefined;
    const converted = convert(value);
    if (converted === undefined) {
      this.problems.push(`${this.path}${key}: expected ${expected}, got ${JSON.stringify(value)}`);
    }
    return converted;
  }

  private required<T>(value: T | null | undefined): T | undefined {
    return value ?? undefined;
  }

  number(key: string): number | undefined {
    return this.required(this.read(key, false, 'a finite number', asNumber));
  }

  integer(key: string): number | undefined {
    return this.required(this.read(key, false, 'a whole number', asInteger));
  }

  nullableNumber(key: string): number | null | undefined {
    return this.read(key, true, 'a finite number or null', asNumber);
  }

  /** Milliseconds as a whole number or a duration text such as "15m". */
  duration(key: string): number | undefined {
    return this.required(this.read(key, false, DURATION_EXPECTED, asDuration));
  }

  nullableDuration(key: string): number | null | undefined {
    return this.read(key, true, `${DURATION_EXPECTED}, or null`, asDuration);
  }

  string(key: string): string | undefined {
    return this.required(this.read(key, false, 'a string', asString));
  }

  nullableString(key: string): string | null | undefined {
    return this.read(key, true, 'a string or null', asString);
  }

  boolean(key: string): boolean | undefined {
    const asBoolean = (v: unknown): boolean | undefined => (typeof v === 'boolean' ? v : undefined);
    return this.required(this.read(key, false, 'true or false', asBoolean));
  }

  oneOf<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const asMember = (v: unknown): T | undefined => allowed.find((member) => member === v);
    return this.required(this.read(key, false, allowed.join(' | '), asMember));
  }

  strings(key: string): string[] | undefined {
    const asStrings = (v: unknown): string[] | undefined =>
      Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : undefined;
    return this.required(this.read(key, false, 'an array of strings', asStrings));
  }

  objects(key: string): Json[] | undefined {
    const asObjects = (v: unknown): Json[] | undefined =>
      Array.isArray(v) && v.every(isObject) ? v : undefined;
    return this.required(this.read(key, false, 'an array of objects', asObjects));
  }

  object(key: string, nullable: boolean): Json | null | undefined {
    const asObject = (v: unknown): Json | undefined => (isObject(v) ? v : undefined);
    return this.read(key, nullable, nullable ? 'an object or null' : 'an object', asObject);
  }

  unknownKeys(known: readonly string[]): void {
    for (const key of Object.keys(this.source)) {
      if (!known.includes(key)) this.problems.push(`${this.path}${key}: unknown field`);
    }
  }
}

const DURATION_EXPECTED = 'milliseconds or a duration such as "30s", "15m", "7d"';

function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function asInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function asDuration(value: unknown): number | undefined {
  if (typeof value !== 'string') return asInteger(value);
  try {
    return parseDuration(value);
  } catch {
    return undefined;
  }
}

/** The fields of a definition, in the order of the contract and the schema. */
export const EXPERIMENT_FIELDS = [
  'experiment',
  'variants',
  'policy',
  'priorAlpha',
  'priorBeta',
  'warmUpRewards',
  'attributionWindowMs',
  'graceMs',
  'implicitReward',
  'state',
  'updatedAt',
  'revision',
  'stateReason',
  'champion',
  'winner',
  'rewardKind',
  'epsilon',
  'ucbExploration',
  'probabilityFloor',
  'halfLifeMs',
  'priorMean',
  'priorVariance',
  'priorStrength',
  'shadowVariants',
  'sticky',
  'canary',
  'stopping',
] as const satisfies readonly (keyof ExperimentDefined)[];

type Defined<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** Drops the keys whose value is undefined (exactOptionalPropertyTypes forbids them). */
function defined<T extends object>(object: T): Defined<T> {
  return Object.fromEntries(
    Object.entries(object).filter(([, value]) => value !== undefined),
  ) as Defined<T>;
}

function readVariants(items: Json[], problems: string[]): VariantConfig[] {
  return items.map((item, i) => {
    const reader = new FieldReader(item, `variants[${i}].`, problems);
    reader.unknownKeys(['name', 'weight']);
    const name = reader.string('name');
    const weight = reader.number('weight');
    if (name === undefined) problems.push(`variants[${i}].name: required`);
    if (weight === undefined) problems.push(`variants[${i}].weight: required`);
    return { name: name ?? '', weight: weight ?? 0 };
  });
}

function readCanary(object: Json, problems: string[]): CanaryConfig {
  const reader = new FieldReader(object, 'canary.', problems);
  reader.unknownKeys(['challenger', 'share', 'margin', 'confidence', 'minRewards', 'rolledBackAt']);
  const challenger = reader.string('challenger');
  const share = reader.number('share');
  if (challenger === undefined) problems.push('canary.challenger: required');
  if (share === undefined) problems.push('canary.share: required');
  return {
    challenger: challenger ?? '',
    share: share ?? 0,
    margin: reader.number('margin') ?? CANARY_DEFAULTS.margin,
    confidence: reader.number('confidence') ?? CANARY_DEFAULTS.confidence,
    minRewards: reader.integer('minRewards') ?? CANARY_DEFAULTS.minRewards,
    rolledBackAt: (() => {
      const at = reader.nullableNumber('rolledBackAt');
      return at === undefined ? CANARY_DEFAULTS.rolledBackAt : at;
    })(),
  };
}

function readStopping(object: Json, problems: string[]): Partial<StoppingConfig> {
  const reader = new FieldReader(object, 'stopping.', problems);
  reader.unknownKeys([
    'rule',
    'goal',
    'threshold',
    'tolerance',
    'minRewards',
    'autoPromote',
    'minimumDetectableEffect',
  ]);
  return defined({
    rule: reader.oneOf('rule', STOPPING_RULES),
    goal: reader.oneOf('goal', GOALS),
    threshold: reader.number('threshold'),
    tolerance: reader.number('tolerance'),
    minRewards: reader.integer('minRewards'),
    autoPromote: reader.boolean('autoPromote'),
    minimumDetectableEffect: reader.nullableNumber('minimumDetectableEffect'),
  });
}

/**
 * Reads a parsed JSON value as an experiment file. Throws a DynabError (INVALID_FIELD) listing
 * every problem. `revision` and `updatedAt` are accepted and ignored: the CLI computes them.
 */
export function parseExperimentJson(json: unknown): ExperimentFile {
  if (!isObject(json)) throw new DynabError('INVALID_FIELD', 'an experiment must be a JSON object');
  const problems: string[] = [];
  const reader = new FieldReader(json, '', problems);
  reader.unknownKeys(EXPERIMENT_FIELDS);
  const variants = reader.objects('variants');
  const canary = reader.object('canary', true);
  const stopping = reader.object('stopping', false);
  const patch: ExperimentPatch = defined({
    variants: variants === undefined ? undefined : readVariants(variants, problems),
    policy: reader.oneOf('policy', POLICIES),
    priorAlpha: reader.number('priorAlpha'),
    priorBeta: reader.number('priorBeta'),
    warmUpRewards: reader.integer('warmUpRewards'),
    attributionWindowMs: reader.duration('attributionWindowMs'),
    graceMs: reader.duration('graceMs'),
    implicitReward: reader.nullableNumber('implicitReward'),
    champion: reader.nullableString('champion'),
    rewardKind: reader.oneOf('rewardKind', REWARD_KINDS),
    epsilon: reader.number('epsilon'),
    ucbExploration: reader.number('ucbExploration'),
    probabilityFloor: reader.number('probabilityFloor'),
    halfLifeMs: reader.nullableDuration('halfLifeMs'),
    priorMean: reader.number('priorMean'),
    priorVariance: reader.number('priorVariance'),
    priorStrength: reader.number('priorStrength'),
    shadowVariants: reader.strings('shadowVariants'),
    sticky: reader.boolean('sticky'),
    canary:
      canary === undefined ? undefined : canary === null ? null : readCanary(canary, problems),
    stopping:
      stopping === undefined || stopping === null ? undefined : readStopping(stopping, problems),
  });
  const lifecycle: LifecyclePatch = defined({
    state: reader.oneOf('state', STATES),
    stateReason: reader.nullableString('stateReason'),
    winner: reader.nullableString('winner'),
  });
  const name = reader.string('experiment');
  // Only their type is checked: the CLI sets both on every write.
  reader.integer('revision');
  reader.integer('updatedAt');
  if (problems.length > 0) {
    throw new DynabError('INVALID_FIELD', `invalid experiment file:\n  ${problems.join('\n  ')}`);
  }
  return { name, patch, lifecycle };
}

/**
 * A complete definition from a user's experiment JSON (the `put` shape): defaults for every
 * field left out, `updatedAt` = now. Throws a DynabError when the JSON is not an experiment;
 * the rules of experimentProblems are checked by the caller.
 */
export function experimentFromJson(json: unknown, now: number, revision = 1): ExperimentDefined {
  const file = parseExperimentJson(json);
  if (file.name === undefined || file.name === '') {
    throw new DynabError('INVALID_FIELD', 'experiment: a non-empty name is required');
  }
  const { variants } = file.patch;
  if (variants === undefined || variants.length === 0) {
    throw new DynabError('INVALID_FIELD', 'variants: at least one {"name", "weight"} is required');
  }
  return defineExperiment({
    ...file.patch,
    ...file.lifecycle,
    stopping: { ...EXPERIMENT_DEFAULTS.stopping, ...file.patch.stopping },
    experiment: file.name,
    variants,
    updatedAt: now,
    revision,
  });
}
