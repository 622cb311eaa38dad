// `dynab report` end to end: records on the real broker's topics, the command run in-process,
// and the HTML it wrote opened offline in headless Chromium, which must show every chart with
// the expected series. The page and its screenshot are kept under test-artifacts/ (gitignored).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSeededRandom } from '../../../lib/bandit/random.ts';
import { loadCodecs } from '../../../lib/codec/avro-codec.ts';
import type {
  DecisionMade,
  ExperimentStatistics,
  RewardResolved,
  VariantStatistics,
} from '../../../lib/contracts/events.ts';
import { topicNames, topicSpecs } from '../../../lib/contracts/topics.ts';
import type { OutRecord } from '../../../lib/event-log/event-log.ts';
import { runReportCommand } from '../../../services/cli/report-command.ts';
import { capturePage, ensureChromium } from '../../support/chromium.ts';
import { openTestEventLog, testBrokers, uniqueName } from '../../support/kafka-test-kit.ts';
import { experimentFixture } from '../../support/pipeline-harness.ts';

const ARTIFACTS = fileURLToPath(new URL('../../../test-artifacts/report/', import.meta.url));
const T0 = 1_700_000_000_000;
const codecs = loadCodecs();

interface RenderedChart {
  readonly id: string;
  readonly series: readonly { name: string; points: number }[];
  readonly paintedPixels: number;
}

function variantStats(variant: string, probabilityBest: number): VariantStatistics {
  return {
    variant,
    shadow: false,
    rewards: 10,
    mean: 0.5,
    lower95: 0.4,
    upper95: 0.6,
    probabilityBest,
    expectedLoss: 0.01,
    zScore: null,
    pValue: null,
    assigned: 10,
    expectedAssigned: 10,
    anytimeLower95: null,
    anytimeUpper95: null,
    differenceLower95: null,
    differenceUpper95: null,
    anytimePValue: null,
  };
}

function unescapeText(html: string): string {
  return html.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

describe('dynab report in a browser', () => {
  let browser: string;
  beforeAll(() => {
    browser = ensureChromium();
  });

  it('renders every chart with the expected series, offline', async () => {
    const prefix = `${uniqueName('report')}.`;
    const topics = topicNames(prefix);
    const eventLog = openTestEventLog();
    await eventLog.ensureTopics(topicSpecs(topics, 2));
    const experiment = uniqueName('spam');
    const definition = experimentFixture({ experiment, shadowVariants: ['shadow'] });
    const random = createSeededRandom(7);
    const rates: Record<string, number> = { champion: 0.7, challenger: 0.8, shadow: 0.5 };
    const records: OutRecord[] = [
      { topic: topics.experiments, key: experiment, value: codecs.experiment.encode(definition) },
    ];
    for (let i = 0; i < 400; i++) {
      const variant = i % 10 === 9 ? 'shadow' : i % 2 === 0 ? 'champion' : 'challenger';
      const at = T0 + i * 100;
      const reward: RewardResolved = {
        requestId: `r-${i}`,
        experiment,
        variant,
        reward: random() < (rates[variant] ?? 0) ? 1 : 0,
        propensity: 0.5,
        resolution: 'label',
        predictionTime: at - 50,
        labelTime: at,
        labelSource: 'test',
        resolvedAt: at,
      };
      records.push({
        topic: topics.rewards,
        key: reward.requestId,
        value: codecs.reward.encode(reward),
      });
    }
    for (let k = 0; k < 10; k++) {
      const p = 0.5 + k * 0.05;
      const stats: ExperimentStatistics = {
        experiment,
        revision: 1,
        state: 'running',
        variants: [variantStats('champion', 1 - p), variantStats('challenger', p)],
        sampleRatio: null,
        stopping: {
          rule: 'glr',
          leader: 'challenger',
          statistic: k,
          threshold: 3,
          satisfied: k === 9,
          detail: '',
        },
        caveats: [],
        computedAt: T0 + k * 4000,
      };
      records.push({
        topic: topics.experimentStats,
        key: experiment,
        value: codecs['experiment-stats'].encode(stats),
      });
    }
    const decision: DecisionMade = {
      experiment,
      kind: 'winner',
      variant: 'challenger',
      revision: 1,
      applied: true,
      rule: 'glr',
      reason: 'challenger beats champion <at δ = 0.05>',
      decidedAt: T0 + 36_000,
    };
    records.push({
      topic: topics.decisions,
      key: experiment,
      value: codecs.decision.encode(decision),
    });
    const producer = await eventLog.createProducer();
    await producer.send(records);
    await producer.close();

    await mkdir(ARTIFACTS, { recursive: true });
    const out = join(ARTIFACTS, 'report.html');
    let stdout = '';
    let stderr = '';
    const status = await runReportCommand(
      [experiment, '--out', out, '--true-rates', 'champion=0.7,challenger=0.8'],
      {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        env: { DYNAB_BROKERS: testBrokers().join(','), DYNAB_TOPIC_PREFIX: prefix },
        now: () => T0 + 60_000,
        readText: () => Promise.reject(new Error('unused')),
      },
    );
    expect(stderr).toBe('');
    expect(status).toBe(0);
    expect(stdout).toContain(out);

    const page = await capturePage(browser, out, join(ARTIFACTS, 'report.png'), {
      width: 1280,
      height: 4200,
    });
    expect(page.dom).toContain('data-rendered="true"');
    const match = /<pre id="rendered-series">([^<]*)<\/pre>/.exec(page.dom);
    const rendered = JSON.parse(unescapeText(match?.[1] ?? '{}')) as {
      chartLibrary?: string;
      charts?: RenderedChart[];
    };
    expect(rendered.chartLibrary).toMatch(/^4\./);
    const charts = rendered.charts ?? [];
    const variants = ['champion', 'challenger'];
    const each = (points: number) => variants.map((name) => ({ name, points }));
    // 360 served rewards in 40 batches of 9; the shadow's rewards stay out. P(best) has one
    // point per statistics record, and the decision drawn as a vertical line of two points.
    const expected: [string, { name: string; points: number }[]][] = [
      ['cumulative-reward', each(40)],
      ['reward-rate', each(40)],
      ['traffic-share', each(40)],
      ...Array.from({ length: 6 }, (_, i): [string, { name: string; points: number }[]] => [
        `posterior-${i}`,
        each(101),
      ]),
      ['probability-best', [...each(10), { name: 'decision: challenger', points: 2 }]],
      ['regret', [{ name: 'expected regret', points: 40 }]],
    ];
    expect(charts.map((c) => c.id)).toEqual(expected.map(([id]) => id));
    for (const [id, series] of expected) {
      const chart = charts.find((c) => c.id === id);
      expect(chart?.series, id).toEqual(series);
      expect(chart?.paintedPixels, id).toBeGreaterThan(1000);
    }
    // The decision, with its reason escaped, is on the page.
    expect(page.dom).toContain('winner: challenger');
    expect(page.dom).toContain('challenger beats champion &lt;at δ = 0.05&gt;');
  });
});
