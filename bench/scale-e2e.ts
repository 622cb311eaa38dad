// End to end in the scale benchmark: the whole stack (router, inference and aggregator processes,
// the local endpoint serving the trained spam models), for each record size:
//   - the maximum rate: N requests, each followed by its truth label, sent as fast as
//     acknowledgements allow while at most a window of them is unrewarded (maxRateInFlight), so
//     every stage runs at once, as under a steady load; rates from the first send to the N-th
//     prediction (read committed) and to the N-th reward;
//   - open-loop loads at fractions of the rate the closed loop sustains (the lower of the two: a
//     rate at which rewards fall further behind every second is not sustained, and a label's way
//     to the router then grows without bound), request → prediction latency measured from each
//     request's intended send time;
//   - during the 80% load, label → router probes (see PROBE_REWARD in scale-measures.ts).
import { performance } from 'node:perf_hooks';
import { createSeededRandom } from '../lib/bandit/random.ts';
import { loadConfig } from '../lib/config/config.ts';
import type { PosteriorPublished } from '../lib/contracts/events.ts';
import { mergeExperimentTotals } from '../lib/contracts/posterior-totals.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { startTableReader, type TableReader } from '../lib/stream/table-reader.ts';
import { waitForReady } from '../services/launcher/service-processes.ts';
import { CpuMeter } from './process-cpu.ts';
import { startKeyWatcher, withTimeout, type KeyWatcher } from './scale-harness.ts';
import {
  PROBE_REWARD,
  dueRequests,
  intendedSendTime,
  openLoopRequests,
  phaseOf,
  probeQuarters,
  ratePerSecond,
  requestIdOf,
  summarizeLatencies,
  type LatencySummary,
} from './scale-measures.ts';
import {
  LATENCY_LOADS,
  PROBE_LOAD,
  maxRateInFlight,
  warmUpRequests,
  type LoadPhaseResult,
  type ScalePlan,
  type SizeEndToEnd,
} from './scale-results.ts';
import {
  ENDPOINTS,
  EXPERIMENT,
  READY_TIMEOUT_MS,
  SCRIPTS,
  STALL_MS,
  deadlineFor,
  labelRecord,
  requestRecord,
  type PayloadSize,
  type ScaleContext,
  type Stage,
} from './scale-stage.ts';

/** Requests of one send of the maximum-rate generator (each followed by its label). */
const MAX_RATE_BATCH = 200;
/** The open-loop generator sends what is due in batches of at most this many requests... */
const OPEN_LOOP_MAX_BATCH = 400;
/** ...with at most this many sends awaiting their acknowledgement. */
const OPEN_LOOP_MAX_IN_FLIGHT = 4;
/** The stream services of the stack, in the order they are started. */
const E2E_SERVICES = ['aggregator', 'inference', 'router'] as const;

/** A probe label must be visible to the router within this long. */
const PROBE_TIMEOUT_MS = 30_000;
/**
 * Before each probe, a pause drawn uniformly from [0, the aggregator's snapshot interval) ms
 * (seeded). Sent the moment the previous probe was seen, that is just after a publication, every
 * probe would arrive at the same phase of the aggregator's publication timer and its latency
 * would be its processing time rounded up to a whole interval (with 200 ms: p50 ~200 ms or
 * ~400 ms, little in between). Real labels arrive at any phase.
 */
const PROBE_SEED = 8;

/**
 * Runs the end-to-end measures for each size in turn on one stack, started once; every phase
 * waits for all of its predictions and rewards before the next begins.
 */
