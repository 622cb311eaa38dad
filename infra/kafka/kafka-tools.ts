// Apache Kafka's own command-line tools (the `kafka-tools` jar of the broker's release), run as
// plain JVM processes. Benchmarks use them to measure what Kafka itself does on the same broker
// and record sizes as the pipeline.
//
// Classpath: the broker's cached jars (embedded-kafka.ts) plus the tools jar, fetched once next to
// them by `mvn dependency:copy-dependencies` on tools-pom.xml. The broker's own fetch and start are
// untouched: the tools jar is only fetched when a tool is first asked for.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KAFKA_VERSION, defaultCacheDir, resolveKafkaJars } from './embedded-kafka.ts';
import { fetchJarsOnce } from './maven-jars.ts';

/** Main classes of the tools used here (package `org.apache.kafka.tools` since Kafka 3.5). */
export const KAFKA_TOOL = {
  producerPerformance: 'org.apache.kafka.tools.ProducerPerformance',
  consumerPerformance: 'org.apache.kafka.tools.ConsumerPerformance',
  endToEndLatency: 'org.apache.kafka.tools.EndToEndLatency',
  topics: 'org.apache.kafka.tools.TopicCommand',
} as const;

export type KafkaToolClass = (typeof KAFKA_TOOL)[keyof typeof KAFKA_TOOL];

async function jarsIn(folder: string): Promise<string[]> {
  return (await readdir(folder))
    .filter((name) => name.endsWith('.jar'))
    .sort()
    .map((name) => join(folder, name));
}

const TOOLS_POM = fileURLToPath(new URL('./tools-pom.xml', import.meta.url));

/**
 * The cache folder of the tools jar. It is named after tools-pom.xml's content, so editing the
 * POM (another release, another jar) fetches into a new folder instead of trusting one that was
 * filled from the old POM.
 */
export async function kafkaToolsFolder(cacheDir = defaultCacheDir()): Promise<string> {
  const key = createHash('sha256')
    .update(await readFile(TOOLS_POM))
    .digest('hex')
    .slice(0, 12);
  return join(cacheDir, `kafka-${KAFKA_VERSION}`, `tools-${key}`);
}

/**
 * Returns a Java classpath holding Kafka's tools and everything they load (the tools jar first,
 * then the broker's jars), fetching either with Maven the first time.
 */
export async function resolveKafkaToolsClasspath(
  cacheDir = defaultCacheDir(),
  onProgress?: (message: string) => void,
): Promise<string> {
  const brokerJars = await resolveKafkaJars(cacheDir, onProgress);
  const toolJars = await fetchJarsOnce({
    pom: TOOLS_POM,
    target: await kafkaToolsFolder(cacheDir),
    marker: `kafka-tools-${KAFKA_VERSION}.jar`,
    what: `the Apache Kafka ${KAFKA_VERSION} tools jar`,
    onProgress,
  });
  return [...(await jarsIn(toolJars)), ...(await jarsIn(brokerJars))].join(delimiter);
}

export interface KafkaToolRunOptions {
  /** From resolveKafkaToolsClasspath. */
  readonly classpath: string;
  /**
   * JVM heap (-Xmx). Default 256m: a tool holds at most the producer's buffer (32 MiB by default)
   * and a payload file.
   */
  readonly heap?: string;
  /** The tool is stopped (SIGTERM, then SIGKILL) and the run fails after this long. Default 10 min. */
  readonly timeoutMs?: number;
}

export interface KafkaToolOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
  /** The command as run, for reports: shell-quoted, the classpath shown as $KAFKA_TOOLS_CP. */
  readonly command: string;
}

function jvmArgsFor(options: KafkaToolRunOptions): string[] {
  return [
    `-Xmx${options.heap ?? '256m'}`,
    '-XX:+UseG1GC',
    '-Djava.awt.headless=true',
    // The tools format numbers with the default locale; a comma decimal separator would break
    // every parser of their output.
    '-Duser.language=en',
    '-Duser.country=US',
  ];
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The last lines of a tool's output, for an error message. */
function tail(text: string, lines = 15): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs `java -cp <classpath> <mainClass> <args>` and resolves with its output once it exits with
 * code 0. A non-zero exit, a signal, or the timeout rejects with the tool's last output lines.
 */
export async function runKafkaTool(
  mainClass: KafkaToolClass,
  args: readonly string[],
  options: KafkaToolRunOptions,
): Promise<KafkaToolOutput> {
  const timeoutMs = options.timeoutMs ?? 600_000;
  const jvmArgs = jvmArgsFor(options);
  const command = [
    'java',
    ...jvmArgs,
    '-cp',
    '"$KAFKA_TOOLS_CP"',
    mainClass,
    ...args.map(shellQuote),
  ].join(' ');
  const started = performance.now();
  const child = spawn('java', [...jvmArgs, '-cp', options.classpath, mainClass, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // If this process dies mid-run, take the JVM along rather than leave it producing.
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const name = mainClass.slice(mainClass.lastIndexOf('.') + 1);

  const deadline = { passed: false };
  let forceKill: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    deadline.passed = true;
    child.kill('SIGTERM');
    forceKill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  }, timeoutMs);
  try {
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>(
      (resolve, reject) => {
        child.once('error', (error) =>
          reject(new Error(`could not start java for Kafka's ${name}`, { cause: error })),
        );
        // 'close' (not 'exit') so that all of stdout and stderr has been read.
        child.once('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
      },
    );
    const elapsedMs = performance.now() - started;
    if (deadline.passed)
      throw new Error(
        `Kafka's ${name} did not finish within ${timeoutMs} ms:\n${tail(stderr || stdout)}`,
      );
    if (code !== 0) {
      const how = signal === null ? `exit code ${code}` : `signal ${signal}`;
      throw new Error(`Kafka's ${name} failed (${how}):\n${tail(`${stdout}\n${stderr}`)}`);
    }
    return { stdout, stderr, elapsedMs, command };
  } finally {
    clearTimeout(timer);
    clearTimeout(forceKill);
    process.off('exit', killOnExit);
  }
}
