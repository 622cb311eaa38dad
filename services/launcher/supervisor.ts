// Supervises the service processes `npm start` runs: starts each, waits for its ready message
// (and learns its metrics URL), and restarts a service that exits on its own, after a backoff
// (core/restart-policy.ts). A service that keeps dying is given up on: `failure()` then says why,
// and the launcher stops everything and exits non-zero. What happened is reported through
// `onEvent` (the live view) and kept for `statusLine()`.
import {
  DEFAULT_RESTART_POLICY,
  decideRestart,
  type RestartPolicy,
} from './core/restart-policy.ts';
import { spawnService, stopChild, waitForReady, type Child } from './service-processes.ts';

export interface ServiceSpec {
  readonly name: string;
  /** Path of its main.ts, from the repository root. */
  readonly script: string;
  readonly env: NodeJS.ProcessEnv;
}

export interface SupervisorOptions {
  readonly logDir: string;
  readonly readyTimeoutMs: number;
  readonly policy?: RestartPolicy;
  /** A line for the user: a service restarted, gave up, or is running again. */
  readonly onEvent: (message: string) => void;
  readonly now?: () => number;
}

export interface SupervisedService {
  readonly name: string;
  /** Its metrics URL, as reported by its latest start (null until it is ready). */
  readonly metricsUrl: string | null;
  /** Process id of its latest start. */
  readonly pid: number | null;
  readonly restarts: number;
}

export interface Supervisor {
  /** Starts every service; resolves with each one's metrics URL once all are ready. */
  start(): Promise<readonly SupervisedService[]>;
  services(): readonly SupervisedService[];
  /** Why supervision gave up (a service kept dying), or null while everything is recovering. */
  failure(): Error | null;
  /** One line about restarts for the live view, or null when no service was ever restarted. */
  statusLine(): string | null;
  /**
   * No restarts from now on (synchronous: call it from a signal handler, since Ctrl-C on a
   * terminal reaches the services too, and their exits are then no failures).
   */
  halt(): void;
  /** Stops every service (SIGTERM, then SIGKILL); no restarts from then on. */
  stop(): Promise<void>;
}

interface Managed {
  readonly spec: ServiceSpec;
  child: Child | null;
  metricsUrl: string | null;
  readonly restartTimes: number[];
  lastExit: string | null;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
}

export function createSupervisor(
  specs: readonly ServiceSpec[],
  options: SupervisorOptions,
): Supervisor {
  const policy = options.policy ?? DEFAULT_RESTART_POLICY;
  const now = options.now ?? Date.now;
  const managed: Managed[] = specs.map((spec) => ({
    spec,
    child: null,
    metricsUrl: null,
    restartTimes: [],
    lastExit: null,
  }));
  let stopping = false;
  let failure: Error | null = null;
  const timers = new Set<NodeJS.Timeout>();

  const launch = (m: Managed): Promise<void> => {
    const child = spawnService(m.spec.name, m.spec.script, m.spec.env, options.logDir);
    m.child = child;
    m.metricsUrl = null;
    child.process.once('exit', (code, signal) => onExit(m, child, describeExit(code, signal)));
    return waitForReady(child, options.readyTimeoutMs).then(
      (ready) => {
        m.metricsUrl = ready.metricsUrl;
      },
      (error: unknown) => {
        // Not ready in time: end it, and the exit handler decides about a restart.
        if (child.process.exitCode === null && child.process.signalCode === null)
          child.process.kill('SIGKILL');
        throw error;
      },
    );
  };

  const onExit = (m: Managed, child: Child, how: string): void => {
    if (stopping || m.child !== child || failure !== null) return;
    m.lastExit = how;
    const decision = decideRestart(policy, m.restartTimes, now());
    if (decision.kind === 'give-up') {
      failure = new Error(
        `${m.spec.name} ${how} after ${decision.restartsInWindow} restarts within ${policy.windowMs / 1000} s; giving up (logs: ${options.logDir}/${m.spec.name}.log)`,
      );
      options.onEvent(failure.message);
      return;
    }
    m.restartTimes.push(now());
    options.onEvent(
      `${m.spec.name} ${how}; restarting in ${decision.delayMs} ms (restart ${m.restartTimes.length})`,
    );
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopping || failure !== null) return;
      launch(m).then(
        () =>
          options.onEvent(
            `${m.spec.name} restarted (pid ${m.child?.process.pid ?? '?'})${m.metricsUrl === null ? '' : `; metrics at ${m.metricsUrl}`}`,
          ),
        // A failed start ends in an exit, which comes back here.
        () => undefined,
      );
    }, decision.delayMs);
    timers.add(timer);
  };

  const halt = (): void => {
    stopping = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };

  const services = (): SupervisedService[] =>
    managed.map((m) => ({
      name: m.spec.name,
      metricsUrl: m.metricsUrl,
      pid: m.child?.process.pid ?? null,
      restarts: m.restartTimes.length,
    }));

  return {
    async start() {
      await Promise.all(managed.map(launch));
      return services();
    },
    services,
    failure: () => failure,
    statusLine() {
      const restarted = managed.filter((m) => m.restartTimes.length > 0);
      if (restarted.length === 0) return null;
      return `restarts: ${restarted
        .map(
          (m) =>
            `${m.spec.name} ${m.restartTimes.length} (last: ${m.lastExit ?? 'unknown'}; ${m.metricsUrl === null ? 'starting' : 'running'})`,
        )
        .join(', ')}`;
    },
    halt,
    async stop() {
      halt();
      await Promise.all(managed.flatMap((m) => (m.child === null ? [] : [stopChild(m.child)])));
    },
  };
}
