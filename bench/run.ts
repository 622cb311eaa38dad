// `npm run bench`: prints the benchmark results as Markdown, ready for BENCHMARKS.md.
//   npm run bench                      # both benchmarks, embedded broker
//   npm run bench -- decisions         # only the per-decision cost (every policy)
//   npm run bench -- pipeline --requests 20000 --samples 30
//   npm run bench -- decisions-quality [--runs 200 --horizon 20000 --regret-horizon 100000 --snapshot-every 100
//                                       --mde-runs 200 --mde-horizon 200000 --mde-snapshot-every 500
//                                       --prior-runs 1000 --unstated]
//                                      # decision-quality scorecard (not in "all"): see BENCHMARKS.md
//   npm run bench -- pending --pending 1000000   # memory and join rate with 1M pending joins (not in "all")
//   npm run bench -- restore [--sizes 10000,100000,1000000]
//                                      # restore from the changelog against state size (not in "all")
//   npm run bench -- state-rss [--pending 1000000,10000000] [--configs before,bounded,arena2,index-tables]
//                              [--before <git revision>] [--reads 100000] [--read-rounds 0]
//                                      # RSS and disk of the state store with N pending joins (not in "all")
//   npm run bench -- scale [--requests N] [--partitions 4] [--quick] [--update-baseline] [--keep-logs]
//                                      # backend scale (not in "all"; ~10 min): see BENCHMARKS.md
//   npm run bench -- label-ingestion [--kafka-records 50000] [--kinesis-records 10000] [--shards 4]
//                                      # label ingestion from Kafka and Kinesis (emulator), each beside
//                                      # the same source read with no mapping work (not in "all")
//   npm run bench -- spam-models       # CPU per mail of the local endpoint's spam models (not in "all")
//   npm run bench -- codec             # CPU per message of the codec beside avsc alone (not in "all")
//   npm run bench -- audit-replay [--requests 1000000] [--replay-records 200000] [--audit-ids 20]
//                                      # audit latency on N requests and replay beside the live
//                                      # aggregator, one run on one broker (not in "all")
// DYNAB_BROKERS points the pipeline and scale benchmarks at an existing cluster.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  DECISION_BENCH_ROUNDS,
  POLICY_NAMES,
  runDecisionBench,
  type PolicyBenchRow,
} from './decision-bench.ts';
import {
  CALIBRATION_MIN_SAMPLES,
  calibrationMaxErrorPoints,
  DEFAULT_QUALITY_OPTIONS,
  runDecisionQuality,
  scorecardJson,
  type CalibrationBucket,
  type Rate,
} from './decision-quality.ts';
import {
  auditReplaySummary,
  formatAuditReplay,
  runAuditReplayBench,
} from './audit-replay-bench.ts';
import { runLabelIngestionBench } from './label-ingestion-bench.ts';
import { runPendingJoinsBench } from './pending-joins-bench.ts';
import { runPipelineBench } from './pipeline-bench.ts';
import { runSpamModelBench } from './spam-model-bench.ts';
import { runCodecBench } from './codec-bench.ts';
import { runRestoreBench } from './restore-bench.ts';
import {
  compareWithBaseline,
  formatBaselineComparison,
  hasRegression,
  REGRESSION_TOLERANCE,
  sameRunOptions,
} from './scale-baseline.ts';
import { runScaleBench } from './scale-bench.ts';
import {
  BEFORE_REVISION,
  formatStateRss,
  runStateRssBench,
  STATE_RSS_CONFIGS,
  type StateRssConfig,
} from './state-rss-bench.ts';
import { DEFAULT_SCALE_REQUESTS, QUICK_SCALE_REQUESTS } from './scale-results.ts';
import { formatScaleReport, scaleSummary } from './scale-report.ts';

function textFlag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

const which =
  process.argv.slice(2).find((a) => !a.startsWith('--') && Number.isNaN(Number(a))) ?? 'all';
const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

