// The next experiment definition for a write command, given the current one (or none) and the
// time: create, update, the state changes pause/resume/stop/promote, and put. Every definition
// this returns to write has passed experimentProblems; a refusal lists every problem. Pure.
import type { ExperimentDefined, ExperimentState } from '../../../lib/contracts/events.ts';
import {
  defineExperiment,
  EXPERIMENT_DEFAULTS,
} from '../../../lib/contracts/experiment-defaults.ts';
import { experimentProblems } from '../../../lib/contracts/validate-experiment.ts';
import type { ExperimentFile } from './experiment-json.ts';
import type { StateCommand } from './experiment-args.ts';
import {
  applyPatch,
  mergePatches,
  type ExperimentPatch,
  type LifecyclePatch,
} from './experiment-patch.ts';
import { describeChanges } from './format-experiment.ts';

export type WriteCommand =
  | {
      readonly kind: 'create';
      readonly name: string;
      readonly patch: ExperimentPatch;
      /** Lifecycle fields a file gave; they must match a new experiment (running, no winner). */
      readonly lifecycle: LifecyclePatch;
      readonly reason: string | undefined;
    }
  | {
      readonly kind: 'update';
      readonly name: string;
      readonly patch: ExperimentPatch;
      /** Lifecycle fields a file gave; they must match the current definition. */
      readonly lifecycle: LifecyclePatch;
    }
  | StateCommand
  /** Defines or replaces the whole definition from a file (fields left out take defaults). */
  | { readonly kind: 'put'; readonly name: string; readonly file: ExperimentFile };

export type Outcome =
  | { readonly kind: 'write'; readonly next: ExperimentDefined; readonly summary: string }
  | { readonly kind: 'unchanged'; readonly summary: string }
  | { readonly kind: 'refused'; readonly problems: readonly string[] };

/**
 * The write command for a create or update from its flags and, optionally, a file: the flags
 * override the file. Throws a RangeError when NAME and the file's "experiment" disagree or no
 * name is given at all.
 */
export function resolveDefinitionCommand(
  command:
    | {
        kind: 'create';
        name: string | undefined;
        patch: ExperimentPatch;
        reason: string | undefined;
      }
    | { kind: 'update'; name: string; patch: ExperimentPatch },
  file: ExperimentFile | undefined,
): WriteCommand {
  const fileName = file?.name;
  if (command.name !== undefined && fileName !== undefined && fileName !== command.name) {
    throw new RangeError(
      `the file defines experiment "${fileName}", not "${command.name}" given on the command line`,
    );
  }
  const name = command.name ?? fileName;
  if (name === undefined || name === '') {
    throw new RangeError('no experiment name: give NAME or an "experiment" field in the file');
  }
  const patch = mergePatches(file?.patch ?? {}, command.patch);
  const lifecycle = file?.lifecycle ?? {};
  return command.kind === 'create'
    ? { kind: 'create', name, patch, lifecycle, reason: command.reason }
    : { kind: 'update', name, patch, lifecycle };
}

const DEFAULT_REASONS = {
  pause: 'paused from the CLI',
  resume: 'resumed from the CLI',
  stop: 'stopped from the CLI',
} as const;

function refused(...problems: string[]): Outcome {
  return { kind: 'refused', problems };
}

/** Lifecycle fields given in a file that differ from what the command leaves in place. */
function lifecycleProblems(
  given: LifecyclePatch,
  result: ExperimentDefined,
  how: string,
  keys: readonly (keyof LifecyclePatch)[] = ['state', 'winner', 'stateReason'],
): string[] {
  const problems: string[] = [];
  for (const key of keys) {
    const value = given[key];
    if (value !== undefined && value !== result[key]) {
      problems.push(
        `${key}: the file says ${JSON.stringify(value)} but ${how} ${JSON.stringify(result[key])}; ` +
          'use pause, resume, stop or promote to change the state',
      );
    }
  }
  return problems;
}

/** The written revision of `current` with `changes`, validated. */
function nextRevision(
  current: ExperimentDefined,
  changes: Partial<ExperimentDefined>,
  now: number,
  summary: (next: ExperimentDefined) => string,
): Outcome {
  const next: ExperimentDefined = {
    ...current,
    ...changes,
    revision: current.revision + 1,
    updatedAt: now,
  };
  const problems = experimentProblems(next);
  return problems.length > 0
    ? refused(...problems)
    : { kind: 'write', next, summary: summary(next) };
}

function stateChange(
  current: ExperimentDefined,
  state: ExperimentState,
  changes: Partial<ExperimentDefined>,
  now: number,
): Outcome {
  return nextRevision(current, { state, ...changes }, now, (next) => {
    const winner = next.state === 'promoted' ? ` to ${next.winner ?? '?'}` : '';
    return `${next.experiment}: ${current.state} → ${next.state}${winner} (revision ${next.revision}): ${next.stateReason ?? ''}`;
  });
}

