// `npm run chaos`: the whole pipeline under faults, checked against ground truth.
//   - ≥ 100k requests (spam mails) through router → inference → two aggregator instances;
//   - labels delayed, some late (after their window), ~6% duplicated, ~10% reordered, ~3% never
//     sent; ~1% of predictions duplicated on the predictions topic;
//   - router, inference and both aggregators SIGKILLed at random times (≥ 3 times each) and
//     restarted; the broker stopped and restarted once;
// then the merged posterior is compared with what the driver computed from what it sent, and a
// one-line verdict is printed. Options: --requests N --rate R --seed S --payload-bytes B (each
// mail cut to its first B bytes of UTF-8, a short text; default: whole mails).
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  findFreePort,
  startEmbeddedKafka,
  type EmbeddedKafka,
} from '../infra/kafka/embedded-kafka.ts';
import { createSeededRandom } from '../lib/bandit/random.ts';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import type { ExperimentDefined, PosteriorPublished } from '../lib/contracts/events.ts';
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
} from './ground-truth.ts';

const flag = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const REQUESTS = flag('requests', 100_000);
const RATE = flag('rate', 250);
const SEED = flag('seed', Date.now() % 1_000_000);
const PAYLOAD_BYTES = flag('payload-bytes', Number.POSITIVE_INFINITY);
const PARTITIONS = 4;
const WINDOW_MS = 60_000;
const GRACE_MS = 5_000;
const IMPLICIT_REWARD = 0;

