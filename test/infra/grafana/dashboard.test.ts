// The Grafana dashboard shipped in infra/grafana: valid JSON, and every expression names series
// that dynab's services export (lib/metrics/series.ts), so a renamed series breaks this test
// rather than a panel; every series has a panel.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DYNAB_SERIES_NAMES } from '../../../lib/metrics/series.ts';

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly { readonly expr: string }[];
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../../infra/grafana/dynab-dashboard.json', import.meta.url), 'utf8'),
) as {
  readonly uid: string;
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly { readonly definition?: string }[] };
};

/** Series named by a PromQL expression (histogram samples map to their histogram). */
function seriesOf(expr: string): string[] {
  return (expr.match(/\bdynab_[a-z_]+/g) ?? []).map((name) => {
    if (DYNAB_SERIES_NAMES.includes(name)) return name;
    const histogram = name.replace(/_(bucket|count|sum)$/, '');
    return DYNAB_SERIES_NAMES.includes(histogram) ? histogram : name;
  });
}

describe('infra/grafana/dynab-dashboard.json', () => {
  const expressions = [
    ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => t.expr)),
    ...dashboard.templating.list.flatMap((v) => (v.definition === undefined ? [] : [v.definition])),
  ];

  it('has panels with expressions', () => {
    expect(dashboard.uid).toBe('dynab-overview');
    const graphs = dashboard.panels.filter((panel) => panel.type !== 'row');
    expect(graphs.length).toBeGreaterThan(10);
    for (const panel of graphs) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  it('names only series the services export', () => {
    for (const expr of expressions) {
      const names = seriesOf(expr);
      expect(names.length, expr).toBeGreaterThan(0);
      for (const name of names) expect(DYNAB_SERIES_NAMES, expr).toContain(name);
    }
  });

  it('shows every series the services export', () => {
    const shown = new Set(expressions.flatMap(seriesOf));
    for (const name of DYNAB_SERIES_NAMES) expect(shown, name).toContain(name);
  });
});
