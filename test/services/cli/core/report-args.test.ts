import { describe, expect, it } from 'vitest';
import { parseReportArgs } from '../../../../services/cli/core/report-args.ts';

describe('parseReportArgs', () => {
  it('takes the experiment, an output file and true rates', () => {
    expect(
      parseReportArgs(['spam', '--out', 'r.html', '--true-rates', 'champion=0.8,challenger=0.9']),
    ).toEqual({
      experiment: 'spam',
      out: 'r.html',
      trueRates: new Map([
        ['champion', 0.8],
        ['challenger', 0.9],
      ]),
    });
  });
  it('names the file after the experiment by default, safely', () => {
    expect(parseReportArgs(['a/b c'])).toEqual({
      experiment: 'a/b c',
      out: 'dynab-report-a_b_c.html',
      trueRates: null,
    });
  });
  it('answers help, and refuses what it does not know', () => {
    expect(parseReportArgs(['--help'])).toBe('help');
    expect(() => parseReportArgs([])).toThrow(/experiment is required/);
    expect(() => parseReportArgs(['x', '--colour'])).toThrow(/unknown option --colour/);
    expect(() => parseReportArgs(['x', 'y'])).toThrow(/unexpected argument y/);
    expect(() => parseReportArgs(['x', '--out'])).toThrow(/--out needs a file name/);
    expect(() => parseReportArgs(['x', '--true-rates', 'a'])).toThrow(/"a" is not VARIANT=RATE/);
  });
});
