// Runs async tasks one at a time, in call order. The aggregator funnels both its batch handler
// and its rebalance handler through one queue, so loading a partition's state from the store
// never interleaves with a batch that is changing that state.
export type SerialQueue = <T>(task: () => Promise<T>) => Promise<T>;

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    // The chain must survive a failed task; the caller still sees the failure through `run`.
    tail = run.catch(() => undefined);
    return run;
  };
}