say(
  `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
);

if (which === 'all' || which === 'decisions') {
  const rows = runDecisionBench();
  say(`\n### Per-decision cost (median of ${DECISION_BENCH_ROUNDS} rounds)\n`);
  say(
    '| arms | per-request Thompson sampling | alias draw from the snapshot plan | ratio | static weights | plan build per snapshot |',
  );
  say('|---:|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    say(
      `| ${row.arms} | ${(row.perRequestThompsonNs / 1000).toFixed(3)} µs | ${(row.aliasDrawNs / 1000).toFixed(3)} µs | ${(row.perRequestThompsonNs / row.aliasDrawNs).toFixed(1)}× | ${(row.staticWeightsNs / 1000).toFixed(3)} µs | ${row.planBuildMs.toFixed(2)} ms |`,
    );
  }

  const arms = rows.map((row) => row.arms);
  const cell = (policy: string, arm: number): PolicyBenchRow | undefined =>
    rows.find((row) => row.arms === arm)?.policies.find((p) => p.policy === policy);
  const duration = (ms: number | undefined): string =>
    ms === undefined ? '–' : ms < 1 ? `${(ms * 1000).toFixed(1)} µs` : `${ms.toFixed(2)} ms`;
  say(
    `\n### Per policy: plan build per snapshot and alias draw per decision (median of ${DECISION_BENCH_ROUNDS} rounds)\n`,
  );
  say(
    `| policy | ${arms.map((k) => `build, ${k} arms`).join(' | ')} | ${arms.map((k) => `draw, ${k} arms`).join(' | ')} |`,
  );
  say(`|---|${arms.map(() => '---:|').join('')}${arms.map(() => '---:|').join('')}`);
  for (const policy of POLICY_NAMES) {
    const builds = arms.map((k) => duration(cell(policy, k)?.planBuildMs));
    const draws = arms.map((k) => {
      const ns = cell(policy, k)?.drawNs;
      return ns === undefined ? '–' : `${(ns / 1000).toFixed(3)} µs`;
    });
    say(`| ${policy} | ${builds.join(' | ')} | ${draws.join(' | ')} |`);
  }
}

