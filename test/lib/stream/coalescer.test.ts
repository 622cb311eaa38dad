import { describe, expect, it } from 'vitest';
import { createCoalescer } from '../../../lib/stream/coalescer.ts';

describe('coalescer', () => {
  it('hands everything submitted in one turn to one run, and later submissions to the next', async () => {
    const runs: number[][] = [];
    let release: (() => void) | null = null;
    const coalescer = createCoalescer<number>(async (items) => {
      runs.push([...items]);
      if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = [1, 2, 3].map((n) => coalescer.submit(n));
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(runs).toEqual([[1, 2, 3]]);
    // Submitted while the first run is still going: queued for the second.
    const second = [4, 5].map((n) => coalescer.submit(n));
    expect(runs).toHaveLength(1);
    (release as (() => void) | null)?.();
    await Promise.all([...first, ...second]);
    expect(runs).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('rejects the submissions of a failed run only', async () => {
    let calls = 0;
    const coalescer = createCoalescer<string>((items) => {
      calls++;
      return items.includes('bad') ? Promise.reject(new Error('run failed')) : Promise.resolve();
    });
    const failed = [coalescer.submit('bad'), coalescer.submit('neighbour')];
    await expect(failed[0]).rejects.toThrow('run failed');
    await expect(failed[1]).rejects.toThrow('run failed');
    await expect(coalescer.submit('good')).resolves.toBeUndefined();
    expect(calls).toBe(2);
  });
});
