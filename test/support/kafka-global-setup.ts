// One real Kafka broker per test run, shared by every integration test file. Tests create
// unique topics and groups, so they never see each other's data. DYNAB_TEST_BROKERS points
// the suite at an existing cluster instead.
import type { TestProject } from 'vitest/node';
import { startEmbeddedKafka, type EmbeddedKafka } from '../../infra/kafka/embedded-kafka.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    brokers: string[];
  }
}

let broker: EmbeddedKafka | null = null;

export async function setup(project: TestProject): Promise<void> {
  const external = process.env['DYNAB_TEST_BROKERS'];
  if (external !== undefined && external !== '') {
    project.provide('brokers', external.split(','));
    return;
  }
  broker = await startEmbeddedKafka({ startTimeoutMs: 120_000 });
  project.provide('brokers', broker.brokers);
}

export async function teardown(): Promise<void> {
  await broker?.stop();
  broker = null;
}