if (which === 'all' || which === 'pipeline') {
  const requests = flag('requests', 20_000);
  const samples = flag('samples', 30);
  const snapshotIntervalMs = flag('snapshot-ms', 50);
  const brokers = (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  const result = await runPipelineBench({
    requests,
    latencySamples: samples,
    partitions: 4,
    brokers,
    snapshotIntervalMs,
  });
  say(
    `\n### End to end (${requests} requests, 4 partitions, snapshot interval ${snapshotIntervalMs} ms)\n`,
  );
  say('| measure | value |');
  say('|---|---:|');
  say(`| requests → assignments | ${result.assignmentsPerSecond.toFixed(0)} req/s |`);
  say(
    `| requests → predictions (model invoked) | ${result.predictionsPerSecond.toFixed(0)} req/s |`,
  );
  say(
    `| label → router sees the new posterior, median | ${result.labelToRouterMs.median.toFixed(0)} ms |`,
  );
  say(
    `| label → router, p95 / max (${samples} samples) | ${result.labelToRouterMs.p95.toFixed(0)} / ${result.labelToRouterMs.max.toFixed(0)} ms |`,
  );
}

if (which === 'decisions-quality') {
  const options = {
    ...DEFAULT_QUALITY_OPTIONS,
    runs: Math.round(flag('runs', DEFAULT_QUALITY_OPTIONS.runs)),
    horizon: Math.round(flag('horizon', DEFAULT_QUALITY_OPTIONS.horizon)),
    regretHorizon: Math.round(flag('regret-horizon', DEFAULT_QUALITY_OPTIONS.regretHorizon)),
    snapshotEvery: Math.round(flag('snapshot-every', DEFAULT_QUALITY_OPTIONS.snapshotEvery)),
    mdeSnapshotEvery: Math.round(
      flag('mde-snapshot-every', DEFAULT_QUALITY_OPTIONS.mdeSnapshotEvery),
    ),
    mdeRuns: Math.round(flag('mde-runs', DEFAULT_QUALITY_OPTIONS.mdeRuns)),
    mdeHorizon: Math.round(flag('mde-horizon', DEFAULT_QUALITY_OPTIONS.mdeHorizon)),
    priorRuns: Math.round(flag('prior-runs', DEFAULT_QUALITY_OPTIONS.priorRuns)),
    stated: !process.argv.includes('--unstated'),
  };
  const scores = runDecisionQuality(options);
  const rate = (r: Rate): string =>
    `${(r.value * 100).toFixed(1)}% [${(r.lower * 100).toFixed(1)}, ${(r.upper * 100).toFixed(1)}] (${r.count}/${r.of})`;
  say(
    `\n### Decision quality (${options.runs} seeded runs per cell and ${options.horizon} requests per run, except the 5% vs 6% cell: ${options.mdeRuns} runs of ${options.mdeHorizon} with a snapshot every ${options.mdeSnapshotEvery} requests; elsewhere a snapshot every ${options.snapshotEvery} requests; rewards one snapshot late, δ = ${options.delta}, tolerance ${options.tolerance}, min ${options.minRewards} rewards; ${options.stated ? "each cell states the champion's rate as the prior and its gap as the minimum detectable effect" : 'prior Beta(1, 1) and no minimum detectable effect stated'})\n`,
  );
  say(
    '| goal / rule | A/A: winner declared | A/A: P(best) ≥ 0.95 reached | gap | runs × horizon | stopped | correct | median samples | GK bound | fixed-horizon size | mean reported P(best) at stop | calibration: largest error, snapshots / stops (points) |',
  );
  say('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const points = (buckets: readonly CalibrationBucket[]): string =>
    calibrationMaxErrorPoints(buckets)?.toFixed(1) ?? '–';
  for (const s of scores) {
    for (const [g, gap] of s.gaps.entries()) {
      const head =
        g === 0
          ? `| ${s.goal} / ${s.rule} | ${rate(s.aaFalseWinner)} | ${rate(s.aaProbabilityBestCrossed)} `
          : '| | | ';
      say(
        `${head}| ${gap.rates.join(' vs ')} | ${gap.runs} × ${gap.horizon} | ${rate(gap.stopped)} | ${rate(gap.correct)} | ${gap.medianSamples ?? '–'} | ${gap.gkBound.toFixed(0)} | ${gap.fixedHorizon} | ${gap.meanReportedProbabilityBest?.toFixed(3) ?? '–'} | ${points(gap.calibration.snapshots)} / ${points(gap.calibration.stops)} |`,
      );
    }
  }
  say(
    `\nCalibration of the leader's reported P(best), pooled over the cells with a better arm (${scores[0]?.gaps.map((g) => g.rates.join(' vs ')).join(', ') ?? ''}): observed = how often the leader was the better arm; the largest error counts buckets with ≥ ${CALIBRATION_MIN_SAMPLES} samples.\n`,
  );
  const calibrationRows = (
    goalRule: string,
    calibration: Readonly<Record<'snapshots' | 'stops', readonly CalibrationBucket[]>>,
  ): void => {
    for (const at of ['snapshots', 'stops'] as const) {
      for (const b of calibration[at]) {
        if (b.meanReported === null) continue;
        const closing = b.upper === 1 ? ']' : ')';
        say(
          `| ${goalRule} | ${at === 'snapshots' ? 'every snapshot' : 'stop'} | [${b.lower}, ${b.upper}${closing} | ${b.observed.of} | ${b.meanReported.toFixed(3)} | ${rate(b.observed)} | ${(100 * (b.meanReported - b.observed.value)).toFixed(1)} |`,
        );
      }
    }
  };
  const calibrationHead = (): void => {
    say(
      '| goal / rule | at | reported P(best) | samples | mean reported | observed | error (points) |',
    );
    say('|---|---|---|---:|---:|---:|---:|');
  };
  calibrationHead();
  for (const s of scores) calibrationRows(`${s.goal} / ${s.rule}`, s.calibration);
  const prior = scores[0]?.priorCell;
  if (prior !== undefined) {
    say(
      `\nCalibration when each run's two rates are drawn from the experiment's own prior Beta(${prior.prior.alpha}, ${prior.prior.beta}) (${prior.runs} runs of ${prior.horizon} requests; stopped: ${scores.map((s) => `${s.goal} ${rate(s.priorCell.stopped)}`).join(', ')}):\n`,
    );
    calibrationHead();
    for (const s of scores) calibrationRows(`${s.goal} / ${s.rule}`, s.priorCell.calibration);
  }
  for (const s of scores) {
    if (s.regretOverLaiRobbins !== null) {
      say(
        `\nregret of ${s.goal}'s allocation at T = ${options.regretHorizon} on ${s.gaps[1]?.rates.join(' vs ') ?? ''}: ${s.regretOverLaiRobbins.toFixed(2)} × Lai–Robbins`,
      );
    }
  }
  say('\nA/A cells (a winner declared between identical variants):\n');
  say('| goal / rule | A/A rates | winner declared |');
  say('|---|---|---:|');
  for (const s of scores) {
    for (const c of s.aaCells) {
      say(`| ${s.goal} / ${s.rule} | ${c.rates.join(' vs ')} | ${rate(c.falseWinner)} |`);
    }
  }
  say('');
  for (const s of scores) say(JSON.stringify(scorecardJson(s)));
}

if (which === 'pending') {
  const pending = flag('pending', 1_000_000);
  const brokers = (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  const result = await runPendingJoinsBench(pending, brokers);
  say(`\n### ${pending.toLocaleString('en-US')} pending joins in one aggregator (RocksDB)\n`);
  say('| pending joins | process RSS | JS heap used |');
  say('|---:|---:|---:|');
  for (const [count, rss, heap] of result.rssSamples) {
    say(`| ${count.toLocaleString('en-US')} | ${rss.toFixed(0)} MiB | ${heap.toFixed(0)} MiB |`);
  }
  say('');
  say('| measure | value |');
  say('|---|---:|');
  say(`| predictions stored as pending joins | ${result.predictionsPerSecond.toFixed(0)} /s |`);
  say(
    `| labels joined (reward published, counts updated) | ${result.joinsPerSecond.toFixed(0)} /s |`,
  );
  say(`| RSS after all joins | ${result.rssAfterJoinsMiB.toFixed(0)} MiB |`);
}

if (which === 'restore') {
  const sizesFlag = process.argv[process.argv.indexOf('--sizes') + 1];
  const sizes = (
    process.argv.includes('--sizes') && sizesFlag !== undefined ? sizesFlag : '10000,100000,1000000'
  )
    .split(',')
    .map(Number);
  const brokers = (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  const rows = await runRestoreBench(sizes, brokers);
  say('\n### Restore from the changelog against state size (4 partitions)\n');
  say(
    '| pending joins (state) | changelog records | fold /s | empty disk: restore | records restored | restore rate | joins /s after | surviving disk: tail restore | tail records |',
  );
  say('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    const rate = r.fullRestoredRecords / Math.max(1e-3, r.fullRestoreMs / 1000);
    say(
      `| ${r.pending.toLocaleString('en-US')} | ${r.changelogRecords.toLocaleString('en-US')} | ${r.foldPerSecond.toFixed(0)} | ${(r.fullRestoreMs / 1000).toFixed(2)} s | ${r.fullRestoredRecords.toLocaleString('en-US')} | ${rate.toFixed(0)} /s | ${r.joinsPerSecond.toFixed(0)} | ${(r.tailRestoreMs / 1000).toFixed(2)} s | ${r.tailRestoredRecords.toLocaleString('en-US')} |`,
    );
  }
}

if (which === 'label-ingestion') {
  const count = (name: string, fallback: number): number => {
    const value = Number(textFlag(name) ?? fallback);
    return Number.isSafeInteger(value) && value > 0 ? value : fallback;
  };
  const rows = await runLabelIngestionBench({
    kafkaRecords: count('kafka-records', 50_000),
    kinesisRecords: count('kinesis-records', 10_000),
    shards: count('shards', 4),
    partitions: 4,
    brokers: (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== ''),
  });
  say('\n### Label ingestion (backlog read by one instance, 4 partitions / shards)\n');
  say('| source | work | records | labels | time | records /s |');
  say('|---|---|---:|---:|---:|---:|');
  for (const r of rows) {
    say(
      `| ${r.source} | ${r.mode} | ${r.records.toLocaleString('en-US')} | ${r.labels.toLocaleString('en-US')} | ${r.seconds.toFixed(2)} s | ${(r.records / r.seconds).toFixed(0)} |`,
    );
  }
}

if (which === 'spam-models') {
  const result = runSpamModelBench();
  say(
    `\n### Spam models: CPU per served mail (${result.mails.toLocaleString('en-US')} mails, ${result.meanChars.toFixed(0)} characters on average; median of ${result.rounds} rounds)\n`,
  );
  say('| recipe | vocabulary | token list, then predictNaiveBayes | compiled scorer | ratio |');
  say('|---|---:|---:|---:|---:|');
  for (const r of result.rows) {
    say(
      `| ${r.recipe} | ${r.vocabularySize.toLocaleString('en-US')} | ${r.tokenListMicros.toFixed(1)} µs | ${r.scorerMicros.toFixed(1)} µs | ${(r.scorerMicros / r.tokenListMicros).toFixed(2)} |`,
    );
  }
}

if (which === 'codec') {
  const result = runCodecBench();
  say(
    `\n### Codec: CPU per message, the codec's own reader and writer beside avsc alone (${result.messages.toLocaleString('en-US')} messages, median of ${result.rounds} rounds)\n`,
  );
  say('| operation | avsc alone | codec | ratio |');
  say('|---|---:|---:|---:|');
  for (const r of result.rows) {
    say(
      `| ${r.operation} | ${r.avscMicros.toFixed(2)} µs | ${r.oursMicros.toFixed(2)} µs | ${(r.oursMicros / r.avscMicros).toFixed(2)} |`,
    );
  }
}

if (which === 'audit-replay') {
  const result = await runAuditReplayBench({
    requests: Math.round(flag('requests', 1_000_000)),
    replayRecords: Math.round(flag('replay-records', 200_000)),
    partitions: 4,
    auditIds: Math.round(flag('audit-ids', 20)),
    coldCli: true,
    brokers: (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== ''),
    onProgress: (message) => process.stderr.write(`audit-replay: ${message}\n`),
  });
  say('');
  say(formatAuditReplay(result));
  say('');
  say(JSON.stringify(auditReplaySummary(result)));
}

if (which === 'state-rss') {
  const pendings = (textFlag('pending') ?? '1000000,10000000')
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  const configs = (textFlag('configs') ?? 'before,bounded')
    .split(',')
    .filter((c): c is StateRssConfig => (STATE_RSS_CONFIGS as readonly string[]).includes(c));
  const beforeRevision = textFlag('before') ?? BEFORE_REVISION;
  const rows = await runStateRssBench({
    pendings,
    configs,
    beforeRevision,
    reads: Math.round(flag('reads', 100_000)),
    readRounds: Math.round(flag('read-rounds', 0)),
    onProgress: (message) => process.stderr.write(`state-rss: ${message}\n`),
  });
  say(formatStateRss(rows, beforeRevision));
}

if (which === 'scale') {
  const quick = process.argv.includes('--quick');
  const requests = Math.round(
    flag('requests', quick ? QUICK_SCALE_REQUESTS : DEFAULT_SCALE_REQUESTS),
  );
  const partitions = Math.round(flag('partitions', 4));
  const brokers = (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  const result = await runScaleBench({
    requests,
    partitions,
    quick,
    brokers,
    keepLogs: process.argv.includes('--keep-logs'),
    onProgress: (message) => process.stderr.write(`scale: ${message}\n`),
  });
  say('');
  say(formatScaleReport(result));
  const summary = scaleSummary(result);
  const baselinePath = fileURLToPath(new URL('./scale-baseline.json', import.meta.url));
  say('\n### Against the baseline (bench/scale-baseline.json)\n');
  if (existsSync(baselinePath)) {
    const baseline = JSON.parse(await readFile(baselinePath, 'utf8')) as Record<string, unknown>;
    const comparisons = compareWithBaseline(summary, baseline);
    const recorded = JSON.stringify(baseline['run'] ?? null);
    say(
      `Flagged when worse than the baseline by more than ${Math.round((1 - REGRESSION_TOLERANCE) * 100)}% (throughputs below ${REGRESSION_TOLERANCE} × baseline, latencies above baseline / ${REGRESSION_TOLERANCE}). Baseline run: ${recorded}.\n`,
    );
    const comparable = sameRunOptions(summary['run'], baseline['run']);
    if (!comparable)
      say(
        'The baseline was recorded with other options (requests, partitions or --quick): the table is indicative only, and no run is flagged.\n',
      );
    say(formatBaselineComparison(comparisons, comparable));
    if (comparable) {
      for (const c of comparisons.filter((row) => row.status === 'REGRESSION'))
        say(`REGRESSION ${c.metric}: ${c.current} vs baseline ${c.baseline}`);
      if (!hasRegression(comparisons)) say('\nNo regression against the baseline.');
    }
  } else {
    say('No baseline yet: run with --update-baseline to record one.');
  }
  if (process.argv.includes('--update-baseline')) {
    await writeFile(baselinePath, `${JSON.stringify(summary, null, 2)}\n`);
    say(`\nBaseline written to bench/scale-baseline.json.`);
  }
  say('');
  say(JSON.stringify(summary));
}
