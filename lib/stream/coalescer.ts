// Runs one handler over everything that became ready together. Submissions made while the
// handler runs wait and go into the next run, which starts as soon as the current one ends, so
// the size of a run grows with the load and a fixed cost per run (a Kafka transaction, a store
// write, a produce round trip) is paid per many items instead of per item.
//
// A submission resolves when the run that contained it succeeded and rejects with that run's
// error otherwise; one failed run does not affect the next.

export interface Coalescer<T> {
  submit(item: T): Promise<void>;
}

export interface CoalescerOptions {
  /**
   * Yields once before a run starts so that submissions made in the same turn of the event loop
   * (e.g. every partition of one fetch) join it. Default: setImmediate.
   */
  readonly yieldOnce?: () => Promise<void>;
}

interface Pending<T> {
  readonly item: T;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export function createCoalescer<T>(
  handle: (items: readonly T[]) => Promise<void>,
  options: CoalescerOptions = {},
): Coalescer<T> {
  const yieldOnce =
    options.yieldOnce ?? (() => new Promise<void>((resolve) => setImmediate(resolve)));
  let queue: Pending<T>[] = [];
  let running = false;

  const drain = async (): Promise<void> => {
    running = true;
    try {
      await yieldOnce();
      while (queue.length > 0) {
        const taken = queue;
        queue = [];
        try {
          await handle(taken.map((p) => p.item));
          for (const pending of taken) pending.resolve();
        } catch (error) {
          for (const pending of taken) pending.reject(error);
        }
      }
    } finally {
      running = false;
    }
  };

  return {
    submit(item) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        if (!running) void drain();
      });
    },
  };
}
