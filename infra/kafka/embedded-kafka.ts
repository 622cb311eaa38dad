// A single-node Apache Kafka broker in KRaft combined mode, started from Maven Central jars.
// Used by `npm start` (when no brokers are configured) and by the integration-test global setup.
//
// Lifecycle: resolve jars (cached outside the repository) → format storage → start the JVM →
// wait until the broker answers a metadata request → stop with SIGTERM, then SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchJarsOnce } from './maven-jars.ts';

/** Kafka release used locally; it is also written in infra/kafka/pom.xml (kept in sync by a test). */
export const KAFKA_VERSION = '4.1.2';

export interface EmbeddedKafkaOptions {
  /** Folder for the broker's log dirs; a fresh temporary folder when omitted. */
  readonly dataDir?: string;
  /** Remove dataDir on stop (default: true when dataDir was generated). */
  readonly removeDataOnStop?: boolean;
  /** Client port; a free port when omitted. */
  readonly port?: number;
  /** Controller port; a free port when omitted. */
  readonly controllerPort?: number;
  /** Where the jars are cached; default $DYNAB_CACHE_DIR or ~/.cache/dynab. */
  readonly cacheDir?: string;
  /** JVM heap, e.g. "512m". */
  readonly heap?: string;
  /** Extra broker properties (key → value). */
  readonly overrides?: Readonly<Record<string, string>>;
  /** How long to wait for the broker to answer. */
  readonly startTimeoutMs?: number;
  /** Called with progress messages (resolving jars, formatting, started). */
  readonly onProgress?: (message: string) => void;
}

export interface EmbeddedKafka {
  readonly brokers: string[];
  readonly dataDir: string;
  readonly logFile: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Where fetched jars are cached: $DYNAB_CACHE_DIR, else $XDG_CACHE_HOME/dynab or ~/.cache/dynab. */
export function defaultCacheDir(): string {
  return (
    process.env['DYNAB_CACHE_DIR'] ??
    join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'dynab')
  );
}

/**
 * Ensures the broker's runtime classpath is in the cache and returns the folder of jars.
 * Concurrent callers (a test run next to `npm start`) never see a half-filled folder.
 */
export async function resolveKafkaJars(
  cacheDir = defaultCacheDir(),
  onProgress?: (m: string) => void,
): Promise<string> {
  return fetchJarsOnce({
    pom: fileURLToPath(new URL('./pom.xml', import.meta.url)),
    target: join(cacheDir, `kafka-${KAFKA_VERSION}`, 'libs'),
    marker: `kafka_2.13-${KAFKA_VERSION}.jar`,
    what: `Apache Kafka ${KAFKA_VERSION} jars`,
    onProgress,
  });
}

/** Asks the kernel for a free loopback port. */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

function renderProperties(props: Readonly<Record<string, string>>): string {
  return Object.entries(props)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}

const LOG4J2_CONFIG = `
appender.file.type = File
appender.file.name = file
appender.file.fileName = \${sys:kafka.logs.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
`;

