// Plumbing of the scale benchmark: clean-up in reverse order, endpoint processes, a consumer
// that counts (and optionally keeps) the records of an output topic with their arrival times,
// waits with deadlines that also fail fast when a child process dies, and topic deletion with
// Kafka's own topic tool.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EventLog, LogConsumer, LogRecord, TopicSpec } from '../lib/event-log/event-log.ts';
import { KAFKA_TOOL, runKafkaTool } from '../infra/kafka/kafka-tools.ts';
import type { Child } from '../services/launcher/service-processes.ts';
import { phaseOf } from './scale-measures.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

/**
 * Clean-up steps, run last-registered first; a failing step is reported and the rest still run.
 * A second runAll while one is running (an interrupt during a failure's clean-up) joins it.
 */
export class CleanupStack {
  private readonly steps: { what: string; run: () => Promise<void> }[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly report: (message: string) => void) {}

  defer(what: string, run: () => Promise<void>): void {
    this.steps.push({ what, run });
  }

  runAll(): Promise<void> {
    this.running ??= (async () => {
      for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
        try {
          await step.run();
        } catch (error) {
          this.report(`clean-up "${step.what}" failed: ${(error as Error).message}`);
        }
      }
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }
}

/** The child that has exited, if any. */
export function exitedChild(children: readonly Child[]): Child | undefined {
  return children.find((c) => c.process.exitCode !== null || c.process.signalCode !== null);
}

function describeExit(child: Child, logDir: string): string {
  const { exitCode, signalCode } = child.process;
  const how = signalCode === null ? `exit code ${exitCode}` : `signal ${signalCode}`;
  return `${child.name} exited (${how}); see ${join(logDir, `${child.name}.log`)}`;
}

export interface WaitOptions {
  /** What is awaited, for the error message. */
  readonly what: string;
  readonly timeoutMs: number;
  /** Fail when the awaited count has not moved for this long (default: timeoutMs). */
  readonly stallMs?: number;
  /** Fail at once when one of these exits. */
  readonly children?: readonly Child[];
  readonly logDir: string;
}

/**
 * Polls `progress` every 100 ms until `done()`; rejects on the deadline, on a stall (progress()
 * unchanged for stallMs), or when a watched child exits. Only for conditions that other events
 * make true; the time something happened is recorded where it happens, not here.
 */
export async function waitUntil(
  done: () => boolean,
  progress: () => number,
  options: WaitOptions,
): Promise<void> {
  const started = performance.now();
  let last = progress();
  let lastMoved = started;
  for (;;) {
    if (done()) return;
    const now = performance.now();
    const dead = exitedChild(options.children ?? []);
    if (dead !== undefined)
      throw new Error(
        `${describeExit(dead, options.logDir)} while waiting for ${options.what} (at ${last})`,
      );
    const current = progress();
    if (current !== last) {
      last = current;
      lastMoved = now;
    }
    if (now - started > options.timeoutMs)
      throw new Error(
        `timed out after ${Math.round(options.timeoutMs / 1000)} s waiting for ${options.what} (at ${current})`,
      );
    if (now - lastMoved > (options.stallMs ?? options.timeoutMs))
      throw new Error(
        `no progress for ${Math.round((now - lastMoved) / 1000)} s waiting for ${options.what} (stuck at ${current})`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Rejects after timeoutMs unless the promise settles first. */
export async function withTimeout<T>(
  promise: Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s: ${what}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface EndpointProcess {
  readonly child: Child;
  readonly url: Promise<string>;
}

/**
 * Starts a local SageMaker endpoint script (services/local-endpoint/main.ts or a bench twin of
 * it) as a child process. Its first JSON stdout line `{"event":"listening","url":...}` gives the
 * URL. The child is returned at once so the caller can register its clean-up before waiting.
 */
export function spawnEndpoint(
  name: string,
  script: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logDir: string,
): EndpointProcess {
  const log = createWriteStream(join(logDir, `${name}.log`));
  const process_ = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, script), ...args], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  process_.stderr.pipe(log);
  const child: Child = { name, process: process_ };
  const url = new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: process_.stdout });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      try {
        const event = JSON.parse(line) as { event?: unknown; url?: unknown };
        if (event.event === 'listening' && typeof event.url === 'string') resolve(event.url);
      } catch {
        // not a JSON line: kept in the log only
      }
    });
    process_.once('exit', () => reject(new Error(describeExit(child, logDir))));
  });
  // The exit after a successful start is the clean-up's business, not an unhandled rejection.
  url.catch(() => undefined);
  return { child, url };
}

