import { describe, expect, it } from 'vitest';
import { CpuMeter, processCpuMs } from '../../bench/process-cpu.ts';

describe('processCpuMs', () => {
  it('reads this process and, on Linux, another one; a missing pid reads as undefined', () => {
    expect(processCpuMs(process.pid)).toBeGreaterThan(0);
    if (process.platform === 'linux') expect(processCpuMs(process.ppid)).toBeGreaterThanOrEqual(0);
    expect(processCpuMs(undefined)).toBeUndefined();
    expect(processCpuMs(2 ** 22 + 12_345)).toBeUndefined();
  });

  it('meters CPU per item since it was made, leaving out what it cannot read', () => {
    const meter = new CpuMeter(
      new Map([
        ['me', process.pid],
        ['gone', undefined],
      ]),
    );
    const before = processCpuMs(process.pid) ?? 0;
    let spin = 0;
    while ((processCpuMs(process.pid) ?? 0) - before < 30) spin++;
    const perItem = meter.perItemMicros(10);
    expect(spin).toBeGreaterThan(0);
    expect(Object.keys(perItem)).toEqual(['me']);
    // At least the 30 ms spun, spread over 10 items.
    expect(perItem['me']).toBeGreaterThanOrEqual(3_000);
  });
});
