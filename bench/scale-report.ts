// The scale benchmark's results as Markdown (tables with their method notes) and as one flat
// JSON object (the last line of the run, and the shape of bench/scale-baseline.json). Pure.
import { formatKafkaCeilingTable } from './kafka-ceiling.ts';
import type {
  DrainResult,
  ScaleResult,
  SizeDrains,
  SizeEndToEnd,
  SizeKey,
} from './scale-results.ts';

const SIZE_LABEL: Record<SizeKey, string> = { small: '256 B', spam: 'spam mails' };

const fmt = (value: number, digits = 0): string =>
  Number.isFinite(value)
    ? value.toLocaleString('en-US', {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : '–';
const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);
const percent = (value: number): string =>
  Number.isFinite(value) ? `${(value * 100).toFixed(1)}%` : '–';

function byKey<T extends { readonly size: SizeKey }>(
  rows: readonly T[],
  size: SizeKey,
): T | undefined {
  return rows.find((row) => row.size === size);
}

/** The flat summary: the JSON line of a run, compared with the baseline by key. */
/** `cpuRouterMicrosPerRequest`, … (`cpuSpamRouterMicrosPerRequest`, … for the mails). */
function cpuKeys(e2e: SizeEndToEnd | undefined, infix: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, micros] of Object.entries(e2e?.cpuPerRequestMicros ?? {}))
    out[`cpu${infix}${name[0]?.toUpperCase() ?? ''}${name.slice(1)}MicrosPerRequest`] = micros;
  return out;
}

