// `npm run fuzz`: hostile records on every topic a service reads, next to a valid experiment.
//   - router, inference, aggregator and decider run as processes (supervised: an exit is a crash
//     and the service is restarted), with the local endpoint;
//   - valid traffic: requests of the experiment 'spam-filter' at a steady rate, each labelled
//     (with its true label) shortly after its prediction is seen;
//   - hostile traffic, interleaved: random bytes, truncated, bit-flipped and wrong-fingerprint
//     Avro, JSON of the wrong types, NaN/±Infinity/out-of-range rewards (some before the valid
//     label of a valid request), odd, huge and null ids and keys, tombstones, unknown experiments
//     and variants, future and ancient event times, invalid experiment definitions, duplicates.
// It ends with one line
//   fuzz verdict: crashes=N stalls=N repeats=N posterior=EXACT|MISMATCH …
// then the valid traffic's delay p99 during and after the hostile traffic, and the dead letters by
// reason. Exit code 0 only for 0 crashes, 0 stalls, 0 repeats and an exact posterior.
// Options: --hostile N (10000) --valid N (2000) --rate R (valid requests/s, 50) --seed S.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import { createSeededRandom } from '../lib/bandit/random.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import type { DeadLettered, PosteriorPublished, RewardResolved } from '../lib/contracts/events.ts';
import { CHAMPION_CHALLENGER, defineExperiment } from '../lib/contracts/experiment-defaults.ts';
import { sumPartials } from '../lib/contracts/posterior-totals.ts';
import { topicNames, topicSpecs } from '../lib/contracts/topics.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { startTableReader } from '../lib/stream/table-reader.ts';
import {
  spawnService,
  startLocalEndpoint,
  stopChild,
  waitForReady,
  type Child,
} from '../services/launcher/service-processes.ts';
import { loadSpamCorpus, splitCorpus } from '../services/local-endpoint/spam-corpus.ts';
import {
  expectOutcome,
  judge,
  type ObservedPrediction,
  type SentLabel,
  type TruthTally,
  watermarkTicks,
} from '../chaos/ground-truth.ts';
import { createHostileGenerator, type HostileCategory } from './hostile-records.ts';

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const HOSTILE = flag('hostile', 10_000);
const VALID = flag('valid', 2_000);
const RATE = flag('rate', 50);
const SEED = flag('seed', Date.now() % 1_000_000);
const PARTITIONS = 4;
const WINDOW_MS = 60_000;
const GRACE_MS = 5_000;
const IMPLICIT_REWARD = 0;
const ORPHAN_AFTER_MS = 10 * WINDOW_MS;
/** A valid request whose prediction takes longer than this was stalled by hostile input. */
const STALL_MS = 5_000;
const VARIANTS: ReadonlySet<string> = new Set(CHAMPION_CHALLENGER.map((v) => v.name));

