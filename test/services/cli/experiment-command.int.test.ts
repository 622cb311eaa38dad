// `dynab experiment ...` on the real broker, run in-process: each command reads the experiments
// topic, writes the next revision, and the test reads the definitions back from the topic.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import type {
  DecisionMade,
  ExperimentDefined,
  ExperimentStatistics,
} from '../../../lib/contracts/events.ts';
import { topicNames, topicSpecs } from '../../../lib/contracts/topics.ts';
import type { LogRecord } from '../../../lib/event-log/event-log.ts';
import { runExperimentCommand } from '../../../services/cli/experiment-command.ts';
import {
  openTestEventLog,
  testBrokers,
  uniqueName,
  waitFor,
} from '../../support/kafka-test-kit.ts';

const T0 = 1_700_000_000_000;
const codecs = loadCodecs();

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh topic prefix, the CLI bound to it, and a live view of its experiments topic. */
async function openCli() {
  const prefix = `${uniqueName('cli')}.`;
  const topics = topicNames(prefix);
  const eventLog = openTestEventLog();
  await eventLog.ensureTopics(topicSpecs(topics, 2));
  const env = {
    DYNAB_BROKERS: testBrokers().join(','),
    DYNAB_TOPIC_PREFIX: prefix,
    DYNAB_PARTITIONS: '2',
  };
  let tick = 0;
  const files: Record<string, string> = {};

  const records: LogRecord[] = [];
  const consumer = await eventLog.createConsumer({
    groupId: uniqueName('experiments'),
    topics: [topics.experiments],
    fromBeginning: true,
    maxWaitTimeMs: 50,
  });
  onTestFinished(() => consumer.stop());
  await consumer.run((batch) => {
    records.push(...batch.records);
  });

  return {
    topics,
    eventLog,
    env,
    files,
    /** The clock the commands see: T0 + n seconds at the n-th command. */
    timeOf: (n: number) => T0 + n * 1000,
    async dynab(...args: string[]): Promise<Run> {
      let stdout = '';
      let stderr = '';
      tick += 1;
      const now = T0 + tick * 1000;
      const code = await runExperimentCommand(args, {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        env,
        now: () => now,
        readText: (source) => {
          const text = files[source];
          return text === undefined
            ? Promise.reject(new Error(`no file ${source}`))
            : Promise.resolve(text);
        },
      });
      return { code, stdout, stderr };
    },
    /** Every definition written so far, once `count` of them are on the topic. */
    async definitions(count: number): Promise<ExperimentDefined[]> {
      await waitFor(`${count} experiment records`, () =>
        records.length >= count ? true : undefined,
      );
      expect(records).toHaveLength(count);
      return records.map((r) => codecs.experiment.decode(r.value ?? Buffer.alloc(0)));
    },
    async endOffset(): Promise<string> {
      const [offsets] = await eventLog.fetchOffsets(topics.experiments);
      return offsets?.high ?? '';
    },
  };
}

function expectOk(run: Run): Run {
  expect(run.stderr, run.stdout).toBe('');
  expect(run.code, run.stderr).toBe(0);
  return run;
}

