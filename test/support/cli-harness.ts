// Runs a CLI command in-process against a test pipeline's topics, capturing what it writes.
import type { CliIo } from '../../services/cli/experiment-command.ts';
import { testBrokers } from './kafka-test-kit.ts';

export type CliCommand = (args: readonly string[], io: CliIo) => Promise<number>;

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A function that runs `command` with the given arguments, configured for the pipeline's broker,
 * prefix and partition count (files cannot be read: no test here passes one).
 */
export function cliRunner(
  pipeline: { readonly prefix: string },
  command: CliCommand,
  options: { readonly partitions?: number; readonly now?: () => number } = {},
): (...args: string[]) => Promise<CliRun> {
  const env = {
    DYNAB_BROKERS: testBrokers().join(','),
    DYNAB_TOPIC_PREFIX: pipeline.prefix,
    DYNAB_PARTITIONS: String(options.partitions ?? 2),
  };
  return async (...args) => {
    let stdout = '';
    let stderr = '';
    const code = await command(args, {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env,
      now: options.now ?? (() => Date.now()),
      readText: () => Promise.reject(new Error('no files')),
    });
    return { code, stdout, stderr };
  };
}