/**
 * The outcome of a write command on the current definition (undefined when the experiment does
 * not exist). `now` becomes `updatedAt`; the revision is the current one plus one (1 for a new
 * experiment).
 *
 * Races: the current definition is what the caller read from the compacted topic a moment ago.
 * Two writers doing read-modify-write at once (two CLIs, or a CLI and the decider promoting a
 * winner) can both start from revision N and both write N + 1: the later write wins and the
 * earlier change is lost without an error. The equal revision numbers on the topic make such a
 * lost update visible afterwards; there is no compare-and-set on a Kafka topic to prevent it.
 */
export function applyCommand(
  current: ExperimentDefined | undefined,
  command: WriteCommand,
  now: number,
): Outcome {
  if (command.kind === 'put') {
    const { file } = command;
    const variants = file.patch.variants ?? [];
    const next = defineExperiment({
      ...file.patch,
      ...file.lifecycle,
      stopping: { ...EXPERIMENT_DEFAULTS.stopping, ...file.patch.stopping },
      experiment: command.name,
      variants,
      updatedAt: now,
      revision: (current?.revision ?? 0) + 1,
    });
    const problems = experimentProblems(next);
    if (problems.length > 0) return refused(...problems);
    const verb = current === undefined ? 'defined' : 'replaced';
    return {
      kind: 'write',
      next,
      summary: `${verb} ${next.experiment} (revision ${next.revision})`,
    };
  }

  if (command.kind === 'create') {
    if (current !== undefined) {
      return refused(
        `experiment "${command.name}" already exists (revision ${current.revision}, ${current.state}); use update`,
      );
    }
    const base = defineExperiment({
      experiment: command.name,
      variants: [],
      updatedAt: now,
    });
    const next: ExperimentDefined = {
      ...applyPatch(base, command.patch),
      experiment: command.name,
      state: 'running',
      winner: null,
      stateReason: command.reason ?? command.lifecycle.stateReason ?? null,
      revision: 1,
      updatedAt: now,
    };
    const problems = [
      // The state reason of a new experiment may come from the file; state and winner may not.
      ...lifecycleProblems(command.lifecycle, next, 'a new experiment has', ['state', 'winner']),
      ...experimentProblems(next),
    ];
    if (problems.length > 0) return refused(...problems);
    const variants = next.variants.map((v) => `${v.name} ${v.weight}`).join(', ');
    return {
      kind: 'write',
      next,
      summary: `created ${next.experiment} (revision 1, running): ${variants}; ${next.policy}`,
    };
  }

  if (current === undefined) {
    return refused(`experiment "${command.name}" does not exist; create it first`);
  }

  switch (command.kind) {
    case 'update': {
      const changed = applyPatch(current, command.patch);
      const problems = lifecycleProblems(command.lifecycle, changed, 'the experiment has');
      if (problems.length > 0) return refused(...problems);
      const changes = describeChanges(current, changed);
      if (changes.length === 0) {
        return {
          kind: 'unchanged',
          summary: `${current.experiment} unchanged (revision ${current.revision}): nothing written`,
        };
      }
      return nextRevision(
        current,
        changed,
        now,
        (next) =>
          `updated ${next.experiment} to revision ${next.revision}:\n  ${changes.join('\n  ')}`,
      );
    }
    case 'pause': {
      if (current.state === 'paused') return unchanged(current);
      if (current.state !== 'running') {
        return refused(
          `cannot pause "${current.experiment}": it is ${current.state} (resume it first)`,
        );
      }
      return stateChange(
        current,
        'paused',
        { stateReason: command.reason ?? DEFAULT_REASONS.pause },
        now,
      );
    }
    case 'resume': {
      if (current.state === 'running') return unchanged(current);
      // A running experiment has no winner; the last promotion stays in the topic's history.
      return stateChange(
        current,
        'running',
        { winner: null, stateReason: command.reason ?? DEFAULT_REASONS.resume },
        now,
      );
    }
    case 'stop': {
      if (current.state === 'stopped') return unchanged(current);
      return stateChange(
        current,
        'stopped',
        { stateReason: command.reason ?? DEFAULT_REASONS.stop },
        now,
      );
    }
    case 'promote': {
      const { variant } = command;
      if (!current.variants.some((v) => v.name === variant)) {
        const served = current.variants.map((v) => v.name).join(', ');
        return refused(
          current.shadowVariants.includes(variant)
            ? `"${variant}" is a shadow variant of "${current.experiment}" and is never served; add it to --variants first`
            : `"${variant}" is not a variant of "${current.experiment}" (variants: ${served})`,
        );
      }
      if (current.state === 'promoted' && current.winner === variant) return unchanged(current);
      return stateChange(
        current,
        'promoted',
        { winner: variant, stateReason: command.reason ?? `promoted ${variant} from the CLI` },
        now,
      );
    }
  }
}

function unchanged(current: ExperimentDefined): Outcome {
  const winner = current.state === 'promoted' ? ` (winner ${current.winner ?? '?'})` : '';
  return {
    kind: 'unchanged',
    summary: `${current.experiment} is already ${current.state}${winner} (revision ${current.revision}): nothing written`,
  };
}
