import { describe, expect, it } from 'vitest';
import {
  parseCanary,
  parseExperimentCommand,
  parseExperimentFlags,
  parseVariants,
  UsageError,
} from '../../../../services/cli/core/experiment-args.ts';

describe('parseExperimentFlags', () => {
  it('maps every flag of create/update onto its definition field', () => {
    const { patch, positionals, options } = parseExperimentFlags([
      'spam',
      '--variants',
      'champion:0.7,challenger:0.3',
      '--policy',
      'epsilon-greedy',
      '--champion',
      'challenger',
      '--epsilon',
      '0.2',
      '--ucb-exploration',
      '1.5',
      '--floor',
      '0.05',
      '--half-life',
      '2h',
      '--warm-up',
      '50',
      '--window',
      '30m',
      '--grace',
      '5s',
      '--implicit-reward',
      '0',
      '--reward-kind',
      'real',
      '--prior-alpha',
      '2',
      '--prior-beta',
      '3',
      '--prior-mean',
      '-0.5',
      '--prior-variance',
      '4',
      '--prior-strength',
      '10',
      '--shadow',
      'shadow-a,shadow-b',
      '--sticky',
      '--canary',
      'challenger:0.1:0.05:0.9:300',
      '--stop',
      'glr',
      '--threshold',
      '0.99',
      '--min-rewards',
      '500',
      '--auto-promote',
      '--reason',
      'why not',
      '--file=-',
    ]);
    expect(positionals).toEqual(['spam']);
    expect(options).toEqual({ '--reason': 'why not', '--file': '-' });
    expect(patch).toEqual({
      variants: [
        { name: 'champion', weight: 0.7 },
        { name: 'challenger', weight: 0.3 },
      ],
      policy: 'epsilon-greedy',
      champion: 'challenger',
      epsilon: 0.2,
      ucbExploration: 1.5,
      probabilityFloor: 0.05,
      halfLifeMs: 7_200_000,
      warmUpRewards: 50,
      attributionWindowMs: 1_800_000,
      graceMs: 5_000,
      implicitReward: 0,
      rewardKind: 'real',
      priorAlpha: 2,
      priorBeta: 3,
      priorMean: -0.5,
      priorVariance: 4,
      priorStrength: 10,
      shadowVariants: ['shadow-a', 'shadow-b'],
      sticky: true,
      canary: {
        challenger: 'challenger',
        share: 0.1,
        margin: 0.05,
        confidence: 0.9,
        minRewards: 300,
        rolledBackAt: null,
      },
      stopping: { rule: 'glr', threshold: 0.99, minRewards: 500, autoPromote: true },
    });
  });

  it('reads "none" as null or empty, and the negative boolean flags', () => {
    const { patch } = parseExperimentFlags([
      '--half-life=none',
      '--implicit-reward',
      'none',
      '--shadow',
      'none',
      '--canary',
      'none',
      '--champion',
      'none',
      '--no-sticky',
      '--no-auto-promote',
      '--window',
      '86400000',
    ]);
    expect(patch).toEqual({
      halfLifeMs: null,
      implicitReward: null,
      shadowVariants: [],
      canary: null,
      champion: null,
      sticky: false,
      attributionWindowMs: 86_400_000,
      stopping: { autoPromote: false },
    });
  });

  it.each([
    [['--colour', 'red'], /unknown option --colour/],
    [['--policy'], /--policy needs a value/],
    [['--policy', 'greedy'], /--policy: "greedy" is not one of/],
    [['--reward-kind', 'binary'], /--reward-kind/],
    [['--stop', 'soon'], /--stop/],
    [['--epsilon', 'lots'], /--epsilon: "lots" is not a number/],
    [['--epsilon', ''], /--epsilon: "" is not a number/],
    [['--floor', 'Infinity'], /--floor/],
    [['--warm-up', '2.5'], /--warm-up: "2.5" is not a whole number/],
    [['--warm-up', '-1'], /--warm-up/],
    [['--min-rewards', 'many'], /--min-rewards/],
    [['--window', '10 minutes'], /--window: "10 minutes" is not a duration/],
    [['--grace', '-5s'], /--grace/],
    [['--half-life', '0.5ms'], /--half-life/],
    [['--variants', 'a:0.5,b'], /weight to every variant/],
    [['--variants', 'a:x'], /--variants: "x" is not a number/],
    [['--variants', 'a,,b'], /empty name/],
    [['--variants', ':0.5'], /empty name/],
    [['--shadow', 'a,'], /empty name/],
    [['--canary', 'challenger'], /CHALLENGER:SHARE/],
    [['--canary', 'c:0.1:0.02:0.95:200:9'], /CHALLENGER:SHARE/],
    [['--canary', 'c:half'], /--canary: "half" is not a number/],
    [['--sticky=yes'], /--sticky takes no value/],
    [['--policy', 'ucb1', '--policy', 'ucb1'], /--policy is given twice/],
    [['--sticky', '--no-sticky'], /--no-sticky conflicts with --sticky/],
    [['--auto-promote', '--no-auto-promote'], /conflicts/],
  ])('refuses %j', (args, message) => {
    expect(() => parseExperimentFlags(args)).toThrow(UsageError);
    expect(() => parseExperimentFlags(args)).toThrow(message);
  });

  it('takes equal weights when none is given', () => {
    expect(parseVariants('a,b,c,d')).toEqual([
      { name: 'a', weight: 0.25 },
      { name: 'b', weight: 0.25 },
      { name: 'c', weight: 0.25 },
      { name: 'd', weight: 0.25 },
    ]);
  });

  it('fills the canary defaults', () => {
    expect(parseCanary('challenger:0.05')).toEqual({
      challenger: 'challenger',
      share: 0.05,
      margin: 0.02,
      confidence: 0.95,
      minRewards: 200,
      rolledBackAt: null,
    });
    expect(parseCanary('c:0.05:0.1')).toMatchObject({ margin: 0.1, confidence: 0.95 });
  });
});