export interface KeyWatcherOptions {
  readonly eventLog: EventLog;
  readonly topic: string;
  readonly groupId: string;
  /** Keep every record read (for a later backlog). */
  readonly capture?: boolean;
  /** Called once per new key with the time its batch was handed over (performance.now()). */
  readonly onFirstSeen?: (key: string, arrivedAt: number) => void;
  /** Called once per new key with its record. */
  readonly onRecord?: (record: LogRecord) => void;
}

export interface KeyWatcher {
  /** Distinct keys seen, in one phase (see phaseOf) or in all. */
  count(phase?: string): number;
  /** When the n-th distinct key of the phase (or of all) arrived; undefined before that. */
  reachedAt(n: number, phase?: string): number | undefined;
  /** Records read, in arrival order (capture only; a repeated key is kept once). */
  readonly captured: readonly LogRecord[];
  /** Waits until n distinct keys were seen and returns when the n-th arrived. */
  waitFor(n: number, phase: string | undefined, options: WaitOptions): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Reads a topic from its beginning (read committed, as every dynab consumer) and counts distinct
 * record keys per phase, noting when each count was reached. Exactly-once outputs carry each key
 * once; counting distinct keys keeps a duplicate from ending a wait early if one ever appears.
 */
export async function startKeyWatcher(options: KeyWatcherOptions): Promise<KeyWatcher> {
  const seen = new Set<string>();
  const perPhase = new Map<string, number>();
  /** Arrival time of the n-th key, total and per phase, recorded as the counts grow. */
  const arrivals: number[] = [];
  const phaseArrivals = new Map<string, number[]>();
  const captured: LogRecord[] = [];
  const consumer: LogConsumer = await options.eventLog.createConsumer({
    groupId: options.groupId,
    topics: [options.topic],
    fromBeginning: true,
    // As the services read: a fetch returns as soon as committed data is there, and waits up to
    // this long when there is none.
    maxWaitTimeMs: 100,
    concurrentPartitions: 64,
  });
  await consumer.run((batch) => {
    const arrivedAt = performance.now();
    for (const record of batch.records) {
      const key = record.key?.toString() ?? '';
      if (seen.has(key)) continue;
      seen.add(key);
      const phase = phaseOf(key);
      perPhase.set(phase, (perPhase.get(phase) ?? 0) + 1);
      arrivals.push(arrivedAt);
      let list = phaseArrivals.get(phase);
      if (list === undefined) {
        list = [];
        phaseArrivals.set(phase, list);
      }
      list.push(arrivedAt);
      if (options.capture === true) captured.push(record);
      options.onFirstSeen?.(key, arrivedAt);
      options.onRecord?.(record);
    }
  });
  const count = (phase?: string): number =>
    phase === undefined ? seen.size : (perPhase.get(phase) ?? 0);
  const reachedAt = (n: number, phase?: string): number | undefined =>
    (phase === undefined ? arrivals : phaseArrivals.get(phase))?.[n - 1];
  return {
    count,
    reachedAt,
    captured,
    async waitFor(n, phase, waitOptions) {
      await waitUntil(
        () => count(phase) >= n,
        () => count(phase),
        waitOptions,
      );
      const at = reachedAt(n, phase);
      if (at === undefined) throw new Error(`unreachable: ${n} keys counted without a time`);
      return at;
    },
    stop: () => consumer.stop(),
  };
}

/**
 * Creates topics, retrying while the broker has not caught up with its own metadata: right
 * after a creation (more so while a stage's topics are being deleted) the admin client's wait
 * for leaders can be answered "unknown topic", which it does not retry itself.
 */
export async function ensureTopicsRetrying(
  eventLog: EventLog,
  specs: readonly TopicSpec[],
  attempts = 10,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await eventLog.ensureTopics(specs);
      return;
    } catch (error) {
      const retriable = (error as { retriable?: unknown } | null)?.retriable === true;
      if (!retriable || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** A Java regular expression matching every topic whose name starts with `prefix`. */
export function topicPrefixPattern(prefix: string): string {
  return `${prefix.replace(/[.\\+*?^$()[\]{}|-]/g, (c) => `\\${c}`)}.*`;
}

/** Deletes every topic whose name starts with `prefix`, with Kafka's topic tool. */
export async function deleteTopicsWithPrefix(
  target: { readonly brokers: readonly string[]; readonly classpath: string },
  prefix: string,
): Promise<void> {
  await runKafkaTool(
    KAFKA_TOOL.topics,
    [
      '--bootstrap-server',
      target.brokers.join(','),
      '--delete',
      '--if-exists',
      '--topic',
      topicPrefixPattern(prefix),
    ],
    { classpath: target.classpath, timeoutMs: 120_000 },
  );
}
