// The command shell without a broker: usage errors, configuration and file problems are
// reported before any connection is attempted.
import { describe, expect, it } from 'vitest';
import { runExperimentCommand, type CliIo } from '../../../services/cli/experiment-command.ts';

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A broker address nothing listens on: reaching Kafka would fail these tests. */
const NO_BROKER = { DYNAB_BROKERS: '127.0.0.1:1', DYNAB_TOPIC_PREFIX: 'never.' };

async function run(
  args: readonly string[],
  env: Record<string, string> = NO_BROKER,
  files: Record<string, string> = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
    now: () => 1_700_000_000_000,
    readText: (source) => {
      const text = files[source];
      return text === undefined
        ? Promise.reject(new Error(`ENOENT: no such file, open '${source}'`))
        : Promise.resolve(text);
    },
  };
  const code = await runExperimentCommand(args, io);
  return { code, stdout, stderr };
}

describe('dynab experiment (shell)', () => {
  it('prints the usage on help', async () => {
    const { code, stdout, stderr } = await run(['help']);
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: dynab experiment COMMAND');
    expect(stdout).toContain('--canary CHALLENGER:SHARE[:MARGIN[:CONFIDENCE[:MIN_REWARDS]]]|none');
    expect(stderr).toBe('');
  });

  it.each([
    [['create', 'spam', '--variants', 'a:1', '--colour', 'red'], 'unknown option --colour'],
    [
      ['create', 'spam', '--variants', 'a:1', '--window', 'soon'],
      '--window: "soon" is not a duration',
    ],
    [['update', 'spam', '--policy', 'greedy'], '--policy: "greedy" is not one of'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [[], 'a command is required'],
  ])('exits 2 with the usage for %j', async (args, message) => {
    const { code, stdout, stderr } = await run(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(message);
    expect(stderr).toContain('Usage: dynab experiment COMMAND');
  });

  it('exits 2 without brokers or with a bad configuration', async () => {
    const unset = await run(['show'], {});
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain('DYNAB_BROKERS is not set');
    const bad = await run(['show'], { ...NO_BROKER, DYNAB_PARTITIONS: 'many' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('DYNAB_PARTITIONS');
  });

  it('exits 1 when the file cannot be read, is not JSON or is not an experiment', async () => {
    const missing = await run(['create', '--file', 'nope.json']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toContain('cannot read nope.json: ENOENT');

    const garbled = await run(['update', 'spam', '--file', '-'], NO_BROKER, {
      '-': '{"experiment":',
    });
    expect(garbled.code).toBe(1);
    expect(garbled.stderr).toContain('stdin is not JSON');

    const wrong = await run(['put', 'x.json'], NO_BROKER, {
      'x.json': JSON.stringify({ experiment: 'spam', variants: [{ name: 'a' }], epsilon: 'high' }),
    });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('variants[0].weight: required');
    expect(wrong.stderr).toContain('epsilon: expected a finite number, got "high"');

    const nameless = await run(['put', 'x.json'], NO_BROKER, {
      'x.json': JSON.stringify({ variants: [{ name: 'a', weight: 1 }] }),
    });
    expect(nameless.code).toBe(1);
    expect(nameless.stderr).toContain('experiment: a non-empty name is required');
  });

  it('exits 2 when NAME and the file disagree', async () => {
    const { code, stderr } = await run(['update', 'spam', '--file', 'f.json'], NO_BROKER, {
      'f.json': JSON.stringify({ experiment: 'ham' }),
    });
    expect(code).toBe(2);
    expect(stderr).toContain('the file defines experiment "ham", not "spam"');
  });
});