export function scaleSummary(result: ScaleResult): Record<string, unknown> {
  const [smallCeiling, spamCeiling] = result.ceiling.rows;
  const small = byKey(result.endToEnd, 'small');
  const spam = byKey(result.endToEnd, 'spam');
  const smallDrains = byKey(result.drains, 'small');
  const spamDrains = byKey(result.drains, 'spam');
  const scaleOut = spamDrains?.scaleOut;
  const nan = Number.NaN;
  const latencyKeys = (e2e: SizeEndToEnd | undefined, infix: string): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const load of e2e?.loads ?? []) {
      const pct = Math.round(load.load * 100);
      out[`latency${infix}P50MsAt${pct}`] = load.latencyMs.p50;
      out[`latency${infix}P99MsAt${pct}`] = load.latencyMs.p99;
      out[`rewardLatency${infix}P99MsAt${pct}`] = load.rewardLatencyMs.p99;
    }
    return out;
  };
  const summary: Record<string, unknown> = {
    e2eRequestsPerSecond: small?.predictionsPerSecond ?? nan,
    e2eSpamRequestsPerSecond: spam?.predictionsPerSecond ?? nan,
    e2eRewardsPerSecond: small?.rewardsPerSecond ?? nan,
    e2eSpamRewardsPerSecond: spam?.rewardsPerSecond ?? nan,
    kafkaProducerRecordsPerSecond: smallCeiling?.producer.recordsPerSecond ?? nan,
    kafkaProducerSpamRecordsPerSecond: spamCeiling?.producer.recordsPerSecond ?? nan,
    kafkaConsumerRecordsPerSecond: smallCeiling?.consumer.fetchRecordsPerSecond ?? nan,
    kafkaConsumerSpamRecordsPerSecond: spamCeiling?.consumer.fetchRecordsPerSecond ?? nan,
    kafkaRoundTripP99Ms: smallCeiling?.latency.p99Ms ?? nan,
    kafkaSpamRoundTripP99Ms: spamCeiling?.latency.p99Ms ?? nan,
    e2eFractionOfKafkaProducer: ratio(
      small?.predictionsPerSecond ?? nan,
      smallCeiling?.producer.recordsPerSecond ?? nan,
    ),
    e2eSpamFractionOfKafkaProducer: ratio(
      spam?.predictionsPerSecond ?? nan,
      spamCeiling?.producer.recordsPerSecond ?? nan,
    ),
    routerPerSecond: smallDrains?.router.perSecond ?? nan,
    routerSpamPerSecond: spamDrains?.router.perSecond ?? nan,
    routerVsNoopTwin: twinRatio(smallDrains, 'router'),
    routerVsNoopTwinSpam: twinRatio(spamDrains, 'router'),
    inferenceInstantPerSecond: smallDrains?.inferenceInstant.perSecond ?? nan,
    inferenceInstantSpamPerSecond: spamDrains?.inferenceInstant.perSecond ?? nan,
    inferenceVsNoopTwin: twinRatio(smallDrains, 'inference'),
    inferenceVsNoopTwinSpam: twinRatio(spamDrains, 'inference'),
    inferenceRealModelPerSecond: smallDrains?.inferenceRealModel.perSecond ?? nan,
    inferenceRealModelSpamPerSecond: spamDrains?.inferenceRealModel.perSecond ?? nan,
    inferenceTwoInstancesPerSecond: scaleOut?.inferenceTwoInstances.perSecond ?? nan,
    inferenceScaleOut: ratio(
      scaleOut?.inferenceTwoInstances.perSecond ?? nan,
      spamDrains?.inferenceInstant.perSecond ?? nan,
    ),
    aggregatorRewardsPerSecond: scaleOut?.aggregatorOneInstance.perSecond ?? nan,
    aggregatorTwoInstancesRewardsPerSecond: scaleOut?.aggregatorTwoInstances.perSecond ?? nan,
    aggregatorScaleOut: ratio(
      scaleOut?.aggregatorTwoInstances.perSecond ?? nan,
      scaleOut?.aggregatorOneInstance.perSecond ?? nan,
    ),
    labelToRouterP50Ms: spam?.labelToRouterMs.p50 ?? nan,
    labelToRouterP99Ms: spam?.labelToRouterMs.p99 ?? nan,
    labelToRouterSamples: spam?.labelToRouterMs.count ?? 0,
    labelToRouterSmallP50Ms: small?.labelToRouterMs.p50 ?? nan,
    labelToRouterSmallP99Ms: small?.labelToRouterMs.p99 ?? nan,
    ...latencyKeys(small, ''),
    ...latencyKeys(spam, 'Spam'),
    ...cpuKeys(small, ''),
    ...cpuKeys(spam, 'Spam'),
    run: {
      requests: result.options.requests,
      partitions: result.options.partitions,
      quick: result.options.quick,
      broker: result.broker,
      seconds: Math.round(result.seconds),
      loadAverageStart: result.loadAverageStart,
      loadAverageEnd: result.loadAverageEnd,
    },
  };
  // JSON has no NaN: a metric that was not measured is null. Four significant digits are more
  // than any of these measures can claim.
  for (const [key, value] of Object.entries(summary))
    if (typeof value === 'number')
      summary[key] = Number.isFinite(value) ? Number(value.toPrecision(4)) : null;
  return summary;
}

/** Processes of the CPU table, in pipeline order. */
const CPU_COLUMNS = ['router', 'inference', 'aggregator', 'endpoint', 'broker', 'generator'];

function twinRatio(drains: SizeDrains | undefined, service: 'router' | 'inference'): number {
  if (drains === undefined) return Number.NaN;
  return service === 'router'
    ? ratio(drains.router.perSecond, drains.routerTwin.perSecond)
    : ratio(drains.inferenceInstant.perSecond, drains.inferenceTwin.perSecond);
}

function drainCells(drain: DrainResult): string {
  const failed = drain.failedOutputs > 0 ? ` (${fmt(drain.failedOutputs)} failed)` : '';
  return `${fmt(drain.perSecond)}${failed} | ${fmt(drain.seconds, 1)} s`;
}