const random = createSeededRandom(SEED);
const encoder = new TextEncoder();
/** The mail as UTF-8, cut to at most PAYLOAD_BYTES on a character boundary (still valid text). */
const cutPayload = (text: string): Buffer => {
  const bytes = Buffer.from(encoder.encode(text));
  if (!Number.isFinite(PAYLOAD_BYTES) || bytes.length <= PAYLOAD_BYTES) return bytes;
  let end = PAYLOAD_BYTES;
  // UTF-8 continuation bytes are 0b10xxxxxx: back up to the start of the cut character.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end);
};
const say = (line: string): void => {
  process.stdout.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<number> {
  const runDir = await mkdtemp(join(tmpdir(), 'dynab-chaos-'));
  const logDir = join(runDir, 'logs');
  await mkdir(logDir, { recursive: true });
  const kafkaDir = join(runDir, 'kafka');
  const port = await findFreePort();
  const controllerPort = await findFreePort();
  const startBroker = (): Promise<EmbeddedKafka> =>
    startEmbeddedKafka({ dataDir: kafkaDir, port, controllerPort, removeDataOnStop: false });
  let kafka = await startBroker();
  const brokers = kafka.brokers;
  const prefix = 'chaos.';
  const topics = topicNames(prefix);
  const codecs = loadCodecs();
  const eventLog = new KafkaEventLog({ brokers, clientId: 'dynab-chaos' });
  await eventLog.waitUntilReady(60_000);
  await eventLog.ensureTopics(topicSpecs(topics, PARTITIONS));
  say(
    `seed ${SEED}; ${REQUESTS} requests at ${RATE}/s${Number.isFinite(PAYLOAD_BYTES) ? ` (payloads cut to ${PAYLOAD_BYTES} bytes)` : ''}; broker ${brokers.join(',')}; logs in ${logDir}`,
  );

  const baseEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DYNAB_BROKERS: brokers.join(','),
    DYNAB_TOPIC_PREFIX: prefix,
    DYNAB_PARTITIONS: String(PARTITIONS),
    DYNAB_SNAPSHOT_INTERVAL_MS: '200',
    DYNAB_ORPHAN_AFTER_MS: String(10 * WINDOW_MS),
    DYNAB_LOG_LEVEL: 'warn',
    // The local endpoint reads JSON lines: many requests per InvokeEndpoint call.
    DYNAB_INFERENCE_BATCH_FORMATS:
      process.env['DYNAB_INFERENCE_BATCH_FORMATS'] ?? 'spam-filter=jsonlines',
  };
  const local = await startLocalEndpoint(baseEnv, logDir, 'spam-filter');
  baseEnv['DYNAB_SAGEMAKER_ENDPOINT_URL'] = local.url;

  const experiment: ExperimentDefined = defineExperiment({
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

  // --- the services, supervised: any that exits is restarted ---
  interface Managed {
    readonly name: string;
    readonly script: string;
    readonly env: NodeJS.ProcessEnv;
    child: Child | null;
    kills: number;
    restarts: number;
    /** Deleted before the next restart, as a lost volume would be. */
    wipeOnExit?: string;
  }
  const managed: Managed[] = [
    {
      name: 'router',
      script: 'services/router/main.ts',
      env: { DYNAB_INSTANCE_ID: 'r1' },
      child: null,
      kills: 0,
      restarts: 0,
    },
    {
      name: 'inference',
      script: 'services/inference/main.ts',
      env: { DYNAB_INSTANCE_ID: 'i1' },
      child: null,
      kills: 0,
      restarts: 0,
    },
    {
      name: 'aggregator-a',
      script: 'services/aggregator/main.ts',
      env: { DYNAB_INSTANCE_ID: 'a', DYNAB_STATE_DIR: join(runDir, 'state') },
      child: null,
      kills: 0,
      restarts: 0,
    },
    {
      name: 'aggregator-b',
      script: 'services/aggregator/main.ts',
      env: { DYNAB_INSTANCE_ID: 'b', DYNAB_STATE_DIR: join(runDir, 'state') },
      child: null,
      kills: 0,
      restarts: 0,
    },
  ].map((m) => ({ ...m, env: { ...baseEnv, ...m.env } }));
  let shuttingDown = false;
  let stateWipes = 0;
  const launch = (m: Managed): Child => {
    const child = spawnService(`${m.name}-${m.restarts}`, m.script, m.env, logDir);
    m.child = child;
    child.process.once('exit', () => {
      if (shuttingDown || m.child !== child) return;
      if (m.wipeOnExit !== undefined) {
        rmSync(m.wipeOnExit, { recursive: true, force: true });
        delete m.wipeOnExit;
        stateWipes++;
      }
      m.restarts++;
      setTimeout(() => launch(m), 500);
    });
    return child;
  };
  // If the driver dies, take the services along.
  process.once('exit', () => {
    for (const m of managed) m.child?.process.kill('SIGKILL');
    local.child.process.kill('SIGKILL');
  });
  await Promise.all(managed.map((m) => waitForReady(launch(m), 120_000)));
  say('services running: router, inference, aggregator-a, aggregator-b');

  // --- the driver's view: predictions (read committed) and posteriors ---
  const { serve } = splitCorpus(loadSpamCorpus());
  const truthLabel = new Map<string, 'spam' | 'ham'>();
  const observed = new Map<string, ObservedPrediction>();
  const sentLabels = new Map<string, SentLabel[]>();
  let duplicatesSent = 0;
  let duplicatePredictions = 0;
  let neverSent = 0;
  let lateSent = 0;
  let reordered = 0;

  // Labels go out through one FIFO sender, so a partition's label event times only go back by
  // the bounded reordering below (less than the grace), whatever the broker does.
  const labelQueue: OutRecord[] = [];
  const extraQueue: OutRecord[] = [];
  const pendingTimers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      pendingTimers.delete(t);
      fn();
    }, ms);
    pendingTimers.add(t);
  };
  const enqueueLabel = (
    requestId: string,
    label: 'spam' | 'ham',
    eventTime: number,
    duplicate: boolean,
  ): void => {
    if (!duplicate) {
      const list = sentLabels.get(requestId) ?? [];
      list.push({ eventTime, label });
      sentLabels.set(requestId, list);
    }
    labelQueue.push({
      topic: topics.labels,
      key: requestId,
      value: codecs.label.encode({
        requestId,
        reward: null,
        label,
        eventTime,
        source: duplicate ? 'chaos-duplicate' : 'chaos',
      }),
    });
  };
  // Set from the end of the run; `as boolean` keeps TypeScript from narrowing it to false.
  let senderStopped = false as boolean;
  const sender = (async () => {
    while (!senderStopped || labelQueue.length > 0 || extraQueue.length > 0) {
      const batch = labelQueue.splice(0, 500);
      const extra = extraQueue.splice(0, 500);
      if (batch.length === 0 && extra.length === 0) {
        await sleep(20);
        continue;
      }
      for (;;) {
        try {
          await producer.send([...batch, ...extra]);
          break;
        } catch (error) {
          say(
            `label send failed (${error instanceof Error ? error.message : String(error)}); retrying`,
          );
          await sleep(1_000);
        }
      }
    }
  })();

  const decideFate = (requestId: string, label: 'spam' | 'ham'): void => {
    const roll = random();
    if (roll < 0.03) {
      neverSent++;
      return;
    }
    if (roll < 0.05) {
      // Late: the user answers after the attribution window.
      lateSent++;
      later(WINDOW_MS + 1_000 + random() * 4_000, () =>
        enqueueLabel(requestId, label, Date.now(), false),
      );
      return;
    }
    const delay = 100 + random() * 6_000;
    later(delay, () => {
      const eventTime = Date.now();
      if (random() < 0.1) {
        // Reordered: stamped now, sent up to 1 s later, after labels stamped after it.
        reordered++;
        later(random() * 1_000, () => enqueueLabel(requestId, label, eventTime, false));
      } else {
        enqueueLabel(requestId, label, eventTime, false);
      }
      if (random() < 0.06) {
        duplicatesSent++;
        later(200 + random() * 5_000, () => enqueueLabel(requestId, label, eventTime, true));
      }
    });
  };

  const predictions = await eventLog.createConsumer({
    groupId: `chaos-driver-${SEED}`,
    topics: [topics.predictions],
    fromBeginning: true,
  });
  await predictions.run((batch) => {
    for (const record of batch.records) {
      if (record.value === null) continue;
      const p = codecs.prediction.decode(record.value);
      if (observed.has(p.requestId)) continue; // our own injected duplicates, read back
      const label = truthLabel.get(p.requestId);
      if (label === undefined) continue;
      observed.set(p.requestId, {
        requestId: p.requestId,
        variant: p.invokedVariant ?? p.requestedVariant,
        requestTime: p.requestTime,
        predictedLabel: p.predictedLabel,
        failed: p.error !== null,
      });
      if (random() < 0.01) {
        duplicatePredictions++;
        extraQueue.push({ topic: topics.predictions, key: record.key, value: record.value });
      }
      decideFate(p.requestId, label);
    }
  });
  const posteriors = await startTableReader<PosteriorPublished>({
    eventLog,
    topic: topics.posteriors,
    decode: (r) => codecs.posterior.decode(r.value ?? Buffer.alloc(0)),
    groupPrefix: `chaos-posteriors-${SEED}`,
  });

  // --- faults: kills at random times while requests flow, and one broker restart ---
  const sendSeconds = REQUESTS / RATE;
  const faults: { at: number; what: string; run: () => Promise<void> }[] = [];
  for (const m of managed) {
    for (let k = 0; k < 3; k++) {
      // One kill of an aggregator also loses its disk: the restart restores from the changelog.
      const wipe =
        m.name === 'aggregator-a' && k === 0
          ? join(runDir, 'state', `aggregator-${m.env['DYNAB_INSTANCE_ID'] ?? ''}`)
          : undefined;
      faults.push({
        at: (0.1 + 0.75 * random()) * sendSeconds * 1000,
        what: `SIGKILL ${m.name}${wipe === undefined ? '' : ' and delete its state directory'}`,
        run: async () => {
          const child = m.child;
          if (child?.process.exitCode !== null) return;
          m.kills++;
          if (wipe !== undefined) m.wipeOnExit = wipe;
          child.process.kill('SIGKILL');
          await Promise.resolve();
        },
      });
    }
  }
  let brokerRestarts = 0;
  faults.push({
    at: 0.5 * sendSeconds * 1000,
    what: 'broker stop (5 s) and restart',
    run: async () => {
      await kafka.stop();
      await sleep(5_000);
      kafka = await startBroker();
      brokerRestarts++;
    },
  });
  faults.sort((a, b) => a.at - b.at);
  const started = Date.now();
  const faultRunner = (async () => {
    for (const fault of faults) {
      const wait = started + fault.at - Date.now();
      if (wait > 0) await sleep(wait);
      say(fault.what);
      await fault.run();
    }
  })();

  // --- requests ---
  let sent = 0;
  const tickMs = 50;
  while (sent < REQUESTS) {
    const due = Math.min(REQUESTS, Math.floor(((Date.now() - started) / 1000) * RATE));
    if (due > sent) {
      const records: OutRecord[] = [];
      for (; sent < due; sent++) {
        const mail = serve[Math.floor(random() * serve.length)];
        if (mail === undefined) continue;
        const requestId = `c${SEED}-${sent}`;
        truthLabel.set(requestId, mail.label);
        records.push({
          topic: topics.requests,
          key: requestId,
          value: codecs.request.encode({
            requestId,
            experiment: 'spam-filter',
            payload: cutPayload(mail.text),
            contentType: 'text/plain',
            userId: null,
            targetVariant: null,
            eventTime: Date.now(),
          }),
        });
      }
      for (;;) {
        try {
          await producer.send(records);
          break;
        } catch (error) {
          say(
            `request send failed (${error instanceof Error ? error.message : String(error)}); retrying`,
          );
          await sleep(1_000);
        }
      }
      if (Math.floor(sent / 10_000) > Math.floor((sent - records.length) / 10_000)) {
        say(`sent ${sent} requests; ${observed.size} predictions observed`);
      }
    }
    await sleep(tickMs);
  }
  await faultRunner;
  say(`all ${REQUESTS} requests sent; waiting for predictions`);
  const deadline = Date.now() + 20 * 60_000;
  while (observed.size < REQUESTS && Date.now() < deadline) await sleep(500);
  say(`${observed.size} predictions observed; waiting for the last labels`);
  while (pendingTimers.size > 0 || labelQueue.length > 0 || extraQueue.length > 0) await sleep(200);

  // Move every partition's watermark past every window: one label per partition, far ahead.
  const tickTime = Date.now() + WINDOW_MS + GRACE_MS + 1_000;
  labelQueue.push(
    ...watermarkTicks(topics.labels, PARTITIONS, tickTime, 'chaos-watermark', (l) =>
      codecs.label.encode(l),
    ),
  );
  senderStopped = true;
  await sender;

  // Ground truth from what was actually sent.
  const expected = new Map<string, TruthTally>();
  for (const prediction of observed.values()) {
    expectOutcome(
      expected,
      prediction,
      sentLabels.get(prediction.requestId) ?? [],
      WINDOW_MS,
      IMPLICIT_REWARD,
    );
  }
  const published = (): Map<string, TruthTally> => sumPartials(posteriors.values(), 'spam-filter');
  say('waiting for the posterior to settle');
  let verdict = judge(expected, published());
  const settleDeadline = Date.now() + 5 * 60_000;
  while (!verdict.exact && Date.now() < settleDeadline) {
    await sleep(1_000);
    verdict = judge(expected, published());
  }
  if (verdict.exact) {
    // Exact once is not enough: anything still in flight (a redelivered batch, a duplicate) would
    // show up within a few snapshot intervals, so judge again after a quiet period.
    await sleep(10_000);
    verdict = judge(expected, published());
  }

  shuttingDown = true;
  await predictions.stop().catch(() => undefined);
  await posteriors.stop().catch(() => undefined);
  await producer.close().catch(() => undefined);
  await Promise.all(
    managed.map((m) => (m.child === null ? Promise.resolve() : stopChild(m.child))),
  );
  await stopChild(local.child);
  await eventLog.close().catch(() => undefined);
  await kafka.stop();

  const kills = managed.map((m) => `${m.name} ${m.kills}`).join(', ');
  const late = [...expected.values()].reduce((s, t) => s + t.late, 0);
  const implicit = [...expected.values()].reduce((s, t) => s + t.implicit, 0);
  process.stdout.write(
    `chaos verdict: ${verdict.exact ? 'EXACT' : 'MISMATCH'} expected=${verdict.expected} published=${verdict.published} lost=${verdict.lost} double=${verdict.double}` +
      ` | requests=${REQUESTS} predictions=${observed.size} late=${late} implicit=${implicit} never-sent=${neverSent} late-sent=${lateSent} duplicate-labels=${duplicatesSent} duplicate-predictions=${duplicatePredictions} reordered=${reordered}` +
      ` | kills: ${kills}; state directories deleted ${stateWipes}; broker restarts ${brokerRestarts} | seed ${SEED}\n`,
  );
  if (!verdict.exact) {
    for (const line of verdict.mismatches) process.stdout.write(`  ${line}\n`);
    say(`logs kept in ${logDir}`);
    return 1;
  }
  await rm(runDir, { recursive: true, force: true });
  return 0;
}

process.exitCode = await main();