describe('dynab experiment', () => {
  it('create → show → update → pause → resume → promote → stop, one revision each', async () => {
    const cli = await openCli();
    const created = expectOk(
      await cli.dynab(
        'create',
        'spam',
        '--variants',
        'champion:0.5,challenger:0.5',
        '--shadow',
        'distilled',
        '--stop',
        'probability-best',
        '--min-rewards',
        '50',
        '--window',
        '30m',
        '--reason',
        'launch',
      ),
    );
    expect(created.stdout).toContain('created spam (revision 1, running)');
    const [first] = await cli.definitions(1);
    expect(first).toMatchObject({
      experiment: 'spam',
      revision: 1,
      state: 'running',
      stateReason: 'launch',
      policy: 'thompson-sampling',
      variants: [
        { name: 'champion', weight: 0.5 },
        { name: 'challenger', weight: 0.5 },
      ],
      shadowVariants: ['distilled'],
      attributionWindowMs: 1_800_000,
      stopping: { rule: 'probability-best', threshold: 0.95, minRewards: 50, autoPromote: false },
      updatedAt: cli.timeOf(1),
    });

    const list = expectOk(await cli.dynab('show'));
    expect(list.stdout).toMatch(
      /^spam\s+running\s+thompson-sampling\s+1\s+champion 0\.5, challenger 0\.5 \+ shadow distilled\s+—$/m,
    );
    const shown = expectOk(await cli.dynab('show', 'spam'));
    expect(shown.stdout).toContain('spam (revision 1, updated ');
    expect(shown.stdout).toContain('thompson-sampling, prior Beta(1, 1)');
    expect(shown.stdout).toContain('statistics: none yet');
    expect(shown.stdout).toContain('decision  none');

    const updated = expectOk(
      await cli.dynab(
        'update',
        'spam',
        '--policy',
        'epsilon-greedy',
        '--epsilon',
        '0.2',
        '--floor',
        '0.1',
      ),
    );
    expect(updated.stdout).toContain('updated spam to revision 2');
    expect(updated.stdout).toContain('policy: thompson-sampling → epsilon-greedy');
    const [, second] = await cli.definitions(2);
    expect(second).toEqual({
      ...first,
      policy: 'epsilon-greedy',
      epsilon: 0.2,
      probabilityFloor: 0.1,
      revision: 2,
      updatedAt: cli.timeOf(4),
    });

    // Invalid: a floor of 0.6 with two variants. Refused before anything is sent.
    const endBefore = await cli.endOffset();
    const invalid = await cli.dynab('update', 'spam', '--floor', '0.6', '--epsilon', '1.5');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('update spam refused, nothing written');
    expect(invalid.stderr).toContain('probabilityFloor: must be in [0, 1/K]');
    expect(invalid.stderr).toContain('epsilon: must be in [0, 1]');
    expect(await cli.endOffset()).toBe(endBefore);

    expectOk(await cli.dynab('pause', 'spam'));
    expectOk(await cli.dynab('resume', 'spam', '--reason', 'model fixed'));
    // A shadow variant is never served, so it cannot be promoted.
    const shadow = await cli.dynab('promote', 'spam', 'distilled');
    expect(shadow.code).toBe(1);
    expect(shadow.stderr).toContain('"distilled" is a shadow variant');
    expectOk(await cli.dynab('promote', 'spam', 'challenger'));
    expectOk(await cli.dynab('stop', 'spam'));

    const all = await cli.definitions(6);
    expect(all.map((d) => [d.revision, d.state, d.stateReason, d.winner])).toEqual([
      [1, 'running', 'launch', null],
      [2, 'running', 'launch', null],
      [3, 'paused', 'paused from the CLI', null],
      [4, 'running', 'model fixed', null],
      [5, 'promoted', 'promoted challenger from the CLI', 'challenger'],
      [6, 'stopped', 'stopped from the CLI', 'challenger'],
    ]);
    // The configuration survives every state change.
    for (const d of all.slice(2)) {
      expect(d).toMatchObject({ policy: 'epsilon-greedy', epsilon: 0.2, probabilityFloor: 0.1 });
    }

    // Create of an existing experiment and update of a missing one fail and write nothing.
    const again = await cli.dynab('create', 'spam', '--variants', 'a:1');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('experiment "spam" already exists (revision 6, stopped)');
    const missing = await cli.dynab('update', 'ham', '--epsilon', '0.3');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('experiment "ham" does not exist');
    const missingPause = await cli.dynab('pause', 'ham');
    expect(missingPause.code).toBe(1);
    expect(await cli.endOffset()).toBe('6');
  });

  it('show prints the latest statistics and decision; its JSON round-trips through update --file', async () => {
    const cli = await openCli();
    expectOk(await cli.dynab('create', 'spam', '--variants', 'champion:0.5,challenger:0.5'));
    const statistics = (revision: number, pBest: number): ExperimentStatistics => ({
      experiment: 'spam',
      revision,
      state: 'running',
      variants: [
        {
          variant: 'champion',
          shadow: false,
          rewards: 400,
          mean: 0.8421,
          lower95: 0.8063,
          upper95: 0.8749,
          probabilityBest: 1 - pBest,
          expectedLoss: 0.129,
          zScore: null,
          pValue: null,
          assigned: 400,
          expectedAssigned: 520.5,
          anytimeLower95: null,
          anytimeUpper95: null,
          differenceLower95: null,
          differenceUpper95: null,
          anytimePValue: null,
        },
        {
          variant: 'challenger',
          shadow: false,
          rewards: 600,
          mean: 0.9712,
          lower95: 0.9641,
          upper95: 0.9773,
          probabilityBest: pBest,
          expectedLoss: 0.0001,
          zScore: 10.123,
          pValue: 4.3e-24,
          assigned: 600,
          expectedAssigned: 479.5,
          anytimeLower95: null,
          anytimeUpper95: null,
          differenceLower95: null,
          differenceUpper95: null,
          anytimePValue: null,
        },
      ],
      sampleRatio: { chiSquare: 58.4, degreesOfFreedom: 1, pValue: 2.1e-14, mismatch: true },
      stopping: {
        rule: 'probability-best',
        leader: 'challenger',
        statistic: pBest,
        threshold: 0.95,
        satisfied: true,
        detail: `P(challenger is best) = ${pBest} ≥ 0.95`,
      },
      caveats: [],
      computedAt: T0 + 60_000,
    });
    const decision: DecisionMade = {
      experiment: 'spam',
      kind: 'winner',
      variant: 'challenger',
      revision: 1,
      applied: false,
      rule: 'probability-best',
      reason: 'P(best) 0.9987 ≥ 0.95 after 400 rewards',
      decidedAt: T0 + 61_000,
    };
    const producer = await cli.eventLog.createProducer();
    onTestFinished(() => producer.close());
    await producer.send([
      // An older snapshot first: show must print the latest one.
      {
        topic: cli.topics.experimentStats,
        key: 'spam',
        value: codecs['experiment-stats'].encode(statistics(1, 0.5)),
      },
      {
        topic: cli.topics.experimentStats,
        key: 'spam',
        value: codecs['experiment-stats'].encode(statistics(1, 0.9987)),
      },
    ]);
    // The decider writes decisions in transactions: the topic then ends in a commit marker.
    const transactional = await cli.eventLog.createProducer({ transactionalId: uniqueName('tx') });
    onTestFinished(() => transactional.close());
    await transactional.sendWithOffsets(
      [{ topic: cli.topics.decisions, key: 'spam', value: codecs.decision.encode(decision) }],
      uniqueName('group'),
      [],
    );

    // The broker writes the commit marker after it answered the commit: until then the decision
    // is not visible to read-committed readers. The marker is offset 1.
    await waitFor('the commit marker of the decision', async () => {
      const [offsets] = await cli.eventLog.fetchOffsets(cli.topics.decisions);
      return offsets?.high === '2' ? true : undefined;
    });

    const shown = expectOk(await cli.dynab('show', 'spam'));
    expect(shown.stdout).toContain('statistics of revision 1 (running)');
    expect(shown.stdout).toMatch(
      /^champion \(champion\)\s+400\s+0\.842 \[0\.806, 0\.875\]\s+0\.1%/m,
    );
    expect(shown.stdout).toMatch(
      /^challenger\s+600\s+0\.971 \[0\.964, 0\.977\]\s+99\.9%\s+0\.0001\s+—\s+—\s+600\s+479\.5$/m,
    );
    expect(shown.stdout).toContain('SRM       chi² = 58.40, df = 1, p = 2.1e-14  MISMATCH');
    expect(shown.stdout).toContain(
      'stopping  probability-best: P(challenger is best) = 0.9987 ≥ 0.95 (satisfied)',
    );
    expect(shown.stdout).toContain(
      'decision  winner challenger, not applied (rule probability-best, revision 1, 2023-11-14T22:14:21.000Z): P(best) 0.9987 ≥ 0.95 after 400 rewards',
    );

    const list = expectOk(await cli.dynab('show'));
    expect(list.stdout).toMatch(/^spam\s+running\s+thompson-sampling\s+1\s+.*challenger 99\.9%$/m);

    const json = JSON.parse(expectOk(await cli.dynab('show', 'spam', '--json')).stdout) as {
      definition: ExperimentDefined;
      statistics: ExperimentStatistics;
      decision: DecisionMade;
    };
    expect(json.definition).toMatchObject({ experiment: 'spam', revision: 1 });
    expect(json.statistics).toEqual(statistics(1, 0.9987));
    expect(json.decision).toEqual(decision);

    // Edit the definition shown and apply it as a file: only the edited field changes.
    cli.files['edited.json'] = JSON.stringify({ ...json.definition, epsilon: 0.3, sticky: true });
    const updated = expectOk(await cli.dynab('update', 'spam', '--file', 'edited.json'));
    expect(updated.stdout).toContain('epsilon: 0.1 → 0.3');
    const [before, after] = await cli.definitions(2);
    expect(after).toEqual({
      ...before,
      epsilon: 0.3,
      sticky: true,
      revision: 2,
      updatedAt: cli.timeOf(5),
    });
    // The same file again changes nothing and writes nothing.
    cli.files['edited.json'] = JSON.stringify({ ...json.definition, epsilon: 0.3, sticky: true });
    const same = expectOk(await cli.dynab('update', 'spam', '--file', 'edited.json'));
    expect(same.stdout).toContain('spam unchanged (revision 2)');
    expect(await cli.endOffset()).toBe('2');

    const missing = await cli.dynab('show', 'ham');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('experiment "ham" does not exist');
  });

  it('creates from a file with flags on top, and put replaces with the next revision', async () => {
    const cli = await openCli();
    cli.files['-'] = JSON.stringify({
      experiment: 'ranker',
      variants: [
        { name: 'v1', weight: 0.5 },
        { name: 'v2', weight: 0.5 },
      ],
      policy: 'ucb1',
      halfLifeMs: '2h',
    });
    expectOk(
      await cli.dynab('create', '--file', '-', '--ucb-exploration', '2', '--canary', 'v2:0.1'),
    );
    cli.files['put.json'] = JSON.stringify({
      experiment: 'ranker',
      variants: [{ name: 'v1', weight: 1 }],
    });
    const put = expectOk(await cli.dynab('put', 'put.json'));
    expect(JSON.parse(put.stdout)).toMatchObject({ experiment: 'ranker', revision: 2 });
    const [created, replaced] = await cli.definitions(2);
    expect(created).toMatchObject({
      revision: 1,
      policy: 'ucb1',
      ucbExploration: 2,
      halfLifeMs: 7_200_000,
      canary: { challenger: 'v2', share: 0.1, margin: 0.02, confidence: 0.95, minRewards: 200 },
    });
    expect(replaced).toMatchObject({
      revision: 2,
      policy: 'thompson-sampling',
      halfLifeMs: null,
      canary: null,
      variants: [{ name: 'v1', weight: 1 }],
    });
  });

  it('bin/dynab.ts dispatches to the experiment commands', async () => {
    const cli = await openCli();
    const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
    const runBin = async (...args: string[]): Promise<Run> => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'bin/dynab.ts', ...args], {
        cwd: repoRoot,
        env: { ...process.env, ...cli.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { code: code ?? -1, stdout, stderr };
    };
    const bad = await runBin('experiment', 'create', 'spam', '--variants', 'a:1', '--bogus');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown option --bogus');
    expect(bad.stderr).toContain('Usage: dynab experiment COMMAND');
    expectOk(await runBin('experiment', 'create', 'spam', '--variants', 'a:0.5,b:0.5'));
    const shown = expectOk(await runBin('experiment', 'show'));
    expect(shown.stdout).toMatch(/^spam\s+running/m);
    expect(await cli.definitions(1)).toHaveLength(1);
  });
});
