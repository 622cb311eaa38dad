import { describe, expect, it } from 'vitest';
import { buildReportData } from '../../../../services/cli/core/report-data.ts';
import { renderReportHtml, reportChartIds } from '../../../../services/cli/core/report-html.ts';

const data = buildReportData({
  experiment: '<b>exp</b>',
  variants: ['a', 'b'],
  prior: { alpha: 1, beta: 1 },
  rewards: [],
  statistics: [],
  decisions: [
    {
      experiment: '<b>exp</b>',
      kind: 'winner',
      variant: 'b',
      revision: 1,
      applied: true,
      rule: 'glr',
      reason: 'x < y </script><script>alert(1)</script>',
      decidedAt: 0,
    },
  ],
  trueRates: new Map([['a', 0.5]]),
  generatedAt: 0,
});
const library = { name: 'Lib', version: '1.0', source: 'window.Chart = {}; // "</script>"' };

describe('renderReportHtml', () => {
  const html = renderReportHtml(data, library);

  it('inlines the library and the data: no network needed', () => {
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link/);
    expect(html).toContain('window.Chart = {}');
  });

  it('keeps text from records from closing a script or adding markup', () => {
    // Only the page's own three scripts close.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).toContain('&lt;b&gt;exp&lt;/b&gt;');
    const json = /<script id="report-data" type="application\/json">(.*?)<\/script>/s.exec(html);
    expect(JSON.parse(json?.[1] ?? '')).toEqual(JSON.parse(JSON.stringify(data)));
  });

  it('has a canvas for every chart it draws', () => {
    const ids = reportChartIds(data);
    expect(ids).toEqual([
      'cumulative-reward',
      'reward-rate',
      'traffic-share',
      'posterior-0',
      'probability-best',
      'regret',
    ]);
    for (const id of ids) expect(html).toContain(`<canvas id="${id}"`);
  });
});
