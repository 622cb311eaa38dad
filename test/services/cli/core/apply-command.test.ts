import { stoppingRule } from '../../../support/fixtures.ts';
import { describe, expect, it } from 'vitest';
import type { ExperimentDefined } from '../../../../lib/contracts/events.ts';
import { defineExperiment } from '../../../../lib/contracts/experiment-defaults.ts';
import {
  applyCommand,
  resolveDefinitionCommand,
  type Outcome,
  type WriteCommand,
} from '../../../../services/cli/core/apply-command.ts';
import { parseExperimentJson } from '../../../../services/cli/core/experiment-json.ts';

const T0 = 1_700_000_000_000;
const NOW = 1_700_000_900_000;

function current(overrides: Partial<ExperimentDefined> = {}): ExperimentDefined {
  return defineExperiment({
    experiment: 'spam',
    variants: [
      { name: 'champion', weight: 0.5 },
      { name: 'challenger', weight: 0.5 },
    ],
    updatedAt: T0,
    revision: 7,
    shadowVariants: ['shadow'],
    ...overrides,
  });
}

function written(outcome: Outcome): ExperimentDefined {
  if (outcome.kind !== 'write') throw new Error(`expected a write, got ${JSON.stringify(outcome)}`);
  return outcome.next;
}

function problems(outcome: Outcome): readonly string[] {
  if (outcome.kind !== 'refused')
    throw new Error(`expected a refusal, got ${JSON.stringify(outcome)}`);
  return outcome.problems;
}

type UpdateCommand = Extract<WriteCommand, { kind: 'update' }>;

const update = (patch: UpdateCommand['patch']): UpdateCommand => ({
  kind: 'update',
  name: 'spam',
  patch,
  lifecycle: {},
});

describe('create', () => {
  const create = (
    overrides: Partial<Extract<WriteCommand, { kind: 'create' }>> = {},
  ): WriteCommand => ({
    kind: 'create',
    name: 'spam',
    patch: {
      variants: [
        { name: 'a', weight: 0.5 },
        { name: 'b', weight: 0.5 },
      ],
      policy: 'ucb1',
    },
    lifecycle: {},
    reason: undefined,
    ...overrides,
  });

  it('writes revision 1, running, defaults filled', () => {
    const outcome = applyCommand(undefined, create({ reason: 'launch' }), NOW);
    const next = written(outcome);
    expect(next).toEqual(
      defineExperiment({
        experiment: 'spam',
        variants: [
          { name: 'a', weight: 0.5 },
          { name: 'b', weight: 0.5 },
        ],
        policy: 'ucb1',
        updatedAt: NOW,
        stateReason: 'launch',
      }),
    );
    expect(next.revision).toBe(1);
    expect(next.state).toBe('running');
    expect(outcome.kind === 'write' && outcome.summary).toContain('created spam (revision 1');
  });

  it('fills the stopping rule from defaults when only part of it is given', () => {
    const next = written(
      applyCommand(
        undefined,
        create({ patch: { variants: [{ name: 'a', weight: 1 }], stopping: { rule: 'glr' } } }),
        NOW,
      ),
    );
    expect(next.stopping).toEqual({
      rule: 'glr',
      goal: 'earn',
      threshold: 0.95,
      tolerance: 0.001,
      minRewards: 100,
      autoPromote: false,
      minimumDetectableEffect: null,
    });
  });

  it('refuses an experiment that exists', () => {
    expect(problems(applyCommand(current(), create(), NOW))).toEqual([
      'experiment "spam" already exists (revision 7, running); use update',
    ]);
  });

  it('lists every validation problem', () => {
    const found = problems(
      applyCommand(
        undefined,
        create({
          patch: {
            variants: [
              { name: 'a', weight: 0.5 },
              { name: 'b', weight: 0.5 },
            ],
            probabilityFloor: 0.6,
            epsilon: 2,
            champion: 'zz',
          },
        }),
        NOW,
      ),
    );
    expect(found).toHaveLength(3);
    expect(found.join('\n')).toMatch(/probabilityFloor/);
    expect(found.join('\n')).toMatch(/epsilon/);
    expect(found.join('\n')).toMatch(/champion: "zz"/);
  });

  it('refuses a file that would create it in another state', () => {
    const found = problems(
      applyCommand(undefined, create({ lifecycle: { state: 'paused' } }), NOW),
    );
    expect(found.join('\n')).toMatch(/state: the file says "paused"/);
  });
});

