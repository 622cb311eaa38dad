// What a create/update asks to change: the configurable fields of an experiment definition,
// from flags or from a JSON file. The lifecycle fields (state, stateReason, winner) change only
// through pause/resume/stop/promote, and revision/updatedAt are always computed. Pure.
import type {
  CanaryConfig,
  ExperimentDefined,
  StoppingConfig,
} from '../../../lib/contracts/events.ts';

/** Fields the lifecycle commands own. */
export type LifecycleField = 'state' | 'stateReason' | 'winner';
/** Fields the CLI computes on every write. */
export type ComputedField = 'experiment' | 'revision' | 'updatedAt';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Configurable fields; `stopping` may be given in part and is merged field by field. */
export type ExperimentPatch = Partial<
  Mutable<Omit<ExperimentDefined, LifecycleField | ComputedField | 'stopping'>>
> & { stopping?: Partial<Mutable<StoppingConfig>> };

export type LifecyclePatch = Partial<Mutable<Pick<ExperimentDefined, LifecycleField>>>;

/** Defaults of the optional parts of `--canary` and of a canary object in a file. */
export const CANARY_DEFAULTS = {
  margin: 0.02,
  confidence: 0.95,
  minRewards: 200,
  rolledBackAt: null,
} as const satisfies Partial<CanaryConfig>;

/** `later` over `earlier`; the partial stopping configs are merged field by field. */
export function mergePatches(earlier: ExperimentPatch, later: ExperimentPatch): ExperimentPatch {
  const merged: ExperimentPatch = { ...earlier, ...later };
  if (earlier.stopping !== undefined || later.stopping !== undefined) {
    merged.stopping = { ...earlier.stopping, ...later.stopping };
  }
  return merged;
}

/** The definition with the patch applied (stopping merged field by field). */
export function applyPatch(base: ExperimentDefined, patch: ExperimentPatch): ExperimentDefined {
  return { ...base, ...patch, stopping: { ...base.stopping, ...patch.stopping } };
}

/** Whether the patch sets nothing at all. */
export function isEmptyPatch(patch: ExperimentPatch): boolean {
  const { stopping, ...rest } = patch;
  return Object.keys(rest).length === 0 && Object.keys(stopping ?? {}).length === 0;
}
