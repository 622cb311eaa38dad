// The HTML of `dynab report`: one file that opens without a network, with the charting
// library (Chart.js's UMD build, passed in by the shell) and the data inlined. Once every chart
// is drawn, the page writes what it rendered (chart id, series names, points, painted pixels)
// as JSON into <pre id="rendered-series">, so a headless browser can check it from the DOM.
import type { ReportData } from './report-data.ts';

export interface ChartLibrary {
  readonly name: string;
  readonly version: string;
  /** Source of a build that defines the global `Chart`. */
  readonly source: string;
}

/** Text safe inside a <script> element: no "</script", no "<!--". */
function scriptSafe(text: string): string {
  return text.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** The ids of the charts the page draws for this data, in page order. */
export function reportChartIds(data: ReportData): string[] {
  return [
    'cumulative-reward',
    'reward-rate',
    'traffic-share',
    ...data.checkpoints.map((_, i) => `posterior-${i}`),
    'probability-best',
    ...(data.regret === null ? [] : ['regret']),
  ];
}

// Runs in the page. Plain ES2017 so any current browser takes it.
const PAGE_SCRIPT = String.raw`
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var palette = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#e377c2', '#17becf'];
  var colour = function (i) { return palette[i % palette.length]; };
  var charts = [];
  Chart.defaults.animation = false;
  Chart.defaults.responsive = false;
  function lineChart(id, labels, series, options) {
    var chart = new Chart(document.getElementById(id), {
      type: 'line',
      data: {
        labels: labels,
        datasets: series.map(function (s, i) {
          return {
            label: s.name, borderColor: s.colour || colour(i), backgroundColor: s.colour || colour(i),
            // On a linear x axis every value is an {x, y} point.
            data: options.linearX ? s.values.map(function (v, j) {
              return { x: s.xs ? s.xs[j] : labels[j], y: v };
            }) : s.values,
            pointRadius: options.points ? 2 : 0, borderWidth: 2, spanGaps: true,
            borderDash: s.dash || [], fill: options.fill ? 'stack' : false
          };
        })
      },
      options: {
        plugins: { title: { display: true, text: options.title }, legend: { position: 'bottom' } },
        scales: {
          x: { type: options.linearX ? 'linear' : 'category',
               title: { display: true, text: options.x }, min: options.xMin, max: options.xMax },
          y: { title: { display: true, text: options.y }, stacked: !!options.fill,
               min: options.yMin, max: options.yMax }
        }
      }
    });
    charts.push({ id: id, chart: chart });
  }
  var batchAxis = 'batch of ' + data.batchSize + ' rewards (in order of resolution)';
  lineChart('cumulative-reward', data.batchLabels, data.cumulativeReward,
    { title: 'Cumulative reward per variant', x: batchAxis, y: 'Σ reward' });
  lineChart('reward-rate', data.batchLabels, data.rewardRate,
    { title: 'Reward rate per batch', x: batchAxis, y: 'mean reward', points: true });
  lineChart('traffic-share', data.batchLabels, data.trafficShare,
    { title: 'Traffic share per batch (rewarded requests)', x: batchAxis, y: 'share',
      fill: true, yMin: 0, yMax: 1 });
  data.checkpoints.forEach(function (c, i) {
    lineChart('posterior-' + i, data.grid, c.densities,
      { title: 'After ' + c.rewards + ' rewards (' + c.atSeconds + ' s)', x: 'mean reward',
        y: 'Beta density', linearX: true, xMin: 0, xMax: 1 });
  });
  // The decision as a dashed vertical line at the moment it fired.
  var pBest = data.probabilityBest.slice();
  if (data.decision !== null) {
    pBest.push({ name: 'decision: ' + data.decision.variant, values: [0, 1],
      xs: [data.decision.atSeconds, data.decision.atSeconds], colour: '#444', dash: [6, 4] });
  }
  lineChart('probability-best', data.probabilityBestSeconds, pBest,
    { title: 'P(best) over time (decider statistics)', x: 'seconds since the first reward',
      y: 'P(best)', yMin: 0, yMax: 1, linearX: true });
  if (data.regret !== null) {
    lineChart('regret', data.batchLabels, [data.regret],
      { title: 'Expected cumulative regret (true rates known)', x: batchAxis, y: 'regret' });
  }
  function painted(canvas) {
    var pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    var count = 0;
    for (var i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) count++;
    return count;
  }
  var summary = charts.map(function (c) {
    return {
      id: c.id,
      type: c.chart.config.type,
      series: c.chart.data.datasets.map(function (d, i) {
        return { name: d.label, points: c.chart.getDatasetMeta(i).data.length };
      }),
      paintedPixels: painted(c.chart.canvas)
    };
  });
  var out = document.getElementById('rendered-series');
  out.textContent = JSON.stringify({ chartLibrary: Chart.version, charts: summary });
  document.body.setAttribute('data-rendered', 'true');
})();
`;

function fmtTime(ms: number | null): string {
  return ms === null ? '—' : new Date(ms).toISOString();
}

export function renderReportHtml(data: ReportData, library: ChartLibrary): string {
  const canvas = (id: string, width = 760, height = 320): string =>
    `<canvas id="${id}" width="${width}" height="${height}"></canvas>`;
  const decision =
    data.decision === null
      ? '<p>No decision yet.</p>'
      : `<p class="decision"><b>${escapeHtml(data.decision.kind)}: ${escapeHtml(data.decision.variant)}</b>` +
        ` (${data.decision.applied ? 'applied to routing' : 'reported only'}, rule ${escapeHtml(data.decision.rule)})` +
        ` at ${fmtTime(data.decision.decidedAt)}, ${data.decision.atSeconds} s after the first reward` +
        `${data.decision.batch === null ? '' : `, during batch ${data.decision.batch}`}.</p>` +
        `<p class="reason">${escapeHtml(data.decision.reason)}</p>`;
  const trueRates =
    data.trueRates.length === 0
      ? ''
      : `<p>True rates: ${data.trueRates.map((t) => `${escapeHtml(t.variant)} = ${t.rate.toFixed(3)}`).join(', ')}</p>`;
  const notes = data.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('');
  const grid = data.checkpoints.map((_, i) => canvas(`posterior-${i}`, 370, 240)).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dynab report: ${escapeHtml(data.experiment)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; }
.decision { font-size: 16px; } .reason, .note, footer { color: #555; font-size: 13px; }
pre#rendered-series { display: none; }
</style>
</head>
<body>
<h1>dynab report: ${escapeHtml(data.experiment)}</h1>
<p>${data.totalRewards} rewards of ${data.variants.length} variants (${data.variants.map(escapeHtml).join(', ')}), from ${fmtTime(data.firstRewardAt)} to ${fmtTime(data.lastRewardAt)}.</p>
${trueRates}
<h2>Decision</h2>
${decision}
${notes}
<h2>Cumulative reward</h2>
${canvas('cumulative-reward')}
<h2>Reward rate per batch</h2>
${canvas('reward-rate')}
<h2>Traffic share over time</h2>
${canvas('traffic-share')}
<h2>Beta posteriors at checkpoints</h2>
<div class="grid">
${grid}
</div>
<h2>P(best) over time</h2>
${canvas('probability-best')}
${data.regret === null ? '' : `<h2>Regret</h2>\n${canvas('regret')}`}
<footer>Generated ${fmtTime(data.generatedAt)} by dynab report; charts drawn by ${escapeHtml(library.name)} ${escapeHtml(library.version)} (MIT), inlined.</footer>
<pre id="rendered-series"></pre>
<script id="report-data" type="application/json">${scriptSafe(JSON.stringify(data))}</script>
<script>${scriptSafe(library.source)}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