function runJava(
  classpath: string,
  mainClass: string,
  args: string[],
  jvmArgs: string[],
): ChildProcess {
  return spawn('java', [...jvmArgs, '-cp', classpath, mainClass, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Resolves when a TCP connection to the port succeeds, polling until the deadline. */
async function waitForPort(
  port: number,
  deadline: number,
  child: ChildProcess,
  logFile: string,
  logStart: number,
): Promise<void> {
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`Kafka exited with code ${child.exitCode}; see ${logFile}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    // An open port is not yet a serving broker: KafkaRaftServer logs this line once the broker
    // has registered with the controller and can answer metadata requests.
    if (
      ok &&
      existsSync(logFile) &&
      // Only this run's part of the log counts: a restarted broker appends to the same file.
      (await readFile(logFile)).subarray(logStart).toString('utf8').includes('Kafka Server started')
    )
      return;
    if (Date.now() > deadline)
      throw new Error(`Kafka did not become ready on port ${port} in time; see ${logFile}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Starts a broker and resolves once it accepts connections on its client port. */
export async function startEmbeddedKafka(
  options: EmbeddedKafkaOptions = {},
): Promise<EmbeddedKafka> {
  const progress = options.onProgress ?? (() => undefined);
  const libs = await resolveKafkaJars(options.cacheDir, progress);
  const jars = (await readdir(libs)).filter((f) => f.endsWith('.jar')).map((f) => join(libs, f));
  const classpath = jars.join(':');

  const generated = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'dynab-kafka-')));
  await mkdir(dataDir, { recursive: true });
  const port = options.port ?? (await findFreePort());
  const controllerPort = options.controllerPort ?? (await findFreePort());
  const logFile = join(dataDir, 'broker.log');

  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    'controller.listener.names': 'CONTROLLER',
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': join(dataDir, 'logs'),
    'num.partitions': '1',
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '10',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'transaction.state.log.num.partitions': '4',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    'group.initial.rebalance.delay.ms': '0',
    'auto.create.topics.enable': 'false',
    // The log cleaner allocates this buffer at start-up; the default 128 MiB is wasteful here.
    'log.cleaner.dedupe.buffer.size': String(16 * 1024 * 1024),
    'log.segment.bytes': String(64 * 1024 * 1024),
    // One network and one request-handler thread per core of a small machine, not the defaults
    // (3 and 8): with the services, the endpoint and the generator on the same 2 cores, the
    // broker used about a fifth less CPU per request end to end (BENCHMARKS.md, "Backend scale").
    'num.network.threads': '2',
    'num.io.threads': '2',
    ...options.overrides,
  };
  const propsFile = join(dataDir, 'server.properties');
  await writeFile(propsFile, renderProperties(props) + '\n');
  const log4jFile = join(dataDir, 'log4j2.properties');
  await writeFile(log4jFile, LOG4J2_CONFIG);

  const jvmArgs = [
    `-Xmx${options.heap ?? '768m'}`,
    '-Xms256m',
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jFile}`,
    `-Dkafka.logs.file=${logFile}`,
    `-Dkafka.logs.dir=${dataDir}`,
  ];

  // A data dir that was formatted before is a restart: the broker keeps its cluster id and data.
  if (!existsSync(join(dataDir, 'logs', 'meta.properties'))) {
    progress(`formatting KRaft storage in ${dataDir}`);
    // A base64url id may start with "-", which the storage tool's argument parser takes for an
    // option (about 1 start in 64 failed that way): draw again until it does not.
    let clusterId = '-';
    while (clusterId.startsWith('-')) {
      clusterId = Buffer.from(randomUUID().replace(/-/g, ''), 'hex').toString('base64url');
    }
    const format = runJava(
      classpath,
      'kafka.tools.StorageTool',
      ['format', '-t', clusterId, '-c', propsFile],
      jvmArgs,
    );
    let formatOutput = '';
    format.stdout?.on('data', (d: Buffer) => (formatOutput += d.toString()));
    format.stderr?.on('data', (d: Buffer) => (formatOutput += d.toString()));
    const code = await new Promise<number | null>((resolve) => format.once('exit', resolve));
    if (code !== 0) throw new Error(`Kafka storage format failed (${code}): ${formatOutput}`);
  }

  progress(`starting Kafka ${KAFKA_VERSION} on 127.0.0.1:${port}`);
  const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
  const child = runJava(classpath, 'kafka.Kafka', [propsFile], jvmArgs);
  // If this process dies without stopping the broker (an uncaught error), take the JVM along
  // rather than leave an orphan holding ports and disk.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const out = createWriteStream(join(dataDir, 'broker.stdout.log'));
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);

  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      if (!(await waitForExit(child, 20_000))) {
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      }
    }
    out.end();
    if (options.removeDataOnStop ?? generated) await rm(dataDir, { recursive: true, force: true });
  };

  try {
    await waitForPort(
      port,
      Date.now() + (options.startTimeoutMs ?? 90_000),
      child,
      logFile,
      logStart,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  progress(`Kafka is listening on 127.0.0.1:${port}`);
  return { brokers: [`127.0.0.1:${port}`], dataDir, logFile, pid: child.pid ?? -1, stop };
}
