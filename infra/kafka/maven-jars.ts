// Copies the runtime dependencies of a small `pom.xml` (packaging `pom`) from Maven Central into a
// cache folder, once. Shared by the broker's classpath (embedded-kafka.ts) and Kafka's command-line
// tools (kafka-tools.ts).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface FetchJarsRequest {
  /** The POM whose runtime dependencies are copied. */
  readonly pom: string;
  /** Final folder of jars; filled at most once. */
  readonly target: string;
  /** A jar whose presence in `target` means the folder is complete. */
  readonly marker: string;
  /** What is being fetched, for the progress message and the error. */
  readonly what: string;
  readonly onProgress?: ((message: string) => void) | undefined;
}

/**
 * Returns `target` once it holds the POM's runtime jars, fetching them with Maven if needed.
 * Maven copies into a temporary sibling that is renamed into place, so concurrent callers (a test
 * run next to `npm start`) never see a half-filled folder.
 */
export async function fetchJarsOnce(request: FetchJarsRequest): Promise<string> {
  const { pom, target, marker, what } = request;
  if (existsSync(join(target, marker))) return target;
  request.onProgress?.(`fetching ${what} from Maven Central (once) into ${target}`);
  const parent = dirname(target);
  await mkdir(parent, { recursive: true });
  const staging = await mkdtemp(join(parent, 'staging-'));
  try {
    await execFileAsync(
      'mvn',
      [
        '-q',
        '-B',
        '-f',
        pom,
        'dependency:copy-dependencies',
        `-DoutputDirectory=${staging}`,
        '-DincludeScope=runtime',
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(
      `could not fetch ${what} with Maven (is mvn installed and Maven Central reachable?)`,
      { cause: error },
    );
  }
  try {
    await rename(staging, target);
  } catch (error) {
    // Another process won the race; its copy is complete because rename is atomic.
    await rm(staging, { recursive: true, force: true });
    if (!existsSync(target)) throw error;
  }
  return target;
}
