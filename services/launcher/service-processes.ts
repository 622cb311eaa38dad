// Runs dynab's services as child processes, the way `npm start` and the benchmark do: each
// service is `node --import tsx services/<name>/main.ts`, logs to a file, and reports readiness
// (with the URL of its metrics) over the IPC channel; the local endpoint reports its URL as a
// JSON line on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
}

/** Extra Node.js options for the service processes, e.g. `--max-old-space-size=2048 --cpu-prof`. */
function serviceNodeArgs(env: NodeJS.ProcessEnv): string[] {
  return (env['DYNAB_SERVICE_NODE_ARGS'] ?? '').split(' ').filter((arg) => arg !== '');
}

/**
 * The environment of a service that holds a RocksDB store (the aggregator): glibc's malloc keeps
 * at most two arenas unless MALLOC_ARENA_MAX is already set. RocksDB reads run on libuv's worker
 * threads, each of which otherwise gets an arena of its own that keeps the memory of evicted
 * cache blocks; measured in BENCHMARKS.md ("State store memory"), two arenas kept RSS flat under
 * sustained random reads (about 140 MiB less after 3M reads) at the same read rate.
 */
export function storeServiceEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env['MALLOC_ARENA_MAX'] === undefined ? { ...env, MALLOC_ARENA_MAX: '2' } : env;
}

export function spawnService(
  name: string,
  script: string,
  env: NodeJS.ProcessEnv,
  logDir: string,
): Child {
  // Appended: a restarted service keeps writing below what its predecessor wrote.
  const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
  const child = spawn(
    process.execPath,
    [...serviceNodeArgs(env), '--import', 'tsx', join(repoRoot, script)],
    {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { name, process: child };
}

/** What a service reports once it is consuming. */
export interface ServiceReady {
  /** Its `/metrics` URL (`/healthz` and `/readyz` beside it); null from a service without one. */
  readonly metricsUrl: string | null;
}

/** Reads the ready message a service sends over IPC (lib/runtime/service-main.ts). */
export function readyMessageOf(message: unknown): ServiceReady | null {
  if (typeof message !== 'object' || message === null) return null;
  const { type, metricsUrl } = message as { type?: unknown; metricsUrl?: unknown };
  if (type !== 'ready') return null;
  return { metricsUrl: typeof metricsUrl === 'string' ? metricsUrl : null };
}

export function waitForReady(child: Child, timeoutMs: number): Promise<ServiceReady> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${child.name} did not start within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.process.on('message', (message: unknown) => {
      const ready = readyMessageOf(message);
      if (ready !== null) {
        clearTimeout(timer);
        resolve(ready);
      }
    });
    child.process.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${child.name} exited with code ${code} during start-up`));
    });
  });
}

/** Starts the local endpoint and resolves with its URL (its first stdout line is JSON). */
export function startLocalEndpoint(
  env: NodeJS.ProcessEnv,
  logDir: string,
  experiment: string,
): Promise<{ child: Child; url: string }> {
  const log = createWriteStream(join(logDir, 'local-endpoint.log'));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(repoRoot, 'services/local-endpoint/main.ts'),
      '--endpoint',
      experiment,
    ],
    {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stderr.pipe(log);
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      log.write(`${line}\n`);
      try {
        const event = JSON.parse(line) as { event?: string; url?: string; trainMs?: number };
        if (event.event === 'listening' && event.url !== undefined) {
          resolve({ child: { name: 'local-endpoint', process: child }, url: event.url });
        }
      } catch {
        // not a JSON line: kept in the log only
      }
    });
    child.once('exit', (code) =>
      reject(
        new Error(
          `local endpoint exited with code ${code}; see ${join(logDir, 'local-endpoint.log')}`,
        ),
      ),
    );
  });
}

export async function stopChild(child: Child): Promise<void> {
  const p = child.process;
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.once('exit', () => resolve()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
