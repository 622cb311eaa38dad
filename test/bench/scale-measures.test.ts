import { describe, expect, it } from 'vitest';
import {
  PROBE_REWARD,
  dueRequests,
  fitUtf8,
  indexOf,
  intendedSendTime,
  openLoopRequests,
  percentile,
  phaseOf,
  probeQuarters,
  ratePerSecond,
  requestIdOf,
  summarizeLatencies,
} from '../../bench/scale-measures.ts';

describe('fitUtf8', () => {
  it('cuts ASCII text to exactly the size', () => {
    const out = fitUtf8('a'.repeat(300), 256);
    expect(out.length).toBe(256);
    expect(out.toString('utf8')).toBe('a'.repeat(256));
  });

  it('never splits a multi-byte character and pads the rest with spaces', () => {
    // 255 ASCII bytes, then "é" (2 bytes): the character does not fit whole in 256.
    const out = fitUtf8(`${'a'.repeat(255)}é and more`, 256);
    expect(out.length).toBe(256);
    expect(out.toString('utf8')).toBe(`${'a'.repeat(255)} `);
    // A 4-byte character cut after 2 of its bytes.
    const emoji = fitUtf8(`${'b'.repeat(254)}😀`, 256);
    expect(emoji.toString('utf8')).toBe(`${'b'.repeat(254)}  `);
  });

  it('keeps a character that ends exactly at the size', () => {
    const out = fitUtf8(`${'a'.repeat(254)}é!`, 256);
    expect(out.toString('utf8')).toBe(`${'a'.repeat(254)}é`);
  });

  it('pads a short text', () => {
    expect(fitUtf8('hi', 4).toString('utf8')).toBe('hi  ');
  });

  it('produces valid UTF-8 for any cut of mixed text', () => {
    const text = 'Grüße, 日本語 😀 mail body '.repeat(10);
    for (let size = 0; size < 60; size++) {
      const out = fitUtf8(text, size);
      expect(out.length).toBe(size);
      expect(Buffer.from(out.toString('utf8'), 'utf8').equals(out)).toBe(true);
    }
  });

  it('rejects a size that is not a non-negative integer', () => {
    expect(() => fitUtf8('x', -1)).toThrow(RangeError);
    expect(() => fitUtf8('x', 1.5)).toThrow(RangeError);
  });
});

describe('open-loop schedule', () => {
  it('places request i at start + i / rate', () => {
    expect(intendedSendTime(1000, 100, 0)).toBe(1000);
    expect(intendedSendTime(1000, 100, 5)).toBe(1050);
  });

  it('counts the requests due, whatever was sent before', () => {
    expect(dueRequests(1000, 100, 999, 50)).toBe(0);
    expect(dueRequests(1000, 100, 1000, 50)).toBe(1);
    expect(dueRequests(1000, 100, 1009.9, 50)).toBe(1);
    expect(dueRequests(1000, 100, 1010, 50)).toBe(2);
    // A generator stalled for a second finds 100 more due at once, not one.
    expect(dueRequests(1000, 100, 2000, 500)).toBe(101);
    expect(dueRequests(1000, 100, 1_000_000, 50)).toBe(50);
  });

  it('agrees with the intended send times', () => {
    const start = 12.5;
    const rate = 333;
    for (let i = 0; i < 1000; i++) {
      const at = intendedSendTime(start, rate, i);
      expect(dueRequests(start, rate, at + 1e-6, 10_000)).toBeGreaterThanOrEqual(i + 1);
    }
  });

  it('rejects a rate that is not positive', () => {
    expect(() => dueRequests(0, 0, 10, 10)).toThrow(RangeError);
  });

  it('sizes a phase as rate × duration, at least one request', () => {
    expect(openLoopRequests(250, 4000)).toBe(1000);
    expect(openLoopRequests(0.1, 1000)).toBe(1);
  });
});

describe('percentiles and rates', () => {
  it('takes the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('summarizes unsorted latencies', () => {
    expect(summarizeLatencies([30, 10, 20])).toEqual({ count: 3, p50: 20, p99: 30, max: 30 });
    expect(summarizeLatencies([]).count).toBe(0);
  });

  it('computes records per second over a window', () => {
    expect(ratePerSecond(500, 1000, 3000)).toBe(250);
    expect(ratePerSecond(500, 3000, 3000)).toBeNaN();
  });
});

describe('label probes', () => {
  it('reads the probes folded in (mod 4) from a reward sum of whole rewards plus quarters', () => {
    expect(probeQuarters(1234)).toBe(0);
    expect(probeQuarters(1234 + PROBE_REWARD)).toBe(1);
    expect(probeQuarters(1234 + 3 * PROBE_REWARD)).toBe(3);
    expect(probeQuarters(1234 + 4 * PROBE_REWARD)).toBe(0);
  });

  it('stays exact when quarters and whole rewards are summed in any order', () => {
    let sum = 0;
    for (let i = 0; i < 100_000; i++) sum += i % 7 === 0 ? PROBE_REWARD : i % 2;
    const quarters = Math.ceil(100_000 / 7);
    expect(probeQuarters(sum)).toBe(quarters % 4);
  });

  it('fails loudly when another label carried a fractional reward', () => {
    expect(() => probeQuarters(10.1)).toThrow(/fractional reward/);
  });
});

describe('request ids', () => {
  it('carry their phase and index', () => {
    const id = requestIdOf('load80-spam', 42);
    expect(id).toBe('load80-spam:42');
    expect(phaseOf(id)).toBe('load80-spam');
    expect(indexOf(id)).toBe(42);
    expect(phaseOf('no-phase')).toBe('no-phase');
    expect(indexOf('no-phase')).toBeNaN();
  });
});
