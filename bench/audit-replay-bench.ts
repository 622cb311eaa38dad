// `dynab audit` and `dynab replay` on a topic set the size of a busy day, in one run on one broker:
//   1. fill: N requests (256-byte payloads), one every REQUEST_SPACING_MS of record time ending
//      now, each with the records the pipeline writes for it: its assignment (2 ms later), its
//      prediction (40 ms later), a label (LABEL_DELAY_MS later) and the reward the aggregator
//      writes on that label (5 ms after it), all keyed by the request id on 4 partitions and
//      produced in batches;
//   2. live aggregator: started in-process on those predictions and labels (as
//      bench/pending-joins-bench.ts), it joins every prediction with its label; timed from its
//      first committed batch of rewards to its last reward. It processes a day of backlog in minutes, so its rewards carry
//      today's timestamps, not the label times a live pipeline gives them: they go to a topic of
//      their own (LIVE_REWARDS_SUFFIX), and the audited rewards topic holds the rewards as a live
//      pipeline dates them (same fields and values, computed by the aggregator's reward rule;
//      the smoke test compares the two);
//   3. audit: for --audit-ids requests spread over the time range, with a slice of an hour either
//      side of the request (AUDIT_SLICE_MS), the command in-process (a new client each call, as
//      the CLI; tsx start-up excluded) and the trail read on a connected client (readTrail +
//      buildAuditTrail, what the command does after connecting) with the offsets it read; one
//      cold CLI call (node + tsx + the command); and three `--at T` slices, which run to the
//      orphan horizon (7 days: the partition's end here);
//   4. replay: `dynab replay` in-process over offsets [0, K) of predictions and labels on every
//      partition (K predictions and K labels per partition: --replay-records in all), the range
//      the live aggregator also consumed.
// Windows are 7 days long, so nothing closes during the run: every request resolves by its label.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { loadCodecs, type Codecs } from '../lib/codec/avro-codec.ts';
import { CHAMPION_CHALLENGER, defineExperiment } from '../lib/contracts/experiment-defaults.ts';
import type {
  LabelReceived,
  PredictionMade,
  RewardResolved,
  VariantProbability,
} from '../lib/contracts/events.ts';
import { topicNames, topicSpecs, type TopicNames } from '../lib/contracts/topics.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { createLogger } from '../lib/log/logger.ts';
import { openRocksDbStore } from '../lib/store/rocksdb-store.ts';
import { startAggregator } from '../services/aggregator/build-aggregator.ts';
import { computeReward } from '../services/aggregator/core/reward-rule.ts';
import { readTrail, runAuditCommand } from '../services/cli/audit-command.ts';
import { buildAuditTrail, type AuditTrail } from '../services/cli/core/audit-trail.ts';
import type { CliIo } from '../services/cli/experiment-command.ts';
import { runReplayCommand, type ReplayReport } from '../services/cli/replay-command.ts';

/** Record time between two requests: 10 requests/s, so 1M requests span 27.8 hours. */
export const REQUEST_SPACING_MS = 100;
/** Record time from a request to its label. */
export const LABEL_DELAY_MS = 60_000;
export const PAYLOAD_BYTES = 256;
/** The audit slice around a request: an hour either side (--from T-1h --to T+1h). */
export const AUDIT_SLICE_MS = 3_600_000;
/** Record time from a label to the reward the aggregator writes for it. */
export const REWARD_DELAY_MS = 5;
/** Topic (after the prefix) where the live aggregator's own rewards go. */
export const LIVE_REWARDS_SUFFIX = 'live-rewards';
const EXPERIMENT = 'spam-filter';
/** The live aggregator's defaults (DYNAB_SNAPSHOT_INTERVAL_MS, DYNAB_ORPHAN_AFTER_MS). */
const SNAPSHOT_INTERVAL_MS = 200;
const ORPHAN_AFTER_MS = 7 * 86_400_000;
/** Requests per produce call (five records each). */
const FILL_CHUNK = 2_000;

export interface AuditReplayOptions {
  readonly requests: number;
  /** Predictions + labels replayed (split evenly over the partitions). */
  readonly replayRecords: number;
  readonly partitions: number;
  /** Audited request ids (each timed once per way of calling). */
  readonly auditIds: number;
  /** Also time one audit as a new process (node + tsx). */
  readonly coldCli: boolean;
  readonly brokers: readonly string[];
  readonly onProgress?: (message: string) => void;
}

