import { describe, expect, it } from 'vitest';
import {
  addTouch,
  creditedTouch,
  isDecidable,
  MAX_TOUCHES_PER_USER,
  type Touch,
} from '../../../../services/attribution/core/last-touch.ts';

const touch = (requestId: string, eventTime: number): Touch => ({ requestId, eventTime });

describe('last-touch attribution', () => {
  it('keeps touches sorted, without repeats, and bounded', () => {
    let touches: Touch[] = [];
    for (const t of [touch('c', 30), touch('a', 10), touch('b', 20), touch('a', 10)]) {
      touches = addTouch(touches, t);
    }
    expect(touches.map((t) => t.requestId)).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < 100; i++) touches = addTouch(touches, touch(`r${i}`, 100 + i));
    expect(touches).toHaveLength(MAX_TOUCHES_PER_USER);
    expect(touches.at(-1)?.requestId).toBe('r99');
  });

  it('credits the latest request at or before the label, within the window, whatever the order', () => {
    const touches = [touch('a', 10), touch('b', 20), touch('c', 30)];
    expect(creditedTouch(touches, 25, 100)?.requestId).toBe('b');
    expect(creditedTouch(touches, 30, 100)?.requestId).toBe('c');
    expect(creditedTouch([...touches].reverse(), 25, 100)?.requestId).toBe('b');
    expect(creditedTouch(touches, 5, 100)).toBeNull();
    expect(creditedTouch(touches, 200, 100)).toBeNull();
    expect(creditedTouch([touch('x', 10), touch('y', 10)], 10, 0)?.requestId).toBe('y');
  });

  it('decides a label once the request watermark passed its time by the grace', () => {
    expect(isDecidable(100, 149, 50)).toBe(false);
    expect(isDecidable(100, 150, 50)).toBe(true);
  });
});