describe('update', () => {
  it('changes the given fields, keeps the others, revision + 1, updatedAt = now', () => {
    const before = current({
      sticky: true,
      stopping: stoppingRule({ rule: 'glr', threshold: 0.9, minRewards: 10, autoPromote: true }),
    });
    const outcome = applyCommand(
      before,
      update({ policy: 'epsilon-greedy', probabilityFloor: 0.1, stopping: { threshold: 0.99 } }),
      NOW,
    );
    const next = written(outcome);
    expect(next).toEqual({
      ...before,
      policy: 'epsilon-greedy',
      probabilityFloor: 0.1,
      stopping: stoppingRule({ rule: 'glr', threshold: 0.99, minRewards: 10, autoPromote: true }),
      revision: 8,
      updatedAt: NOW,
    });
    expect(outcome.kind === 'write' && outcome.summary).toBe(
      'updated spam to revision 8:\n' +
        '  policy: thompson-sampling → epsilon-greedy\n' +
        '  probabilityFloor: 0 → 0.1\n' +
        '  stopping.threshold: 0.9 → 0.99',
    );
  });

  it('can change the variants, the modes and the windows', () => {
    const next = written(
      applyCommand(
        current(),
        update({
          variants: [
            { name: 'champion', weight: 0.2 },
            { name: 'challenger', weight: 0.3 },
            { name: 'new', weight: 0.5 },
          ],
          shadowVariants: [],
          canary: {
            challenger: 'new',
            share: 0.1,
            margin: 0.02,
            confidence: 0.95,
            minRewards: 200,
            rolledBackAt: null,
          },
          attributionWindowMs: 60_000,
          halfLifeMs: null,
        }),
        NOW,
      ),
    );
    expect(next.variants.map((v) => v.name)).toEqual(['champion', 'challenger', 'new']);
    expect(next.canary?.challenger).toBe('new');
    expect(next.attributionWindowMs).toBe(60_000);
  });

  it('refuses a missing experiment', () => {
    expect(problems(applyCommand(undefined, update({ epsilon: 0.2 }), NOW))).toEqual([
      'experiment "spam" does not exist; create it first',
    ]);
  });

  it('refuses goal decide on a policy that cannot allocate by top-two Thompson sampling', () => {
    const found = problems(
      applyCommand(
        current(),
        update({ policy: 'epsilon-greedy', stopping: { goal: 'decide', rule: 'glr' } }),
        NOW,
      ),
    );
    expect(found).toEqual([
      'stopping.goal decide needs policy thompson-sampling or gaussian-thompson-sampling (top-two allocation)',
    ]);
  });

  it('refuses an invalid result and writes nothing', () => {
    const found = problems(applyCommand(current(), update({ probabilityFloor: 0.6 }), NOW));
    expect(found).toEqual(['probabilityFloor: must be in [0, 1/K] = [0, 0.500]']);
    // Dropping the champion's variant breaks the configured champion.
    const dropped = problems(
      applyCommand(
        current({ champion: 'champion' }),
        update({ variants: [{ name: 'challenger', weight: 1 }] }),
        NOW,
      ),
    );
    expect(dropped.join('\n')).toMatch(/champion: "champion" is not a variant/);
  });

  it('writes nothing when nothing changes', () => {
    const outcome = applyCommand(
      current(),
      update({ policy: 'thompson-sampling', stopping: { rule: 'none' } }),
      NOW,
    );
    expect(outcome).toEqual({
      kind: 'unchanged',
      summary: 'spam unchanged (revision 7): nothing written',
    });
  });

  it('refuses a state change through a file, but accepts the current state in it', () => {
    const same = applyCommand(
      current(),
      { ...update({ epsilon: 0.3 }), lifecycle: { state: 'running', winner: null } },
      NOW,
    );
    expect(written(same).epsilon).toBe(0.3);
    const other = problems(
      applyCommand(
        current(),
        { ...update({ epsilon: 0.3 }), lifecycle: { state: 'stopped' } },
        NOW,
      ),
    );
    expect(other.join('\n')).toMatch(
      /state: the file says "stopped" but the experiment has "running"/,
    );
  });
});