export interface Timings {
  readonly calls: number;
  readonly medianMs: number;
  readonly maxMs: number;
}

export interface AuditReplayResult {
  /** The topic prefix of the run (on a given broker, its topics stay for inspection). */
  readonly prefix: string;
  readonly requests: number;
  readonly partitions: number;
  readonly fill: { readonly records: number; readonly seconds: number };
  /**
   * Offsets on the eight topics audit reads (every partition): the records (the filled ones;
   * the others are empty).
   */
  readonly topicOffsets: number;
  readonly live: {
    readonly rewards: number;
    readonly inputRecords: number;
    /** From the first batch of rewards counted to the last reward. */
    readonly seconds: number;
    /** Rewards the first committed batch counted (left out of the rate). */
    readonly firstBatchRewards: number;
    readonly rewardsPerSecond: number;
    readonly inputRecordsPerSecond: number;
  };
  readonly audit: {
    /** The whole command in-process: a new client (connect, metadata) per call. */
    readonly command: Timings;
    /** readTrail + buildAuditTrail on a connected client. */
    readonly connected: Timings;
    /** Offsets in the slices read per call (every topic of the one partition). */
    readonly offsetsReadMedian: number;
    readonly offsetsReadMax: number;
    /** Calls whose trail was complete: request, assignment, prediction, label, reward by label. */
    readonly complete: number;
    /** node + tsx + the command, one call; null when not run. */
    readonly coldCliMs: number | null;
    /**
     * `--at T`, the command's slice for a known request time: T - 1 h to T + the orphan horizon
     * (7 days, so here to the end of the partition), on a connected client, for requests at 10%,
     * 50% and 90% of the range.
     */
    readonly wide: Timings & {
      readonly offsetsReadMedian: number;
      readonly offsetsReadMax: number;
    };
  };
  readonly replay: {
    /** Predictions and labels replayed from each partition: offsets [0, perPartition). */
    readonly perPartition: number;
    readonly records: number;
    /** The replay loop as the command reports it (after reading the range). */
    readonly elapsedMs: number;
    /** The whole command in-process: reading the range, replaying, digest, report. */
    readonly wallMs: number;
    readonly recordsPerSecond: number;
    readonly wallRecordsPerSecond: number;
    readonly matched: number;
    readonly divergences: number;
    readonly published: number;
  };
  /** Replay records/s ÷ live aggregator input records/s. */
  readonly replayOverLive: number;
}

function timings(samples: readonly number[]): Timings {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  return { calls: sorted.length, medianMs: median, maxMs: sorted[sorted.length - 1] ?? 0 };
}