describe('parseExperimentCommand', () => {
  it('parses each sub-command', () => {
    expect(parseExperimentCommand(['create', 'spam', '--variants', 'a:1'])).toEqual({
      kind: 'create',
      name: 'spam',
      file: undefined,
      patch: { variants: [{ name: 'a', weight: 1 }] },
      reason: undefined,
    });
    expect(parseExperimentCommand(['create', '--file', 'x.json', '--floor', '0.1'])).toEqual({
      kind: 'create',
      name: undefined,
      file: 'x.json',
      patch: { probabilityFloor: 0.1 },
      reason: undefined,
    });
    expect(parseExperimentCommand(['update', 'spam', '--policy', 'ucb1'])).toEqual({
      kind: 'update',
      name: 'spam',
      file: undefined,
      patch: { policy: 'ucb1' },
    });
    expect(parseExperimentCommand(['update', 'spam', '--file', '-'])).toMatchObject({
      kind: 'update',
      file: '-',
      patch: {},
    });
    expect(parseExperimentCommand(['pause', 'spam'])).toEqual({
      kind: 'pause',
      name: 'spam',
      reason: undefined,
    });
    expect(parseExperimentCommand(['resume', 'spam', '--reason', 'fixed'])).toEqual({
      kind: 'resume',
      name: 'spam',
      reason: 'fixed',
    });
    expect(parseExperimentCommand(['stop', 'spam'])).toMatchObject({ kind: 'stop' });
    expect(parseExperimentCommand(['promote', 'spam', 'challenger'])).toEqual({
      kind: 'promote',
      name: 'spam',
      variant: 'challenger',
      reason: undefined,
    });
    expect(parseExperimentCommand(['show'])).toEqual({
      kind: 'show',
      name: undefined,
      json: false,
    });
    expect(parseExperimentCommand(['show', 'spam', '--json'])).toEqual({
      kind: 'show',
      name: 'spam',
      json: true,
    });
    expect(parseExperimentCommand(['put', '-'])).toEqual({ kind: 'put', source: '-' });
    expect(parseExperimentCommand(['put', 'f.json'])).toEqual({ kind: 'put', source: 'f.json' });
    expect(parseExperimentCommand(['help'])).toEqual({ kind: 'help' });
    expect(parseExperimentCommand(['create', '--help'])).toEqual({ kind: 'help' });
  });

  it.each([
    [[], /a command is required/],
    [['delete', 'spam'], /unknown command "delete"/],
    [['create', 'spam'], /create needs --variants/],
    [['create'], /create needs NAME/],
    [['create', 'a', 'b', '--variants', 'x:1'], /unexpected argument "b"/],
    [['create', 'spam', '--variants', 'a:1', '--json'], /create does not take --json/],
    [['update', 'spam'], /update needs at least one option/],
    [['update', '--policy', 'ucb1'], /update needs NAME/],
    [['update', 'spam', '--policy', 'ucb1', '--reason', 'x'], /update does not take --reason/],
    [['pause'], /pause needs NAME/],
    [['stop', 'spam', '--policy', 'ucb1'], /stop does not take --policy/],
    [['promote', 'spam'], /promote needs NAME VARIANT/],
    [['promote', 'spam', 'a', 'b'], /unexpected argument "b"/],
    [['show', 'a', 'b'], /unexpected argument/],
    [['show', '--reason', 'x'], /show does not take --reason/],
    [['put'], /put needs exactly one argument/],
    [['put', 'a.json', 'b.json'], /put needs exactly one argument/],
    [['put', '--file'], /put needs exactly one argument/],
  ])('refuses %j', (args, message) => {
    expect(() => parseExperimentCommand(args)).toThrow(UsageError);
    expect(() => parseExperimentCommand(args)).toThrow(message);
  });
});