/** The whole report as Markdown. */
export function formatScaleReport(result: ScaleResult): string {
  const out: string[] = [];
  const say = (line = ''): void => {
    out.push(line);
  };
  const { options } = result;
  say(`## Backend scale`);
  say();
  say(
    `${result.broker}, ${options.partitions} partitions, ${fmt(options.requests)} requests per maximum-rate run and per drain of mails, ${fmt(options.requests * result.plan.smallDrainFactor)} per drain of 256-byte records${options.quick ? ' (--quick)' : ''}; payloads: ${result.smallBytes} B (a mail cut to ${result.smallBytes} bytes of UTF-8) and the served spam mails (mean ${fmt(result.spamMeanBytes)} B). Load average ${result.loadAverageStart.toFixed(1)} at the start, ${result.loadAverageEnd.toFixed(1)} at the end; ${fmt(result.seconds)} s in all.`,
  );

  const summary = scaleSummary(result);
  const num = (key: string): number => {
    const value = summary[key];
    return typeof value === 'number' ? value : Number.NaN;
  };
  const cell = (key: string, digits = 0, unit = ''): string =>
    Number.isFinite(num(key)) ? `${fmt(num(key), digits)}${unit}` : '–';
  say();
  say('| headline | 256 B | spam mails |');
  say('|---|---:|---:|');
  say(
    `| end to end, requests → predictions /s | ${cell('e2eRequestsPerSecond')} | ${cell('e2eSpamRequestsPerSecond')} |`,
  );
  say(
    `| … of Kafka's producer records/s | ${percent(num('e2eFractionOfKafkaProducer'))} | ${percent(num('e2eSpamFractionOfKafkaProducer'))} |`,
  );
  say(
    `| router / no-op twin | ${cell('routerVsNoopTwin', 2)} | ${cell('routerVsNoopTwinSpam', 2)} |`,
  );
  say(
    `| inference (instant model) / no-op twin | ${cell('inferenceVsNoopTwin', 2)} | ${cell('inferenceVsNoopTwinSpam', 2)} |`,
  );
  say(
    `| label → router p99 at 80% | ${cell('labelToRouterSmallP99Ms', 0, ' ms')} | ${cell('labelToRouterP99Ms', 0, ' ms')} |`,
  );

  say();
  say(`### 1. Kafka's own ceiling`);
  say();
  say(
    `Kafka ${result.ceiling.kafkaVersion}'s ProducerPerformance (${Object.entries(
      result.ceiling.producerProps,
    )
      .map(([key, value]) => `${key}=${value}`)
      .join(
        ' ',
      )}; ${fmt(result.plan.ceilingSmallRecords)} / ${fmt(result.plan.ceilingSpamRecords)} records), ConsumerPerformance on the same records and EndToEndLatency (${fmt(result.plan.ceilingRoundTrips)} round trips), on the broker of this run.`,
  );
  say();
  say(formatKafkaCeilingTable(result.ceiling));

  say();
  say(`### 2. Each service beside its no-op twin (backlog drains)`);
  say();
  say(
    'Each row drains the same backlog: the records appear at once (written in one transaction, committed when the drainers are consuming), and the time runs from the commit to the moment the last output is readable (read committed; outputs commit with their input offsets, so the consumer lag is then 0). The twin is the same runner, client and process shell producing one copy of each input record with no work. The router and its twin drain twice each, in the order router, twin, twin, router, and each side\'s two drains are pooled (records over seconds, the drain column their sum), so a drift through the stage weighs on both alike; the inference rows consume the router\'s own output; "instant" is the local endpoint server with a model that answers `{"label":"ham"}` at once.',
  );
  say();
  say(
    '| payload | service | records/s | drain | no-op twin records/s | twin drain | service / twin |',
  );
  say('|---|---|---:|---:|---:|---:|---:|');
  for (const drains of result.drains) {
    const label = SIZE_LABEL[drains.size];
    say(
      `| ${label} | router (requests → assignments) | ${drainCells(drains.router)} | ${drainCells(drains.routerTwin)} | ${fmt(ratio(drains.router.perSecond, drains.routerTwin.perSecond), 2)} |`,
    );
    say(
      `| ${label} | inference, instant model | ${drainCells(drains.inferenceInstant)} | ${drainCells(drains.inferenceTwin)} | ${fmt(ratio(drains.inferenceInstant.perSecond, drains.inferenceTwin.perSecond), 2)} |`,
    );
    say(
      `| ${label} | inference, spam model | ${drainCells(drains.inferenceRealModel)} | ${drainCells(drains.inferenceTwin)} | ${fmt(ratio(drains.inferenceRealModel.perSecond, drains.inferenceTwin.perSecond), 2)} |`,
    );
  }

  say();
  say(`### 3. End to end at the maximum rate`);
  say();
  say(
    'Router, inference and aggregator processes and the local endpoint serving the trained spam models, all started once. The generator sends N requests as fast as acknowledgements allow (batches of 200, each request followed by its truth label) while at most "in flight" of them are sent and not yet rewarded, so that every stage works at once, as under a steady load, and the rewards set the pace (without that bound the aggregator drained the rewards alone at the end, with the machine to itself, and the rate came out above what the loop sustains); the rates run from the first send to the N-th prediction read back (read committed) and to the N-th reward on the rewards topic. Kafka\'s producer rate is the ceiling of one topic at the same record size; the mails travel twice through Kafka as payload (requests, assignments), so by bytes the pipeline moves about twice the fraction shown.',
  );
  say();
  say(
    '| payload | requests | in flight | requests → predictions /s | requests → rewards /s | Kafka producer records/s | predictions / Kafka producer |',
  );
  say('|---|---:|---:|---:|---:|---:|---:|');
  result.endToEnd.forEach((e2e, i) => {
    const producer = result.ceiling.rows[i]?.producer.recordsPerSecond ?? Number.NaN;
    say(
      `| ${SIZE_LABEL[e2e.size]} | ${fmt(e2e.requests)} | ${fmt(e2e.inFlight)} | ${fmt(e2e.predictionsPerSecond)} | ${fmt(e2e.rewardsPerSecond)} | ${fmt(producer)} | ${percent(ratio(e2e.predictionsPerSecond, producer))} |`,
    );
  });
  say();
  say(
    'Where the CPU goes during those runs: user + system time of each process from the first send to the last reward (`/proc/<pid>/stat`), per request. "generator" is the benchmark process (producer and the readers that time predictions, rewards and posteriors; its reader of assignments runs only during the loads below); the broker row is missing with an external broker. With two cores, 2,000,000 µs of CPU per second is the whole machine.',
  );
  say();
  say(`| payload | ${CPU_COLUMNS.join(' | ')} | total | → requests/s at 2 cores |`);
  say(`|---|${CPU_COLUMNS.map(() => '---:|').join('')}---:|---:|`);
  for (const e2e of result.endToEnd) {
    const cells = CPU_COLUMNS.map((name) => e2e.cpuPerRequestMicros[name]);
    const total = cells.reduce<number>((sum, us) => sum + (us ?? 0), 0);
    say(
      `| ${SIZE_LABEL[e2e.size]} | ${cells.map((us) => (us === undefined ? '–' : `${fmt(us)} µs`)).join(' | ')} | ${fmt(total)} µs | ${fmt(2_000_000 / total)} |`,
    );
  }

  say();
  say(`### 4. Request → prediction latency under open-loop load`);
  say();
  say(
    `Offered loads are fractions of the maximum rate above that the closed loop sustains (the lower of requests → predictions and requests → rewards: at a rate where the rewards fall behind, a label's way to the router grows without bound), ${fmt(result.plan.loadMs / 1000)} s each (the 80% load ${fmt(result.plan.probeLoadMs / 1000)} s). Request i is due at start + i / rate and is sent then or as soon as possible after (batches of what is due, at most 400 requests and 4 sends awaiting acknowledgement), each with its label; latency is the time its prediction is read back minus its intended send time, so a generator that falls behind shows as latency (no coordinated omission). The same is measured to the assignment (the router's output) to show where the time goes, by a reader of the assignments that starts after the maximum-rate run and has caught up before the loads, and to the reward (the aggregator's join of the prediction with the label sent right after the request, committed); "completed/s" is the requests over the time from the first intended send to the last prediction (so it includes the last request's latency); "late" is how far behind schedule the generator sent (p99 / max).`,
  );
  say();
  say(
    '| payload | load | offered req/s | requests | completed/s | p50 | p99 | max | of which → assignment p50 / p99 | → reward p50 / p99 | generator late p99 / max |',
  );
  say('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const e2e of result.endToEnd) {
    for (const load of e2e.loads) {
      say(
        `| ${SIZE_LABEL[e2e.size]} | ${fmt(load.load * 100)}% | ${fmt(load.offeredPerSecond)} | ${fmt(load.requests)} | ${fmt(load.achievedPerSecond)} | ${fmt(load.latencyMs.p50)} ms | ${fmt(load.latencyMs.p99)} ms | ${fmt(load.latencyMs.max)} ms | ${fmt(load.assignmentLatencyMs.p50)} / ${fmt(load.assignmentLatencyMs.p99)} ms | ${fmt(load.rewardLatencyMs.p50)} / ${fmt(load.rewardLatencyMs.p99)} ms | ${fmt(load.sendLateP99Ms)} / ${fmt(load.sendLateMaxMs)} ms |`,
      );
    }
  }

  say();
  say(`### 5. Label → router, at 80% of the sustained maximum rate`);
  say();
  say(
    "During the 80% load (whose requests all carry truth labels, rewards 0 or 1), probes one at a time: a label with an explicit reward of 0.25 for a probe request predicted before the load, sent through a producer of its own, and the time until a table reader of the posteriors topic (the router's reader, merged the router's way) holds it. Every other reward is a whole number, so the merged reward sum gains exactly one quarter when, and only when, the probe is in the router's view. The aggregator publishes changed posteriors at most every DYNAB_SNAPSHOT_INTERVAL_MS (default 50 ms); each probe waits a seeded pause drawn uniformly from [0, that interval) before it is sent, so that probes arrive at any phase of that timer, as labels do.",
  );
  say();
  say('| payload | probes | p50 | p99 | max |');
  say('|---|---:|---:|---:|---:|');
  for (const e2e of result.endToEnd) {
    const l = e2e.labelToRouterMs;
    say(
      `| ${SIZE_LABEL[e2e.size]} | ${fmt(l.count)} | ${fmt(l.p50)} ms | ${fmt(l.p99)} ms | ${fmt(l.max)} ms |`,
    );
  }

  say();
  say(`### 6. Scale-out: 1 vs 2 instances (spam mails)`);
  say();
  say(
    "Same backlog drain as in 2, with the instances in one consumer group (distinct DYNAB_INSTANCE_ID; each aggregator with its own DYNAB_STATE_DIR), all consuming before the backlog appears. Inference runs against the instant model so that the endpoint is not what is scaled; the aggregator drains the spam model's predictions plus a truth label for each (rewards/s).",
  );
  say();
  say('| service | 1 instance /s | 2 instances /s | 2 / 1 |');
  say('|---|---:|---:|---:|');
  const spamDrains = byKey(result.drains, 'spam');
  const scaleOut = spamDrains?.scaleOut;
  if (spamDrains !== undefined && scaleOut !== undefined) {
    say(
      `| inference (assignments → predictions) | ${fmt(spamDrains.inferenceInstant.perSecond)} | ${fmt(scaleOut.inferenceTwoInstances.perSecond)} | ${fmt(ratio(scaleOut.inferenceTwoInstances.perSecond, spamDrains.inferenceInstant.perSecond), 2)} |`,
    );
    say(
      `| aggregator (predictions + labels → rewards) | ${fmt(scaleOut.aggregatorOneInstance.perSecond)} | ${fmt(scaleOut.aggregatorTwoInstances.perSecond)} | ${fmt(ratio(scaleOut.aggregatorTwoInstances.perSecond, scaleOut.aggregatorOneInstance.perSecond), 2)} |`,
    );
  }
  return out.join('\n');
}