async function waitUntil(check: () => boolean, what: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline)
      throw new Error(`audit-replay benchmark: timed out on ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const requestIdOf = (i: number): string => `req-${String(i).padStart(8, '0')}`;

/** A deterministic uniform draw in [0, 1) for request i and a salt (no shared random state). */
function draw(i: number, salt: number): number {
  let x = (i + 1) * 0x9e3779b1 + salt * 0x85ebca6b;
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return ((x ^ (x >>> 16)) >>> 0) / 2 ** 32;
}

/** The five records the pipeline writes for request i. */
function requestRecords(
  topics: TopicNames,
  codecs: Codecs,
  i: number,
  t0: number,
  revision: number,
): OutRecord[] {
  const requestId = requestIdOf(i);
  const at = t0 + i * REQUEST_SPACING_MS;
  const payload = Buffer.alloc(PAYLOAD_BYTES, `Subject: offer ${i} `);
  const request = {
    requestId,
    experiment: EXPERIMENT,
    payload,
    contentType: 'text/plain',
    userId: null,
    targetVariant: null,
    eventTime: at,
  };
  // The allocation drifts towards the challenger over the run, as a bandit's would.
  const challengerShare = 0.5 + 0.3 * (i / Math.max(1, i + 1_000_000));
  const allocation: VariantProbability[] = [
    { variant: 'champion', probability: 1 - challengerShare },
    { variant: 'challenger', probability: challengerShare },
  ];
  const variant = draw(i, 1) < challengerShare ? 'challenger' : 'champion';
  const propensity = variant === 'challenger' ? challengerShare : 1 - challengerShare;
  const snapshotVersion = Math.floor(i / 50);
  const decision = { policy: 'thompson-sampling' as const, snapshotVersion, propensity };
  const spam = draw(i, 2) < (variant === 'challenger' ? 0.92 : 0.9);
  const prediction: PredictionMade = {
    requestId,
    experiment: EXPERIMENT,
    requestedVariant: variant,
    invokedVariant: variant,
    output: Buffer.from('{"label":"spam","score":0.91}'),
    outputContentType: 'application/json',
    predictedLabel: 'spam',
    latencyMs: 38,
    error: null,
    ...decision,
    requestTime: at,
    eventTime: at + 40,
    allocation,
    shadowVariants: [],
    shadowOf: null,
    inferenceId: requestId,
    experimentRevision: revision,
  };
  const label: LabelReceived = {
    requestId,
    reward: null,
    label: spam ? 'spam' : 'ham',
    eventTime: at + LABEL_DELAY_MS,
    source: 'bench',
  };
  const resolvedAt = label.eventTime + REWARD_DELAY_MS;
  // What services/aggregator/core/join.ts writes when a label resolves the request.
  const reward: RewardResolved = {
    requestId,
    experiment: EXPERIMENT,
    variant,
    reward: computeReward(prediction, label),
    resolution: 'label',
    predictionTime: at,
    labelTime: label.eventTime,
    labelSource: label.source,
    resolvedAt,
    ...decision,
    experimentRevision: revision,
  };
  return [
    {
      topic: topics.requests,
      key: requestId,
      timestamp: at,
      value: codecs.request.encode(request),
    },
    {
      topic: topics.assignments,
      key: requestId,
      timestamp: at + 2,
      value: codecs.assignment.encode({
        request,
        variant,
        ...decision,
        reason: 'posterior',
        decisionTime: at + 2,
        allocation,
        shadowVariants: [],
        experimentRevision: revision,
      }),
    },
    {
      topic: topics.predictions,
      key: requestId,
      timestamp: at + 40,
      value: codecs.prediction.encode(prediction),
    },
    {
      topic: topics.labels,
      key: requestId,
      timestamp: at + LABEL_DELAY_MS,
      value: codecs.label.encode(label),
    },
    {
      topic: topics.rewards,
      key: requestId,
      timestamp: resolvedAt,
      value: codecs.reward.encode(reward),
    },
  ];
}

/** A CliIo that collects stdout, for a command run in-process. */
function captureIo(env: Readonly<Record<string, string>>): { io: CliIo; stdout: () => string } {
  let out = '';
  let err = '';
  return {
    io: {
      stdout: { write: (text: string) => (out += text) },
      stderr: { write: (text: string) => (err += text) },
      env,
      now: () => Date.now(),
      readText: () => Promise.reject(new Error('no files in the benchmark')),
    },
    stdout: () => (out === '' ? err : out),
  };
}

function runCli(args: readonly string[], env: Readonly<Record<string, string>>): Promise<number> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bin/dynab.ts', ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

const complete = (trail: AuditTrail): boolean =>
  trail.outcome === 'label' &&
  trail.request !== null &&
  trail.assignment !== null &&
  trail.predictions.length === 1 &&
  trail.labels.length === 1 &&
  trail.rewards.length === 1;

export async function runAuditReplayBench(options: AuditReplayOptions): Promise<AuditReplayResult> {
  const { requests, partitions } = options;
  const progress = options.onProgress ?? (() => undefined);
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-audit-replay-'));
  let kafka: EmbeddedKafka | null = null;
  let brokers = [...options.brokers];
  if (brokers.length === 0) {
    kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka') });
    brokers = kafka.brokers;
  }
  const prefix = `audit-replay-${randomUUID().slice(0, 8)}.`;
  const topics = topicNames(prefix);
  const codecs = loadCodecs();
  const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-audit-replay-bench' });
  const env = {
    DYNAB_BROKERS: brokers.join(','),
    DYNAB_TOPIC_PREFIX: prefix,
    DYNAB_PARTITIONS: String(partitions),
    DYNAB_ORPHAN_AFTER_MS: String(ORPHAN_AFTER_MS),
  };
  try {
    await eventLog.waitUntilReady(60_000);
    const liveTopics: TopicNames = { ...topics, rewards: `${prefix}${LIVE_REWARDS_SUFFIX}` };
    await eventLog.ensureTopics([
      ...topicSpecs(topics, partitions),
      { name: liveTopics.rewards, partitions, compacted: false },
    ]);
    const t0 = Date.now() - requests * REQUEST_SPACING_MS - LABEL_DELAY_MS;
    const experiment = defineExperiment({
      experiment: EXPERIMENT,
      variants: CHAMPION_CHALLENGER,
      attributionWindowMs: 7 * 86_400_000,
      updatedAt: t0 - 60_000,
      revision: 3,
    });

    // 1. Fill.
    const producer = await eventLog.createProducer();
    const f0 = performance.now();
    try {
      await producer.send([
        {
          topic: topics.experiments,
          key: EXPERIMENT,
          value: codecs.experiment.encode(experiment),
          timestamp: t0 - 60_000,
        },
      ]);
      for (let i = 0; i < requests; i += FILL_CHUNK) {
        const records: OutRecord[] = [];
        for (let j = i; j < Math.min(requests, i + FILL_CHUNK); j++)
          records.push(...requestRecords(topics, codecs, j, t0, experiment.revision));
        await producer.send(records);
        if ((i / FILL_CHUNK) % 50 === 0) progress(`filled ${i} of ${requests} requests`);
      }
    } finally {
      await producer.close();
    }
    const fill = { records: requests * 5, seconds: (performance.now() - f0) / 1000 };
    progress(`filled ${fill.records} records in ${fill.seconds.toFixed(1)} s`);

    // 2. The live aggregator on the whole backlog.
    const store = await openRocksDbStore(join(runDir, 'aggregator'));
    const aggregator = await startAggregator({
      eventLog,
      store,
      codecs,
      topics: liveTopics,
      groupId: `${prefix}aggregator`,
      logger: createLogger('bench', 'warn'),
      now: Date.now,
      snapshotIntervalMs: SNAPSHOT_INTERVAL_MS,
      orphanAfterMs: ORPHAN_AFTER_MS,
      idleCloseMs: 0,
    });
    const started = performance.now();
    let firstReward = 0;
    let firstRewards = 0;
    let lastReward = 0;
    try {
      await waitUntil(() => aggregator.stats.rewards > 0, 'the first reward', 30 * 60_000);
      firstReward = performance.now();
      firstRewards = aggregator.stats.rewards;
      let reported = 0;
      await waitUntil(
        () => {
          const done = aggregator.stats.rewards;
          if (done - reported >= requests / 10) {
            reported = done;
            progress(`live aggregator: ${done} of ${requests} rewards`);
          }
          return done >= requests;
        },
        'the last reward',
        60 * 60_000,
      );
      lastReward = performance.now();
    } finally {
      await aggregator.stop();
      await store.close();
    }
    // Counters move once per committed batch: the rate counts the rewards after the first
    // batch's, over the time from that batch to the last. When one batch held them all (tiny
    // runs), the time from the start is all there is.
    const afterFirst = requests - firstRewards;
    const liveSeconds = Math.max(
      1e-3,
      (afterFirst > 0 ? lastReward - firstReward : lastReward - started) / 1000,
    );
    const rewardsPerSecond = (afterFirst > 0 ? afterFirst : requests) / liveSeconds;
    const live = {
      rewards: requests,
      inputRecords: 2 * requests,
      seconds: liveSeconds,
      firstBatchRewards: firstRewards,
      rewardsPerSecond,
      inputRecordsPerSecond: 2 * rewardsPerSecond,
    };
    progress(`live aggregator: ${live.inputRecordsPerSecond.toFixed(0)} input records/s`);

    const auditTopics = [
      topics.requests,
      topics.assignments,
      topics.predictions,
      topics.labels,
      topics.labelsRepartition,
      topics.rewards,
      topics.lateLabels,
      topics.deadLetters,
    ];
    let topicOffsets = 0;
    for (const topic of auditTopics)
      for (const o of await eventLog.fetchOffsets(topic))
        topicOffsets += Number(BigInt(o.high) - BigInt(o.low));

    // 3. Audit.
    const ids = Array.from({ length: options.auditIds }, (_, k) =>
      Math.min(requests - 1, Math.floor(((k + 0.5) * requests) / options.auditIds)),
    );
    const sliceOf = (i: number): { start: number; end: number } => {
      const at = t0 + i * REQUEST_SPACING_MS;
      return { start: at - AUDIT_SLICE_MS, end: at + AUDIT_SLICE_MS };
    };
    const commandMs: number[] = [];
    const connectedMs: number[] = [];
    const offsetsRead: number[] = [];
    let completeTrails = 0;
    for (const i of ids) {
      const { start, end } = sliceOf(i);
      const capture = captureIo(env);
      const c0 = performance.now();
      const code = await runAuditCommand(
        [requestIdOf(i), '--json', '--from', String(start), '--to', String(end)],
        capture.io,
      );
      commandMs.push(performance.now() - c0);
      if (code !== 0) throw new Error(`dynab audit ${requestIdOf(i)}: ${capture.stdout()}`);

      const r0 = performance.now();
      const input = await readTrail(eventLog, topics, codecs, {
        requestId: requestIdOf(i),
        sliceStart: start,
        sliceEnd: end,
      });
      const trail = buildAuditTrail(input);
      connectedMs.push(performance.now() - r0);
      offsetsRead.push(
        input.slices.reduce((n, s) => n + Number(BigInt(s.until) - BigInt(s.from)), 0),
      );
      if (complete(trail)) completeTrails += 1;
    }
    let coldCliMs: number | null = null;
    const middle = ids[Math.floor(ids.length / 2)] ?? 0;
    if (options.coldCli) {
      const { start, end } = sliceOf(middle);
      const c0 = performance.now();
      const code = await runCli(
        ['audit', requestIdOf(middle), '--json', '--from', String(start), '--to', String(end)],
        env,
      );
      coldCliMs = performance.now() - c0;
      if (code !== 0) throw new Error(`dynab audit (cold CLI) exited with ${code}`);
    }
    const wideMs: number[] = [];
    const wideRead: number[] = [];
    for (const fraction of [0.1, 0.5, 0.9]) {
      const i = Math.min(requests - 1, Math.floor(fraction * requests));
      const at = t0 + i * REQUEST_SPACING_MS;
      const w0 = performance.now();
      const input = await readTrail(eventLog, topics, codecs, {
        requestId: requestIdOf(i),
        sliceStart: at - AUDIT_SLICE_MS,
        sliceEnd: at + ORPHAN_AFTER_MS,
      });
      buildAuditTrail(input);
      wideMs.push(performance.now() - w0);
      wideRead.push(input.slices.reduce((n, s) => n + Number(BigInt(s.until) - BigInt(s.from)), 0));
    }
    const wideReadTimings = timings(wideRead);
    const read = timings(offsetsRead);
    progress(`audit: median ${timings(commandMs).medianMs.toFixed(0)} ms per call`);

    // 4. Replay over offsets [0, K) of every partition.
    const perPartition = Math.max(1, Math.floor(options.replayRecords / (2 * partitions)));
    const capture = captureIo(env);
    const w0 = performance.now();
    const replayCode = await runReplayCommand(
      [
        '--experiment',
        EXPERIMENT,
        '--from',
        'offset:0',
        '--to',
        `offset:${perPartition}`,
        '--json',
      ],
      capture.io,
    );
    const wallMs = performance.now() - w0;
    if (replayCode === 2) throw new Error(`dynab replay: ${capture.stdout()}`);
    const report = JSON.parse(capture.stdout()) as ReplayReport;
    const replay = {
      perPartition,
      records: report.records,
      elapsedMs: report.elapsedMs,
      wallMs,
      recordsPerSecond: report.records / Math.max(1e-3, report.elapsedMs / 1000),
      wallRecordsPerSecond: report.records / Math.max(1e-3, wallMs / 1000),
      matched: report.matched,
      divergences: report.divergences.length,
      published: report.published,
    };
    progress(`replay: ${replay.recordsPerSecond.toFixed(0)} records/s`);
    return {
      prefix,
      requests,
      partitions,
      fill,
      topicOffsets,
      live,
      audit: {
        command: timings(commandMs),
        connected: timings(connectedMs),
        offsetsReadMedian: read.medianMs,
        offsetsReadMax: read.maxMs,
        complete: completeTrails,
        coldCliMs,
        wide: {
          ...timings(wideMs),
          offsetsReadMedian: wideReadTimings.medianMs,
          offsetsReadMax: wideReadTimings.maxMs,
        },
      },
      replay,
      replayOverLive: replay.recordsPerSecond / live.inputRecordsPerSecond,
    };
  } finally {
    await eventLog.close().catch(() => undefined);
    await kafka?.stop();
    await rm(runDir, { recursive: true, force: true });
  }
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/** The Markdown rows for BENCHMARKS.md. */
export function formatAuditReplay(r: AuditReplayResult): string {
  const ms = (t: number): string => `${t.toFixed(0)} ms`;
  const share = (part: number): string =>
    `${((100 * part) / Math.max(1, r.topicOffsets)).toFixed(2)}%`;
  return [
    `### Audit and replay (${count(r.requests)} requests, ${r.partitions} partitions)`,
    '',
    '| measure | value |',
    '|---|---:|',
    `| fill: requests, assignments, predictions, labels, rewards (batched produce) | ${count(r.fill.records)} records in ${r.fill.seconds.toFixed(1)} s (${count(r.fill.records / r.fill.seconds)} /s) |`,
    `| records on the eight topics audit reads | ${count(r.topicOffsets)} |`,
    `| audit, command in-process (new client per call), median / max of ${r.audit.command.calls} | ${ms(r.audit.command.medianMs)} / ${ms(r.audit.command.maxMs)} |`,
    `| audit, trail read on a connected client, median / max | ${ms(r.audit.connected.medianMs)} / ${ms(r.audit.connected.maxMs)} |`,
    `| offsets in the slices one audit read (±1 h, one partition; share of all), median / max | ${count(r.audit.offsetsReadMedian)} (${share(r.audit.offsetsReadMedian)}) / ${count(r.audit.offsetsReadMax)} (${share(r.audit.offsetsReadMax)}) |`,
    `| audit, one cold CLI call (node + tsx + command) | ${r.audit.coldCliMs === null ? '–' : ms(r.audit.coldCliMs)} |`,
    `| audit with \`--at T\` (T − 1 h to T + 7 d: to the partition's end), connected client, median / max of ${r.audit.wide.calls} | ${ms(r.audit.wide.medianMs)} / ${ms(r.audit.wide.maxMs)}, reading ${count(r.audit.wide.offsetsReadMedian)} (${share(r.audit.wide.offsetsReadMedian)}) / ${count(r.audit.wide.offsetsReadMax)} (${share(r.audit.wide.offsetsReadMax)}) |`,
    `| complete trails (request, assignment, prediction, label, reward by label) | ${r.audit.complete} of ${r.audit.command.calls} |`,
    `| live aggregator, first to last reward (the ${count(r.live.rewards)} joins of the backlog) | ${r.live.seconds.toFixed(1)} s: ${count(r.live.rewardsPerSecond)} rewards/s, ${count(r.live.inputRecordsPerSecond)} input records/s (predictions + labels) |`,
    `| replay, ${count(r.replay.records)} predictions + labels (offsets [0, ${count(r.replay.perPartition)}) of each partition) | ${(r.replay.elapsedMs / 1000).toFixed(1)} s: ${count(r.replay.recordsPerSecond)} records/s (whole command ${(r.replay.wallMs / 1000).toFixed(1)} s: ${count(r.replay.wallRecordsPerSecond)} /s) |`,
    `| replay ÷ live aggregator (records/s) | ${r.replayOverLive.toFixed(2)} |`,
    `| replay check | ${r.replay.matched} published partials matched, ${r.replay.divergences} divergences (${r.replay.published} published in all) |`,
  ].join('\n');
}

/** One JSON line with every number. */
export function auditReplaySummary(r: AuditReplayResult): Record<string, unknown> {
  return { bench: 'audit-replay', ...r };
}
