import { describe, expect, it } from 'vitest';
import { createSerialQueue } from '../../../lib/stream/serial-queue.ts';

describe('createSerialQueue', () => {
  it('never runs two tasks at once and keeps call order', async () => {
    const serial = createSerialQueue();
    const events: string[] = [];
    let running = 0;
    const task = (name: string, ticks: number) => async () => {
      running++;
      expect(running).toBe(1);
      events.push(`start ${name}`);
      for (let i = 0; i < ticks; i++) await Promise.resolve();
      events.push(`end ${name}`);
      running--;
      return name;
    };
    const results = await Promise.all([
      serial(task('a', 5)),
      serial(task('b', 1)),
      serial(task('c', 3)),
    ]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('keeps going after a failed task and reports the failure to its caller', async () => {
    const serial = createSerialQueue();
    const failed = serial(() => Promise.reject(new Error('boom')));
    const next = serial(() => Promise.resolve(42));
    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe(42);
  });
});
