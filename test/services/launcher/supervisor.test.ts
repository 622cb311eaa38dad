// The supervisor with a stand-in service process (fixtures/flaky-service.ts) that crashes a
// given number of times after reporting ready.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createSupervisor } from '../../../services/launcher/supervisor.ts';
import { waitFor } from '../../support/kafka-test-kit.ts';

const policy = { maxRestarts: 3, windowMs: 60_000, baseDelayMs: 10, maxDelayMs: 50 };

async function flaky(crashes: number) {
  const dir = await mkdtemp(join(tmpdir(), 'dynab-supervisor-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  const events: string[] = [];
  const supervisor = createSupervisor(
    [
      {
        name: 'flaky',
        script: 'test/services/launcher/fixtures/flaky-service.ts',
        env: {
          ...process.env,
          FLAKY_STARTS_FILE: join(dir, 'starts'),
          FLAKY_CRASHES: String(crashes),
        },
      },
    ],
    { logDir: dir, readyTimeoutMs: 30_000, policy, onEvent: (m) => events.push(m) },
  );
  onTestFinished(() => supervisor.stop());
  const starts = async (): Promise<number> =>
    Number(await readFile(join(dir, 'starts'), 'utf8').catch(() => '0'));
  return { supervisor, events, starts, dir };
}

describe('createSupervisor', () => {
  it('restarts a service that dies, reports it, and learns its new metrics URL', async () => {
    const { supervisor, events, starts } = await flaky(2);
    const [service] = await supervisor.start();
    expect(service?.metricsUrl).toBe('http://127.0.0.1:1/metrics?start=1');
    await waitFor('the third start to be ready', () =>
      supervisor.services()[0]?.metricsUrl?.endsWith('start=3') === true ? true : undefined,
    );
    expect(await starts()).toBe(3);
    expect(supervisor.failure()).toBeNull();
    expect(supervisor.services()[0]?.restarts).toBe(2);
    expect(events.filter((e) => e.startsWith('flaky exited with code 3; restarting'))).toHaveLength(
      2,
    );
    expect(events).toContainEqual(
      expect.stringMatching(
        /^flaky restarted \(pid \d+\); metrics at http:\/\/127\.0\.0\.1:1\/metrics\?start=3$/,
      ),
    );
    expect(supervisor.statusLine()).toBe('restarts: flaky 2 (last: exited with code 3; running)');
    await supervisor.stop();
  });

  it('gives up on a service that keeps dying, and says why', async () => {
    const { supervisor, events, starts, dir } = await flaky(100);
    await supervisor.start();
    const failure = await waitFor('giving up', () => supervisor.failure() ?? undefined);
    expect(failure.message).toBe(
      `flaky exited with code 3 after 3 restarts within 60 s; giving up (logs: ${dir}/flaky.log)`,
    );
    expect(events.at(-1)).toBe(failure.message);
    expect(await starts()).toBe(4);
  });

  it('starts nothing again once stopped', async () => {
    const { supervisor, starts } = await flaky(0);
    await supervisor.start();
    await supervisor.stop();
    expect(supervisor.failure()).toBeNull();
    expect(await starts()).toBe(1);
  });
});
