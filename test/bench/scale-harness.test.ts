import { describe, expect, it } from 'vitest';
import { CleanupStack, topicPrefixPattern } from '../../bench/scale-harness.ts';

describe('CleanupStack', () => {
  it('runs the steps last-registered first, once, and goes on after a failing step', async () => {
    const ran: string[] = [];
    const reports: string[] = [];
    const stack = new CleanupStack((message) => reports.push(message));
    stack.defer('first', () => Promise.resolve(void ran.push('first')));
    stack.defer('failing', () => Promise.reject(new Error('boom')));
    stack.defer('last', () => Promise.resolve(void ran.push('last')));
    await stack.runAll();
    await stack.runAll();
    expect(ran).toEqual(['last', 'first']);
    expect(reports).toEqual(['clean-up "failing" failed: boom']);
  });

  it('lets a second runAll join the one in progress instead of racing it', async () => {
    const ran: string[] = [];
    const stack = new CleanupStack(() => undefined);
    let release = (): void => undefined;
    stack.defer('first', () => Promise.resolve(void ran.push('first')));
    stack.defer('slow', () => new Promise<void>((resolve) => (release = resolve)));
    const one = stack.runAll();
    const two = stack.runAll();
    expect(ran).toEqual([]);
    release();
    await Promise.all([one, two]);
    expect(ran).toEqual(['first']);
  });
});

describe('topicPrefixPattern', () => {
  it('escapes the prefix and matches everything after it', () => {
    const pattern = topicPrefixPattern('scale-1a2b.drains-spam.');
    expect(pattern).toBe('scale\\-1a2b\\.drains\\-spam\\..*');
    const regex = new RegExp(`^${pattern}$`);
    expect(regex.test('scale-1a2b.drains-spam.router.requests')).toBe(true);
    expect(regex.test('scale-1a2bxdrains-spam.router.requests')).toBe(false);
    expect(regex.test('scale-1a2b.drains-small.router.requests')).toBe(false);
  });
});
