// Helpers for integration tests: unique names, an event log per test with cleanup, and
// condition-based waiting (never fixed sleeps).
import { randomUUID } from 'node:crypto';
import { inject, onTestFinished } from 'vitest';
import type { EventLog, LogRecord } from '../../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../../lib/event-log/kafka-event-log.ts';

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function testBrokers(): string[] {
  return inject('brokers');
}

/** An event log on the shared test broker, closed when the current test ends. */
export function openTestEventLog(clientId = uniqueName('test')): KafkaEventLog {
  const log = new KafkaEventLog({ brokers: testBrokers(), clientId });
  onTestFinished(() => log.close());
  return log;
}

/** Polls `check` until it returns a value other than undefined, or fails after the timeout. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Collects every record of a topic (read committed) from the beginning into the returned array,
 * which keeps filling until the current test ends.
 */
export async function collectTopic(eventLog: EventLog, topic: string): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  const consumer = await eventLog.createConsumer({
    groupId: uniqueName('collect'),
    topics: [topic],
    fromBeginning: true,
    maxWaitTimeMs: 50,
  });
  onTestFinished(() => consumer.stop());
  await consumer.run((batch) => {
    records.push(...batch.records);
  });
  return records;
}
