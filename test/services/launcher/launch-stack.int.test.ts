// `npm start` as a user runs it, against the shared test broker: three service processes, the
// local endpoint process and demo traffic; it must finish on its own with a summary.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { testBrokers, uniqueName, waitFor } from '../../support/kafka-test-kit.ts';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * Runs `dynab start` with these arguments against the shared broker, with a topic prefix and a
 * state folder of its own (removed after the test), collecting its output; killed if the test
 * ends first.
 */
async function startDynab(
  args: readonly string[],
): Promise<{ child: ChildProcessByStdio<null, Readable, Readable>; output: () => string }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'dynab-start-'));
  onTestFinished(() => rm(stateDir, { recursive: true, force: true }));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bin/dynab.ts', 'start', ...args, '--brokers', testBrokers().join(',')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        DYNAB_TOPIC_PREFIX: `${uniqueName('start')}.`,
        DYNAB_STATE_DIR: stateDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

describe('dynab start', () => {
  it('runs the pipeline with demo traffic and exits 0 with a per-variant summary', async () => {
    const { child, output } = await startDynab([
      '--requests',
      '600',
      '--rate',
      '400',
      '--label-delay-ms',
      '10-200',
      '--timeout-s',
      '150',
    ]);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output()).toBe(0);
    expect(output()).toContain('router, inference, aggregator and decider running');
    // Each service's metrics URL, printed when it starts.
    for (const service of ['router', 'inference', 'aggregator', 'decider'])
      expect(output()).toMatch(
        new RegExp(`^${service} metrics: http://127\\.0\\.0\\.1:\\d+/metrics \\(pid \\d+\\)$`, 'm'),
      );
    // The logs folder it named is kept.
    const logs = /^logs kept in (.+)$/m.exec(output())?.[1];
    expect(logs).toBeDefined();
    onTestFinished(() => rm(join(logs ?? '', '..'), { recursive: true, force: true }));
    expect((await readdir(logs ?? '')).sort()).toEqual([
      'aggregator.log',
      'decider.log',
      'inference.log',
      'local-endpoint.log',
      'router.log',
    ]);
    // The decider's view is shown live: the demo's rule (goal decide, two models: the
    // balanced-pair test), and its decision once it fires (when it does, the far better
    // challenger must be the winner).
    expect(output()).toMatch(/^stopping rule \(glr\): balanced-pair test: ln evidence for /m);
    for (const decision of output().match(/^decision: .*$/gm) ?? []) {
      expect(decision).toMatch(/^decision: challenger wins \(glr\)/);
    }
    expect(output()).toMatch(/summary after [\d.]+ s:/);
    expect(output()).toMatch(/sent 600 {2}predicted 600 {2}labelled 600/);
    expect(output()).toMatch(/^champion\s+\d+/m);
    expect(output()).toMatch(/^challenger\s+\d+/m);
    expect(output()).toContain('largest traffic share:');
    // The report, written next to the logs, from the run's topics, with the models' true rates.
    const report = /^report: (.+\.html)$/m.exec(output())?.[1];
    expect(report, output()).toBe(join(logs ?? '', '..', 'report.html'));
    const html = await readFile(report ?? '', 'utf8');
    const data = JSON.parse(
      /<script id="report-data" type="application\/json">(.*?)<\/script>/s.exec(html)?.[1] ?? '{}',
    ) as { totalRewards?: number; trueRates?: { variant: string; rate: number }[] };
    expect(data.totalRewards).toBe(600);
    expect(data.trueRates?.map((t) => t.variant)).toEqual(['champion', 'challenger']);
    // lib/spam/recipes.ts: the challenger is far better than the champion.
    const [champion, challenger] = data.trueRates?.map((t) => t.rate) ?? [];
    expect(challenger ?? 0).toBeGreaterThan((champion ?? 1) + 0.05);
  }, 200_000);

  it('sends the demo feedback as application logs through Kinesis and label ingestion', async () => {
    const { child, output } = await startDynab([
      '--requests',
      '300',
      '--rate',
      '300',
      '--label-delay-ms',
      '10-200',
      '--labels-via',
      'kinesis',
      '--timeout-s',
      '150',
    ]);
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code, output()).toBe(0);
    expect(output()).toMatch(/local Kinesis emulator at http:\/\/127\.0\.0\.1:\d+/);
    expect(output()).toContain('label ingestion running');
    // Every label went through Kinesis and the mapping, and was folded in.
    expect(output()).toMatch(/sent 300 {2}predicted 300 {2}labelled 300/);
  }, 200_000);

  it('restarts a service killed under it, serves its metrics again, and keeps its logs', async () => {
    const { child, output } = await startDynab(['--no-demo']);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));

    const [, url, pid] = await waitFor(
      'the router to start',
      () => /^router metrics: (\S+) \(pid (\d+)\)$/m.exec(output()) ?? undefined,
      120_000,
    );
    expect((await fetch(url!.replace('/metrics', '/readyz'))).status).toBe(200);
    process.kill(Number(pid), 'SIGKILL');
    const [, newUrl] = await waitFor(
      'the router to be restarted',
      () => /^router restarted \(pid \d+\); metrics at (\S+)$/m.exec(output()) ?? undefined,
      120_000,
    );
    expect(output()).toMatch(/^router killed by SIGKILL; restarting in \d+ ms \(restart 1\)$/m);
    await waitFor('the new router to be ready', async () =>
      (await fetch(newUrl!.replace('/metrics', '/readyz'))).status === 200 ? true : undefined,
    );

    child.kill('SIGINT');
    expect(await exited, output()).toBe(0);
    const logs = /^logs kept in (.+)$/m.exec(output())?.[1];
    expect(logs, output()).toBeDefined();
    onTestFinished(() => rm(join(logs ?? '', '..'), { recursive: true, force: true }));
    // Both router processes wrote to the same log.
    const routerLog = await readFile(join(logs ?? '', 'router.log'), 'utf8');
    expect(routerLog.match(/"msg":"started"/g)).toHaveLength(2);
  }, 200_000);
});