export async function runEndToEnd(
  ctx: ScaleContext,
  stage: Stage,
  plan: ScalePlan,
  requests: number,
  sizes: readonly PayloadSize[],
): Promise<SizeEndToEnd[]> {
  const { eventLog, codecs, note, logDir } = ctx;
  const { producer } = stage;
  // Probe labels go through a producer of their own, as from another application: on the load's
  // producer they would wait behind its sends, and a generator falling behind would show as
  // label → router latency.
  const probeProducer = await eventLog.createProducer();
  stage.cleanup.defer('close the probe producer', () => probeProducer.close());
  const topics = await stage.prepareTopics(stage.prefix);
  const spamEndpoint = await stage.endpoint(
    'e2e-spam-endpoint',
    ENDPOINTS.spam,
    stage.serviceEnv(stage.prefix),
  );
  const env = stage.serviceEnv(stage.prefix, { DYNAB_SAGEMAKER_ENDPOINT_URL: spamEndpoint.url });
  const probeJitterMs = loadConfig(env).snapshotIntervalMs;
  const services = E2E_SERVICES.map((name) => stage.spawn(`e2e-${name}`, SCRIPTS[name], env));
  await Promise.all(services.map((child) => waitForReady(child, READY_TIMEOUT_MS)));
  const stack = [spamEndpoint.child, ...services];

  const latencies = new LatencyRecorder();
  const predictions: KeyWatcher = await startKeyWatcher({
    eventLog,
    topic: topics.predictions,
    groupId: `${stage.prefix}watch-predictions`,
    onFirstSeen: (key, arrivedAt) => latencies.arrived('prediction', key, arrivedAt),
  });
  stage.cleanup.defer('stop the predictions reader', () => predictions.stop());
  const rewards = await startKeyWatcher({
    eventLog,
    topic: topics.rewards,
    groupId: `${stage.prefix}watch-rewards`,
    onFirstSeen: (key, arrivedAt) => latencies.arrived('reward', key, arrivedAt),
  });
  stage.cleanup.defer('stop the rewards reader', () => rewards.stop());

  // The router's view of the posteriors: the same table reader on the same topic, merged the
  // way the router merges partials. A probe waits for the merged reward sum to hold its quarter.
  let probeWaiter: {
    quarters: number;
    resolve: (at: number) => void;
    reject: (e: Error) => void;
  } | null = null;
  let posteriors: TableReader<PosteriorPublished> | null = null;
  const rewardSum = (): number => {
    if (posteriors === null) return 0;
    const totals = mergeExperimentTotals(posteriors.values(), EXPERIMENT, null);
    let sum = 0;
    for (const variant of totals.served.values()) sum += variant.successes;
    return sum;
  };
  posteriors = await startTableReader<PosteriorPublished>({
    eventLog,
    topic: topics.posteriors,
    decode: (record) => codecs.posterior.decode(record.value ?? Buffer.alloc(0)),
    groupPrefix: `${stage.prefix}bench-posteriors`,
    onChange: () => {
      const waiter = probeWaiter;
      if (waiter === null) return;
      const seenAt = performance.now();
      try {
        if (probeQuarters(rewardSum()) !== waiter.quarters) return;
        probeWaiter = null;
        waiter.resolve(seenAt);
      } catch (error) {
        probeWaiter = null;
        waiter.reject(error as Error);
      }
    },
  });
  const posteriorReader = posteriors;
  stage.cleanup.defer('stop the posteriors reader', () => posteriorReader.stop());

  const waitOptions = (what: string, records: number) => ({
    what,
    timeoutMs: deadlineFor(records),
    stallMs: STALL_MS,
    children: stack,
    logDir,
  });
  const sendRequestsWithLabels = (size: PayloadSize, phase: string, from: number, to: number) => {
    const records: OutRecord[] = [];
    for (let i = from; i < to; i++) {
      const requestId = requestIdOf(phase, i);
      records.push({ topic: topics.requests, ...requestRecord(codecs, size, requestId, i) });
      records.push({
        topic: topics.labels,
        ...labelRecord(codecs, requestId, size.truth(i), null),
      });
    }
    return producer.send(records);
  };

  // Warm-up at every size: connections, JIT, consumer groups and the models' first calls.
  for (const size of sizes) {
    const phase = `warmup-${size.key}`;
    const n = warmUpRequests(plan, requests);
    for (let i = 0; i < n; i += MAX_RATE_BATCH)
      await sendRequestsWithLabels(size, phase, i, Math.min(n, i + MAX_RATE_BATCH));
    await predictions.waitFor(n, phase, waitOptions(`${phase} predictions`, n));
    await rewards.waitFor(n, phase, waitOptions(`${phase} rewards`, n));
  }

  // Probe requests, predicted now (unloaded) so that their labels join at once later.
  const probesPerSize = Math.ceil(plan.probeLoadMs / 100) + 10;
  for (const size of sizes) {
    const phase = `probe-${size.key}`;
    await producer.send(
      Array.from({ length: probesPerSize }, (_, k) => ({
        topic: topics.requests,
        ...requestRecord(codecs, size, requestIdOf(phase, k), k),
      })),
    );
    await predictions.waitFor(
      probesPerSize,
      phase,
      waitOptions(`${phase} predictions`, probesPerSize),
    );
  }

  const results: SizeEndToEnd[] = [];
  for (const size of sizes) {
    // Maximum rate: N requests, each followed by its label, sent as fast as acknowledgements allow.
    const maxPhase = `max-${size.key}`;
    const n = requests;
    note(`e2e ${size.key}: ${n} requests at the maximum rate`);
    const cpu = new CpuMeter(
      new Map([
        ...services.map((child, i) => [E2E_SERVICES[i] ?? child.name, child.process.pid] as const),
        ['endpoint', spamEndpoint.child.process.pid],
        ['broker', ctx.brokerPid],
        ['generator', process.pid],
      ]),
    );
    const inFlight = maxRateInFlight(n);
    const firstSend = performance.now();
    const sending = (async () => {
      for (let i = 0; i < n; i += MAX_RATE_BATCH) {
        const end = Math.min(n, i + MAX_RATE_BATCH);
        // Unsent until enough of the earlier requests are rewarded: the last stage keeps pace.
        if (end > inFlight)
          await rewards.waitFor(
            end - inFlight,
            maxPhase,
            waitOptions(`${maxPhase} rewards (window)`, end - inFlight),
          );
        await sendRequestsWithLabels(size, maxPhase, i, end);
      }
      return performance.now();
    })();
    const [sentAll, predicted] = await Promise.all([
      sending,
      predictions.waitFor(n, maxPhase, waitOptions(`${maxPhase} predictions`, n)),
    ]);
    const rewarded = await rewards.waitFor(n, maxPhase, waitOptions(`${maxPhase} rewards`, n));
    const cpuPerRequestMicros = cpu.perItemMicros(n);
    const predictionsPerSecond = ratePerSecond(n, firstSend, predicted);
    const rewardsPerSecond = ratePerSecond(n, firstSend, rewarded);
    const secondsTo = (count: number): string =>
      (((predictions.reachedAt(count, maxPhase) ?? Number.NaN) - firstSend) / 1000).toFixed(1);
    note(
      `e2e ${size.key}: ${predictionsPerSecond.toFixed(0)} requests/s → predictions (sent in ${((sentAll - firstSend) / 1000).toFixed(1)} s; predictions 1, 25%, 50%, 75%, 100% after ${[1, n / 4, n / 2, (3 * n) / 4, n].map((c) => secondsTo(Math.max(1, Math.round(c)))).join(', ')} s)`,
    );

    // Assignments are read too, to split the open-loop latency at the router's output, but only
    // from here on: during the maximum-rate run the generator reads predictions and rewards, as
    // a backend would, and not a third copy of every payload. The reader starts at the
    // beginning of the topic and has caught up once it has read the maximum-rate run's
    // assignments, the last ones written before the loads.
    const assignments = await startKeyWatcher({
      eventLog,
      topic: topics.assignments,
      groupId: `${stage.prefix}watch-assignments-${size.key}`,
      onFirstSeen: (key, arrivedAt) => {
        if (isLoadPhaseOf(key, size)) latencies.arrived('assignment', key, arrivedAt);
      },
    });
    let assignmentsStopped = false;
    const stopAssignments = async (): Promise<void> => {
      if (assignmentsStopped) return;
      assignmentsStopped = true;
      await assignments.stop();
    };
    stage.cleanup.defer(`stop the assignments reader (${size.key})`, stopAssignments);
    await assignments.waitFor(n, maxPhase, waitOptions(`${maxPhase} assignments read back`, n));

    const loads: LoadPhaseResult[] = [];
    let labelToRouter: number[] = [];
    const sustainedPerSecond = Math.min(predictionsPerSecond, rewardsPerSecond);
    for (const load of LATENCY_LOADS) {
      const rate = load * sustainedPerSecond;
      const probing = load === PROBE_LOAD;
      const durationMs = probing ? plan.probeLoadMs : plan.loadMs;
      note(
        `e2e ${size.key}: ${(load * 100).toFixed(0)}% load, ${rate.toFixed(0)} requests/s for ${durationMs / 1000} s`,
      );
      const result = await runOpenLoopPhase({
        size,
        load,
        rate,
        durationMs,
        send: (phase, from, to) => sendRequestsWithLabels(size, phase, from, to),
        latencies,
        predictions,
        rewards,
        waitOptions,
        probe: probing
          ? async (shouldStop) => {
              const samples: number[] = [];
              const phase = `probe-${size.key}`;
              const jitter = createSeededRandom(PROBE_SEED);
              for (let k = 0; k < probesPerSize && !shouldStop(); k++) {
                await sleep(jitter() * probeJitterMs);
                if (shouldStop()) break;
                const quarters = (probeQuarters(rewardSum()) + 1) % 4;
                const seen = new Promise<number>((resolve, reject) => {
                  probeWaiter = { quarters, resolve, reject };
                });
                const sentAt = performance.now();
                await probeProducer.send([
                  {
                    topic: topics.labels,
                    ...labelRecord(codecs, requestIdOf(phase, k), null, PROBE_REWARD),
                  },
                ]);
                const seenAt = await withTimeout(
                  seen,
                  PROBE_TIMEOUT_MS,
                  `the router's view to include label probe ${k} (${phase})`,
                );
                samples.push(seenAt - sentAt);
              }
              return samples;
            }
          : null,
      });
      loads.push(result.phase);
      if (result.probeSamples !== null) labelToRouter = result.probeSamples;
    }
    await stopAssignments();
    results.push({
      size: size.key,
      requests: n,
      inFlight,
      predictionsPerSecond,
      rewardsPerSecond,
      loads,
      labelToRouterMs: summarizeLatencies(labelToRouter),
      cpuPerRequestMicros,
    });
  }
  return results;
}