describe('state commands', () => {
  const state = (kind: 'pause' | 'resume' | 'stop', reason?: string): WriteCommand => ({
    kind,
    name: 'spam',
    reason,
  });

  it('pause, resume and stop change the state with a reason, revision + 1', () => {
    const paused = written(applyCommand(current(), state('pause'), NOW));
    expect(paused).toMatchObject({
      state: 'paused',
      stateReason: 'paused from the CLI',
      revision: 8,
      updatedAt: NOW,
    });
    const resumed = written(applyCommand(paused, state('resume', 'fixed the model'), NOW + 1));
    expect(resumed).toMatchObject({
      state: 'running',
      stateReason: 'fixed the model',
      revision: 9,
    });
    const stopped = written(applyCommand(resumed, state('stop'), NOW + 2));
    expect(stopped).toMatchObject({
      state: 'stopped',
      stateReason: 'stopped from the CLI',
      revision: 10,
    });
    // Everything else is kept.
    expect({ ...stopped, state: 'running', stateReason: null, revision: 7, updatedAt: T0 }).toEqual(
      current(),
    );
  });

  it('does nothing when the experiment is already in that state', () => {
    expect(applyCommand(current({ state: 'paused' }), state('pause'), NOW)).toEqual({
      kind: 'unchanged',
      summary: 'spam is already paused (revision 7): nothing written',
    });
    expect(applyCommand(current(), state('resume'), NOW).kind).toBe('unchanged');
    expect(applyCommand(current({ state: 'stopped' }), state('stop'), NOW).kind).toBe('unchanged');
  });

  it('refuses to pause a finished experiment', () => {
    expect(problems(applyCommand(current({ state: 'stopped' }), state('pause'), NOW))).toEqual([
      'cannot pause "spam": it is stopped (resume it first)',
    ]);
  });

  it('resume after a promotion clears the winner', () => {
    const resumed = written(
      applyCommand(current({ state: 'promoted', winner: 'challenger' }), state('resume'), NOW),
    );
    expect(resumed).toMatchObject({ state: 'running', winner: null });
  });

  it('refuses state commands on a missing experiment', () => {
    expect(problems(applyCommand(undefined, state('stop'), NOW))[0]).toMatch(/does not exist/);
  });
});

describe('promote', () => {
  const promote = (variant: string): WriteCommand => ({
    kind: 'promote',
    name: 'spam',
    variant,
    reason: undefined,
  });

  it('promotes a served variant', () => {
    expect(written(applyCommand(current(), promote('challenger'), NOW))).toMatchObject({
      state: 'promoted',
      winner: 'challenger',
      stateReason: 'promoted challenger from the CLI',
      revision: 8,
    });
  });

  it('refuses shadow and unknown variants', () => {
    expect(problems(applyCommand(current(), promote('shadow'), NOW))[0]).toMatch(
      /"shadow" is a shadow variant/,
    );
    expect(problems(applyCommand(current(), promote('nope'), NOW))[0]).toBe(
      '"nope" is not a variant of "spam" (variants: champion, challenger)',
    );
  });

  it('does nothing when that winner is already promoted, and switches to another winner', () => {
    const promoted = current({ state: 'promoted', winner: 'challenger' });
    expect(applyCommand(promoted, promote('challenger'), NOW).kind).toBe('unchanged');
    expect(written(applyCommand(promoted, promote('champion'), NOW)).winner).toBe('champion');
  });
});

describe('put', () => {
  it('replaces the definition (defaults for what the file leaves out) with the next revision', () => {
    const file = parseExperimentJson({
      experiment: 'spam',
      variants: [{ name: 'a', weight: 1 }],
      state: 'paused',
    });
    const replaced = written(
      applyCommand(current({ epsilon: 0.4 }), { kind: 'put', name: 'spam', file }, NOW),
    );
    expect(replaced).toMatchObject({ revision: 8, state: 'paused', epsilon: 0.1, updatedAt: NOW });
    expect(
      written(applyCommand(undefined, { kind: 'put', name: 'spam', file }, NOW)).revision,
    ).toBe(1);
  });

  it('validates', () => {
    const file = parseExperimentJson({
      experiment: 'spam',
      variants: [{ name: 'a', weight: 1 }],
      probabilityFloor: 2,
    });
    expect(problems(applyCommand(undefined, { kind: 'put', name: 'spam', file }, NOW))[0]).toMatch(
      /probabilityFloor/,
    );
  });
});

describe('resolveDefinitionCommand', () => {
  it('lets flags override the file and merges the stopping rule', () => {
    const file = parseExperimentJson({
      experiment: 'spam',
      variants: [{ name: 'a', weight: 1 }],
      epsilon: 0.5,
      stopping: { rule: 'glr', threshold: 0.9 },
    });
    const command = resolveDefinitionCommand(
      {
        kind: 'create',
        name: undefined,
        patch: { epsilon: 0.2, stopping: { threshold: 0.99 } },
        reason: 'r',
      },
      file,
    );
    expect(command).toEqual({
      kind: 'create',
      name: 'spam',
      patch: {
        variants: [{ name: 'a', weight: 1 }],
        epsilon: 0.2,
        stopping: { rule: 'glr', threshold: 0.99 },
      },
      lifecycle: {},
      reason: 'r',
    });
  });

  it('refuses a file for another experiment and a missing name', () => {
    const file = parseExperimentJson({ experiment: 'other' });
    expect(() =>
      resolveDefinitionCommand({ kind: 'update', name: 'spam', patch: {} }, file),
    ).toThrow(/"other", not "spam"/);
    expect(() =>
      resolveDefinitionCommand(
        { kind: 'create', name: undefined, patch: {}, reason: undefined },
        parseExperimentJson({}),
      ),
    ).toThrow(/no experiment name/);
  });
});