const random = createSeededRandom(SEED);
const say = (line: string): void => {
  process.stdout.write(`[fuzz ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const p99 = (values: readonly number[]): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(0.99 * sorted.length))] ?? 0;
};

async function main(): Promise<number> {
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-fuzz-'));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const kafka = await startEmbeddedKafka({ dataDir: join(runDir, 'kafka') });
  const prefix = 'fuzz.';
  const topics = topicNames(prefix);
  const codecs = loadCodecs();
  const eventLog = new KafkaEventLog({ brokers: kafka.brokers, clientId: 'dynab-fuzz' });
  await eventLog.waitUntilReady(60_000);
  await eventLog.ensureTopics(topicSpecs(topics, PARTITIONS));
  say(
    `seed ${SEED}; ${HOSTILE} hostile records, ${VALID} valid requests at ${RATE}/s; logs in ${logDir}`,
  );

  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DYNAB_BROKERS: kafka.brokers.join(','),
    DYNAB_TOPIC_PREFIX: prefix,
    DYNAB_PARTITIONS: String(PARTITIONS),
    DYNAB_SNAPSHOT_INTERVAL_MS: '200',
    DYNAB_ORPHAN_AFTER_MS: String(ORPHAN_AFTER_MS),
    DYNAB_LOG_LEVEL: 'warn',
    DYNAB_STATE_DIR: join(runDir, 'state'),
  };
  const local = await startLocalEndpoint(baseEnv, logDir, 'spam-filter');
  baseEnv['DYNAB_SAGEMAKER_ENDPOINT_URL'] = local.url;

  const experiment = defineExperiment({
    experiment: 'spam-filter',
    variants: CHAMPION_CHALLENGER,
    warmUpRewards: 50,
    attributionWindowMs: WINDOW_MS,
    graceMs: GRACE_MS,
    implicitReward: IMPLICIT_REWARD,
    updatedAt: Date.now(),
  });
  const producer = await eventLog.createProducer();
  await producer.send([
    {
      topic: topics.experiments,
      key: experiment.experiment,
      value: codecs.experiment.encode(experiment),
    },
  ]);

  // --- the services, supervised: an exit is a crash, and the service is restarted ---
  interface Managed {
    readonly name: string;
    readonly script: string;
    child: Child | null;
    crashes: number;
  }
  const managed: Managed[] = [
    { name: 'router', script: 'services/router/main.ts', child: null, crashes: 0 },
    { name: 'inference', script: 'services/inference/main.ts', child: null, crashes: 0 },
    { name: 'aggregator', script: 'services/aggregator/main.ts', child: null, crashes: 0 },
    { name: 'decider', script: 'services/decider/main.ts', child: null, crashes: 0 },
  ];
  let shuttingDown = false;
  const launch = (m: Managed): Child => {
    const child = spawnService(`${m.name}-${m.crashes}`, m.script, baseEnv, logDir);
    m.child = child;
    child.process.once('exit', () => {
      if (shuttingDown || m.child !== child) return;
      m.crashes++;
      say(`${m.name} exited: restarting`);
      setTimeout(() => launch(m), 500);
    });
    return child;
  };
  process.once('exit', () => {
    for (const m of managed) m.child?.process.kill('SIGKILL');
    local.child.process.kill('SIGKILL');
  });
  await Promise.all(managed.map((m) => waitForReady(launch(m), 120_000)));
  say('services running: router, inference, aggregator, decider');

  // Every partition's watermark set before any traffic. The aggregator refuses a prediction past
  // its dedup horizon by the watermark of its partition, which exists only once a label reached
  // that partition: an ancient hostile prediction that came first would be counted where the
  // driver, judging by the clock, expects it refused (seen once in four runs). The driver waits
  // until the aggregator has committed past these labels.
  await producer.send(
    watermarkTicks(
      topics.labels,
      PARTITIONS,
      Date.now(),
      'fuzz-watermark',
      (l) => codecs.label.encode(l),
      'start-watermark',
    ),
  );
  const labelEnds = await eventLog.fetchOffsets(topics.labels);
  const startDeadline = Date.now() + 60_000;
  for (;;) {
    const committed = await eventLog.fetchCommittedOffsets(`${prefix}aggregator`, [topics.labels]);
    const past = labelEnds.every((end) =>
      committed.some((c) => c.partition === end.partition && BigInt(c.offset) >= BigInt(end.high)),
    );
    if (past) break;
    if (Date.now() > startDeadline)
      throw new Error('the aggregator did not take the starting watermark labels within 60 s');
    await sleep(200);
  }

  // --- the driver's view of the valid experiment ---
  const { serve } = splitCorpus(loadSpamCorpus());
  const truthLabel = new Map<string, 'spam' | 'ham'>();
  const sentAt = new Map<string, number>();
  const observed = new Map<string, ObservedPrediction>();
  const sentLabels = new Map<string, SentLabel[]>();
  const waitingForLabel: string[] = [];
  const delays: { readonly ms: number; readonly duringHostile: boolean }[] = [];
  let hostileRunning = false;
  const labelQueue: OutRecord[] = [];
  const queuedLabels = (): number => labelQueue.length;

  const predictions = await eventLog.createConsumer({
    groupId: `fuzz-driver-${SEED}`,
    topics: [topics.predictions],
    fromBeginning: true,
  });
  await predictions.run((batch) => {
    for (const record of batch.records) {
      if (record.value === null) continue;
      let p;
      try {
        p = codecs.prediction.decode(record.value);
      } catch {
        continue; // hostile bytes on the predictions topic
      }
      // Hostile predictions written straight to the topic name variants outside the experiment
      // (dead-lettered by the aggregator): not part of the truth.
      const variant = p.invokedVariant ?? p.requestedVariant;
      if (p.experiment !== 'spam-filter' || !VARIANTS.has(variant) || observed.has(p.requestId))
        continue;
      // Older than the dedup horizon when it arrives (an ancient request time): refused.
      if (p.requestTime + WINDOW_MS + GRACE_MS + ORPHAN_AFTER_MS < Date.now()) continue;
      const truth = truthLabel.get(p.requestId);
      observed.set(p.requestId, {
        requestId: p.requestId,
        variant,
        requestTime: p.requestTime,
        predictedLabel: p.predictedLabel,
        failed: p.error !== null,
      });
      const at = sentAt.get(p.requestId);
      if (at !== undefined) delays.push({ ms: Date.now() - at, duringHostile: hostileRunning });
      if (truth === undefined) continue; // a hostile request that happened to be well-formed
      waitingForLabel.push(p.requestId);
      setTimeout(
        () => {
          const eventTime = Date.now();
          sentLabels.set(p.requestId, [{ eventTime, label: truth }]);
          labelQueue.push({
            topic: topics.labels,
            key: p.requestId,
            value: codecs.label.encode({
              requestId: p.requestId,
              reward: null,
              label: truth,
              eventTime,
              source: 'fuzz-valid',
            }),
          });
          const i = waitingForLabel.indexOf(p.requestId);
          if (i >= 0) waitingForLabel.splice(i, 1);
        },
        300 + random() * 1_500,
      );
    }
  });
  const posteriors = await startTableReader<PosteriorPublished>({
    eventLog,
    topic: topics.posteriors,
    decode: (r) => codecs.posterior.decode(r.value ?? Buffer.alloc(0)),
    onInvalid: () => undefined,
    groupPrefix: `fuzz-posteriors-${SEED}`,
  });

  // --- valid requests and labels, and hostile records, interleaved ---
  const hostile = createHostileGenerator({
    topics,
    codecs,
    random,
    now: Date.now,
    pendingValidId: () => (waitingForLabel.length === 0 ? null : (waitingForLabel[0] ?? null)),
    validExperiment: experiment,
  });
  const byCategory = new Map<HostileCategory, number>();
  const started = Date.now();
  const validSeconds = VALID / RATE;
  let validSent = 0;
  let hostileSent = 0;
  hostileRunning = true;
  while (validSent < VALID || hostileSent < HOSTILE || labelQueue.length > 0) {
    const elapsed = (Date.now() - started) / 1000;
    const records: OutRecord[] = labelQueue.splice(0);
    const validDue = Math.min(VALID, Math.floor(elapsed * RATE));
    for (; validSent < validDue; validSent++) {
      const mail = serve[Math.floor(random() * serve.length)];
      if (mail === undefined) continue;
      const requestId = `v${SEED}-${validSent}`;
      truthLabel.set(requestId, mail.label);
      sentAt.set(requestId, Date.now());
      records.push({
        topic: topics.requests,
        key: requestId,
        value: codecs.request.encode({
          requestId,
          experiment: 'spam-filter',
          payload: Buffer.from(mail.text.slice(0, 2_000)),
          contentType: 'text/plain',
          userId: null,
          targetVariant: null,
          eventTime: Date.now(),
        }),
      });
    }
    // Hostile records spread over the first 80% of the valid traffic.
    const hostileDue = Math.min(HOSTILE, Math.floor((elapsed / (0.8 * validSeconds)) * HOSTILE));
    for (; hostileSent < hostileDue; hostileSent++) {
      const { category, record } = hostile();
      byCategory.set(category, (byCategory.get(category) ?? 0) + 1);
      records.push(record);
    }
    if (hostileSent >= HOSTILE) hostileRunning = false;
    if (records.length > 0) {
      try {
        await producer.send(records);
      } catch (error) {
        say(`send failed (${error instanceof Error ? error.message : String(error)})`);
      }
    }
    if (validSent >= VALID && hostileSent >= HOSTILE && labelQueue.length === 0) {
      // Wait for the remaining predictions and their labels.
      const deadline = Date.now() + 120_000;
      while (observed.size < VALID && Date.now() < deadline) await sleep(200);
      // Labels go out up to 1.8 s after their prediction is seen (timers fill the queue).
      await sleep(2_500);
      if (queuedLabels() === 0) break;
    }
    await sleep(50);
  }
  say(`sent ${validSent} valid requests and ${hostileSent} hostile records`);

  // Move every partition's watermark past every window: one label per partition, far ahead.
  const tickTime = Date.now() + WINDOW_MS + GRACE_MS + 1_000;
  await producer.send(
    watermarkTicks(topics.labels, PARTITIONS, tickTime, 'fuzz-watermark', (l) =>
      codecs.label.encode(l),
    ),
  );

  const expected = new Map<string, TruthTally>();
  for (const prediction of observed.values())
    expectOutcome(
      expected,
      prediction,
      sentLabels.get(prediction.requestId) ?? [],
      WINDOW_MS,
      IMPLICIT_REWARD,
    );
  const published = (): Map<string, TruthTally> => sumPartials(posteriors.values(), 'spam-filter');
  const rewardsOffTruth = async (): Promise<string[]> => {
    const byId = new Map<string, RewardResolved[]>();
    let last = Date.now();
    const reader = await eventLog.createConsumer({
      groupId: `fuzz-rewards-${SEED}`,
      topics: [topics.rewards],
      fromBeginning: true,
    });
    await reader.run((batch) => {
      for (const record of batch.records) {
        last = Date.now();
        let reward: RewardResolved;
        try {
          reward = codecs.reward.decode(record.value ?? Buffer.alloc(0));
        } catch {
          continue;
        }
        if (reward.experiment !== 'spam-filter') continue;
        byId.set(reward.requestId, [...(byId.get(reward.requestId) ?? []), reward]);
      }
    });
    // Read until three quiet seconds (at most 30 s): the topic ends in commit markers, so its end
    // offset says nothing of how many records it holds.
    const readDeadline = Date.now() + 30_000;
    while (Date.now() - last < 3_000 && Date.now() < readDeadline) await sleep(200);
    await reader.stop().catch(() => undefined);
    const notes: string[] = [`read for ${byId.size} request ids; off the driver's view:`];
    for (const [requestId, rewards] of byId) {
      const prediction = observed.get(requestId);
      const odd =
        prediction === undefined ||
        prediction.failed ||
        rewards.some((r) => r.variant !== prediction.variant) ||
        rewards.filter((r) => r.resolution !== 'late').length !== 1;
      if (!odd) continue;
      const seenAs =
        prediction === undefined
          ? 'no prediction read'
          : `prediction read: ${prediction.variant}, failed ${String(prediction.failed)}`;
      const shown = rewards.map(
        (r) =>
          `${r.variant} ${r.resolution} reward ${r.reward} predicted ${r.predictionTime} label ${String(r.labelTime)}`,
      );
      notes.push(`${JSON.stringify(requestId)} (${seenAs}): ${shown.join('; ')}`);
    }
    return notes;
  };
  let verdict = judge(expected, published());
  const settleDeadline = Date.now() + 3 * 60_000;
  while (!verdict.exact && Date.now() < settleDeadline) {
    await sleep(1_000);
    verdict = judge(expected, published());
  }
  if (verdict.exact) {
    await sleep(10_000);
    verdict = judge(expected, published());
  }

  // Dead letters: by reason, and repeats of the same input record by the same service.
  const letters = await eventLog.createConsumer({
    groupId: `fuzz-letters-${SEED}`,
    topics: [topics.deadLetters],
    fromBeginning: true,
  });
  const byReason = new Map<string, number>();
  const seen = new Set<string>();
  let repeats = 0;
  let read = 0;
  await letters.run((batch) => {
    for (const record of batch.records) {
      read++;
      let letter: DeadLettered;
      try {
        letter = codecs['dead-letter'].decode(record.value ?? Buffer.alloc(0));
      } catch {
        byReason.set('UNDECODABLE_DEAD_LETTER', (byReason.get('UNDECODABLE_DEAD_LETTER') ?? 0) + 1);
        continue;
      }
      byReason.set(letter.errorCode, (byReason.get(letter.errorCode) ?? 0) + 1);
      // A letter the service built itself (an orphaned label) names no input offset.
      if (letter.sourceOffset === '-1') continue;
      const identity = `${letter.service}\u0000${letter.sourceTopic}/${letter.sourcePartition}/${letter.sourceOffset}`;
      if (seen.has(identity)) repeats++;
      else seen.add(identity);
    }
  });
  const letterEnd = (await eventLog.fetchOffsets(topics.deadLetters)).reduce(
    (sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)),
    0,
  );
  const letterDeadline = Date.now() + 60_000;
  while (read < letterEnd && Date.now() < letterDeadline) await sleep(200);

  // On a mismatch, the rewards behind it: every reward of a request id whose prediction the
  // driver did not count or read as failed, or whose variant or number of rewards differs from
  // what it read, so that the next mismatch names its records.
  const rewardNotes = verdict.exact ? [] : await rewardsOffTruth();

  shuttingDown = true;
  await letters.stop().catch(() => undefined);
  await predictions.stop().catch(() => undefined);
  await posteriors.stop().catch(() => undefined);
  await producer.close().catch(() => undefined);
  await Promise.all(
    managed.map((m) => (m.child === null ? Promise.resolve() : stopChild(m.child))),
  );
  await stopChild(local.child);
  await eventLog.close().catch(() => undefined);
  await kafka.stop();

  const crashes = managed.reduce((n, m) => n + m.crashes, 0);
  const stalls = delays.filter((d) => d.ms > STALL_MS).length + Math.max(0, VALID - observed.size);
  const during = delays.filter((d) => d.duringHostile).map((d) => d.ms);
  const after = delays.filter((d) => !d.duringHostile).map((d) => d.ms);
  process.stdout.write(
    `fuzz verdict: crashes=${crashes} stalls=${stalls} repeats=${repeats} posterior=${verdict.exact ? 'EXACT' : 'MISMATCH'}` +
      ` | hostile=${hostileSent} valid=${validSent} predicted=${observed.size} expected=${verdict.expected} published=${verdict.published} lost=${verdict.lost} double=${verdict.double}` +
      ` | crashes by service: ${managed.map((m) => `${m.name} ${m.crashes}`).join(', ')} | seed ${SEED}\n`,
  );
  process.stdout.write(
    `valid delay p99: during hostile ${p99(during)} ms (${during.length} requests), after ${p99(after)} ms (${after.length} requests)\n`,
  );
  process.stdout.write(
    `dead letters by reason: ${[...byReason]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]) => `${code} ${n}`)
      .join(', ')}\n`,
  );
  process.stdout.write(
    `hostile records by category: ${[...byCategory].map(([c, n]) => `${c} ${n}`).join(', ')}\n`,
  );
  for (const line of verdict.mismatches) process.stdout.write(`  ${line}\n`);
  for (const line of rewardNotes.slice(0, 20)) process.stdout.write(`  rewards: ${line}\n`);
  const ok = crashes === 0 && stalls === 0 && repeats === 0 && verdict.exact;
  if (ok) await rm(runDir, { recursive: true, force: true });
  else say(`logs kept in ${logDir}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `fuzz run failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(2);
  },
);