interface OpenLoopSpec {
  readonly size: PayloadSize;
  readonly load: number;
  readonly rate: number;
  readonly durationMs: number;
  readonly send: (phase: string, from: number, to: number) => Promise<void>;
  readonly latencies: LatencyRecorder;
  readonly predictions: KeyWatcher;
  readonly rewards: KeyWatcher;
  readonly waitOptions: (what: string, records: number) => Parameters<KeyWatcher['waitFor']>[2];
  /** Runs beside the generator; `shouldStop()` turns true once the generator has finished. */
  readonly probe: ((shouldStop: () => boolean) => Promise<number[]>) | null;
}

/**
 * An open-loop phase: request i is due at start + i / rate whatever happened to the ones before
 * it, and is sent (with its label) at that time or as soon as possible after it, in small
 * batches. Latency is measured from the intended send time, so a generator that falls behind
 * shows up as latency instead of hiding it (no coordinated omission).
 */
async function runOpenLoopPhase(
  spec: OpenLoopSpec,
): Promise<{ phase: LoadPhaseResult; probeSamples: number[] | null }> {
  const phase = `load${Math.round(spec.load * 100)}-${spec.size.key}`;
  const total = openLoopRequests(spec.rate, spec.durationMs);
  const sendLate: number[] = [];
  const inFlight = new Set<Promise<void>>();
  // Set by a failed send's callback (an object, so the loop's checks see the callback's write).
  const failure: { error: Error | null } = { error: null };
  let generatorDone = false;
  const start = performance.now() + 20;
  const probing =
    spec.probe === null
      ? null
      : (async () => {
          // Probes start once the load has run for a tenth of the phase (part of the schedule).
          await sleep(Math.max(0, start + spec.durationMs / 10 - performance.now()));
          return spec.probe?.(() => generatorDone) ?? [];
        })();
  // Awaited after the generator; a probe failing before that must not count as unhandled.
  probing?.catch(() => undefined);
  try {
    let next = 0;
    while (next < total) {
      if (failure.error !== null) throw failure.error;
      const now = performance.now();
      const due = dueRequests(start, spec.rate, now, total);
      if (due <= next) {
        await sleep(intendedSendTime(start, spec.rate, next) - now);
        continue;
      }
      if (inFlight.size >= OPEN_LOOP_MAX_IN_FLIGHT) {
        await Promise.race(inFlight);
        continue;
      }
      const end = Math.min(due, next + OPEN_LOOP_MAX_BATCH);
      for (let i = next; i < end; i++) {
        const intendedAt = intendedSendTime(start, spec.rate, i);
        spec.latencies.intend(requestIdOf(phase, i), intendedAt);
        sendLate.push(now - intendedAt);
      }
      const sent: Promise<void> = spec
        .send(phase, next, end)
        .catch((error: unknown) => {
          failure.error = error instanceof Error ? error : new Error(String(error));
        })
        .finally(() => inFlight.delete(sent));
      inFlight.add(sent);
      next = end;
    }
    await Promise.all(inFlight);
    if (failure.error !== null) throw failure.error;
  } finally {
    generatorDone = true;
  }
  const probeSamples = probing === null ? null : await probing;
  const last = await spec.predictions.waitFor(
    total,
    phase,
    spec.waitOptions(`${phase} predictions`, total),
  );
  await spec.rewards.waitFor(total, phase, spec.waitOptions(`${phase} rewards`, total));
  const late = summarizeLatencies(sendLate);
  return {
    phase: {
      load: spec.load,
      offeredPerSecond: spec.rate,
      requests: total,
      achievedPerSecond: ratePerSecond(total, start, last),
      latencyMs: spec.latencies.summary('prediction', phase),
      assignmentLatencyMs: spec.latencies.summary('assignment', phase),
      rewardLatencyMs: spec.latencies.summary('reward', phase),
      sendLateP99Ms: late.p99,
      sendLateMaxMs: late.max,
    },
    probeSamples,
  };
}

type LatencyStream = 'assignment' | 'prediction' | 'reward';

/**
 * Latencies from each request's intended send time (kept in this process, by request id) to the
 * moment its assignment, its prediction and its reward are read back, per phase.
 */
class LatencyRecorder {
  private readonly intended = new Map<string, number>();
  private readonly samples = new Map<string, number[]>();

  intend(requestId: string, at: number): void {
    this.intended.set(requestId, at);
  }

  arrived(stream: LatencyStream, requestId: string, at: number): void {
    const sentAt = this.intended.get(requestId);
    if (sentAt === undefined) return;
    const key = `${stream}\u0000${phaseOf(requestId)}`;
    const list = this.samples.get(key) ?? [];
    list.push(at - sentAt);
    this.samples.set(key, list);
  }

  summary(stream: LatencyStream, phase: string): LatencySummary {
    return summarizeLatencies(this.samples.get(`${stream}\u0000${phase}`) ?? []);
  }
}

/** Whether a request id belongs to an open-loop load phase of this size (see runOpenLoopPhase). */
function isLoadPhaseOf(requestId: string, size: PayloadSize): boolean {
  const phase = phaseOf(requestId);
  return phase.startsWith('load') && phase.endsWith(`-${size.key}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}
