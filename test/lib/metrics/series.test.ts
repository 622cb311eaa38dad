// The series catalogue and its documentation: README's "Metrics and health" lists exactly the
// series the services export, so the table cannot drift from the code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DYNAB_SERIES_NAMES } from '../../../lib/metrics/series.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const section = readme.slice(
  readme.indexOf('## Metrics and health'),
  readme.indexOf('\n## ', readme.indexOf('## Metrics and health') + 1),
);

describe('series catalogue', () => {
  it('follows the naming conventions', () => {
    expect(new Set(DYNAB_SERIES_NAMES).size).toBe(DYNAB_SERIES_NAMES.length);
    for (const name of DYNAB_SERIES_NAMES) {
      expect(name).toMatch(/^dynab_[a-z_]+$/);
      // Durations in seconds; counters end in _total (dynab_reward_sum is a gauge).
      expect(name).not.toMatch(/_(ms|milliseconds)$/);
    }
  });

  it('is documented in the README, series by series', () => {
    expect(section.length).toBeGreaterThan(100);
    const documented = new Set(section.match(/`dynab_[a-z_]+`/g)?.map((s) => s.slice(1, -1)));
    expect([...documented].sort()).toEqual([...DYNAB_SERIES_NAMES].sort());
  });
});
