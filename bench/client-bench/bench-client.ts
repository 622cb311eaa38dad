// What the client benchmark asks of each Kafka client: the three workloads, nothing more. The
// kafkajs client goes through the event-log port; candidates get the thinnest code that runs
// the same workload through their own API, so the numbers compare clients, not adapters.
import { performance } from 'node:perf_hooks';
import type { OutRecord } from '../../lib/event-log/event-log.ts';
import { chunkRecords } from '../../lib/event-log/kafka-event-log.ts';

/** An idempotent producer with acks=all. */
export interface BenchProducer {
  /** Produces one call's records and resolves once the broker acknowledged all of them. */
  send(records: readonly OutRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface BenchClient {
  readonly name: string;
  openProducer(): Promise<BenchProducer>;
  /** Reads `topic` from the beginning in a new group until the tally is complete. */
  consume(topic: string, groupId: string, tally: Tally): Promise<void>;
  /**
   * Moves every record of `input` to `output`: read committed, and for each delivered batch of
   * one partition its outputs and the group's next offset committed in one transaction. The
   * tally counts records whose transaction committed; resolves once it is complete and the
   * consumer has left the group.
   */
  relay(
    input: string,
    output: string,
    groupId: string,
    transactionalId: string,
    tally: Tally,
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * Counts delivered records, catches duplicates (an offset at or below the last one seen on its
 * partition) and times the run from the moment the member got its partitions (`start`, called
 * by the client's own assignment hook) to the last record: every fetch counts, the group join
 * does not. Without an assignment hook the clock starts at the first delivery.
 */
export class Tally {
  count = 0;
  /** Calls of `add`: delivered batches, or committed transactions for a relay. */
  batches = 0;
  duplicates = 0;
  startAt = Number.NaN;
  firstAt = Number.NaN;
  lastAt = Number.NaN;
  private readonly lastOffset = new Map<number, number>();
  private resolveDone: (() => void) | undefined;
  private rejectDone: ((error: Error) => void) | undefined;
  /** Resolves when complete; rejects when the client reported a failure. */
  readonly done: Promise<void>;

  constructor(readonly expected: number) {
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Awaited later (through `within`); a failure before that must not count as unhandled.
    this.done.catch(() => undefined);
  }

  fail(error: unknown): void {
    this.rejectDone?.(error instanceof Error ? error : new Error(String(error)));
  }

  get complete(): boolean {
    return this.count >= this.expected;
  }

  /** Marks the member's first assignment; later calls (rebalances) change nothing. */
  start(): void {
    if (Number.isNaN(this.startAt)) this.startAt = performance.now();
  }

  /** Records `n` records of one partition whose offsets run up to `lastOffset`. */
  add(partition: number, firstOffset: number, lastOffset: number, n: number): void {
    if (n === 0) return;
    if (this.count === 0) this.firstAt = performance.now();
    const previous = this.lastOffset.get(partition);
    if (previous !== undefined && firstOffset <= previous) this.duplicates += 1;
    this.lastOffset.set(partition, Math.max(previous ?? -1, lastOffset));
    this.count += n;
    this.batches += 1;
    if (this.complete) {
      this.lastAt = performance.now();
      this.resolveDone?.();
    }
  }

  get seconds(): number {
    const from = Number.isNaN(this.startAt) ? this.firstAt : this.startAt;
    return (this.lastAt - from) / 1000;
  }
}

/** Resolves with `promise`, or rejects after `ms` saying what was awaited. */
export async function within<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Splits records into calls of at most `maxBytes`, for clients that send one record batch per
 * partition per request: the broker rejects a batch above max.message.bytes (1 MiB by default).
 * The same split as the event-log port's (which uses 512 KiB).
 */
export const chunkByBytes = <T extends OutRecord>(records: readonly T[], maxBytes: number): T[][] =>
  chunkRecords(records, maxBytes);
