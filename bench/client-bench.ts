// Kafka client benchmark: the same broker and workload for every client that is installed.
//   node --import tsx bench/client-bench.ts [--rounds 3] [--clients kafkajs,platformatic,confluent]
//     [--phases produce,consume,relay] [--small 100000] [--large 20000] [--relay 50000]
//     [--call-size 1000] [--in-flight 1] [--partitions 4] [--profile-dir DIR]
// Candidates are not dependencies: one is measured when it is installed in the project or in
// DYNAB_BENCH_MODULES (a folder with a node_modules), and skipped otherwise.
// DYNAB_BROKERS points it at an existing cluster instead of an embedded broker.
// --profile-dir writes a V8 CPU profile of each timed produce loop (and nothing else: no start-up,
// no broker wait) to DIR/<client>-<phase>-r<round>.cpuprofile, for Chrome DevTools or speedscope.
//
// Workloads, each on fresh topics of `--partitions` partitions:
//   (a) produce: `--small` records of 256 B, then `--large` of 5,400 B (the demo's mean mail),
//       keyed by a random request id, one header, acks=all, idempotent, in calls of
//       `--call-size` records, `--in-flight` calls at a time (1: each awaited before the next);
//       records/s and the Node process's CPU time (user + system, all threads) per record.
//   (b) consume both topics back from the beginning in a new group; records/s from the first
//       record to the last (the group join is not counted).
//   (c) relay: a backlog of `--relay` records of 256 B moved to another topic, read committed,
//       each delivered partition batch's outputs and offsets committed in one transaction.
// Every run is checked: the produced topics hold exactly the records sent, the consumers saw
// each once, and the relay's output holds each input exactly once (read back read committed)
// and its group resumes after the last input.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedKafka, type EmbeddedKafka } from '../infra/kafka/embedded-kafka.ts';
import type { OutRecord } from '../lib/event-log/event-log.ts';
import { KafkaEventLog } from '../lib/event-log/kafka-event-log.ts';
import { Tally, within, type BenchClient } from './client-bench/bench-client.ts';
import { loadConfluent } from './client-bench/confluent-client.ts';
import { EventLogBenchClient } from './client-bench/event-log-client.ts';
import { loadPlatformatic } from './client-bench/platformatic-client.ts';

function flag(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : Number.NaN;
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function listFlag(name: string, fallback: readonly string[]): string[] {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? process.argv[index + 1] : undefined;
  return value === undefined ? [...fallback] : value.split(',').filter((v) => v !== '');
}

const SMALL_BYTES = 256;
const LARGE_BYTES = 5_400;
const WARM_UP_RECORDS = 100;
const HEADERS = { 'content-type': 'application/octet-stream' } as const;

const options = {
  rounds: flag('rounds', 3),
  small: flag('small', 100_000),
  large: flag('large', 20_000),
  relay: flag('relay', 50_000),
  callSize: flag('call-size', 1_000),
  inFlight: flag('in-flight', 1),
  partitions: flag('partitions', 4),
  clients: listFlag('clients', ['kafkajs', 'platformatic', 'confluent']),
  phases: listFlag('phases', ['produce', 'consume', 'relay']),
  profileDir: listFlag('profile-dir', [])[0],
};

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Records without a topic yet; the value starts with its index so copies can be told apart. */
type Payload = Omit<OutRecord, 'topic'>;

function makePayloads(count: number, size: number): Payload[] {
  const pool = randomBytes(count * size);
  return Array.from({ length: count }, (_, i) => {
    const value = pool.subarray(i * size, (i + 1) * size);
    value.writeUInt32BE(i, 0);
    return { key: randomUUID(), value, headers: HEADERS };
  });
}

const onTopic = (payloads: readonly Payload[], topic: string): OutRecord[] =>
  payloads.map((p) => ({ ...p, topic }));

interface Sample {
  readonly perSecond: number;
  readonly cpuMicrosPerRecord: number;
  readonly batches: number;
  readonly correct: boolean;
  readonly note: string;
}

type Phase = 'produce-small' | 'produce-large' | 'consume-small' | 'consume-large' | 'relay';
const PHASES: readonly Phase[] = [
  'produce-small',
  'produce-large',
  'consume-small',
  'consume-large',
  'relay',
];

/** Runs `work` under the V8 profiler when --profile-dir is set, writing the profile as `name`. */
async function profiled<T>(name: string, work: () => Promise<T>): Promise<T> {
  if (options.profileDir === undefined) return work();
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = await session.post('Profiler.stop');
    await mkdir(options.profileDir, { recursive: true });
    await writeFile(join(options.profileDir, `${name}.cpuprofile`), JSON.stringify(profile));
    return result;
  } finally {
    session.disconnect();
  }
}

function cpuMicros(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/** Sums the end offsets of a topic's partitions: the record count of a non-transactional topic. */
async function recordsIn(reference: KafkaEventLog, topic: string): Promise<number> {
  const offsets = await reference.fetchOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high) - Number(o.low), 0);
}

async function measureProduce(
  client: BenchClient,
  reference: KafkaEventLog,
  topic: string,
  payloads: readonly Payload[],
  profileName: string,
): Promise<Sample> {
  const producer = await client.openProducer();
  let perSecond = Number.NaN;
  let cpu = Number.NaN;
  let calls = 0;
  const warmUp = payloads.slice(0, WARM_UP_RECORDS);
  try {
    // Connections, metadata and the producer id are settled before the clock starts.
    await producer.send(onTopic(warmUp, topic));
    const records = onTopic(payloads, topic);
    await profiled(profileName, async () => {
      const cpuStart = process.cpuUsage();
      const started = performance.now();
      let next = 0;
      const sendCalls = async (): Promise<void> => {
        while (next < records.length) {
          const call = records.slice(next, next + options.callSize);
          next += options.callSize;
          calls += 1;
          await producer.send(call);
        }
      };
      await Promise.all(Array.from({ length: options.inFlight }, sendCalls));
      perSecond = records.length / ((performance.now() - started) / 1000);
      cpu = cpuMicros(cpuStart);
    });
  } finally {
    await producer.close();
  }
  const expected = payloads.length + warmUp.length;
  const found = await recordsIn(reference, topic);
  return {
    perSecond,
    cpuMicrosPerRecord: cpu / payloads.length,
    batches: calls,
    correct: found === expected,
    note: found === expected ? '' : `topic holds ${found} records, ${expected} sent`,
  };
}

async function measureConsume(
  client: BenchClient,
  topic: string,
  expected: number,
): Promise<Sample> {
  const tally = new Tally(expected);
  const cpuStart = process.cpuUsage();
  await client.consume(topic, `g-${randomUUID().slice(0, 8)}`, tally);
  const cpu = cpuMicros(cpuStart);
  const correct = tally.duplicates === 0 && tally.count === expected;
  return {
    perSecond: tally.count / tally.seconds,
    cpuMicrosPerRecord: cpu / tally.count,
    batches: tally.batches,
    correct,
    note: correct ? '' : `${tally.count} delivered of ${expected}, ${tally.duplicates} repeats`,
  };
}

/** Reads a topic read-committed with the reference client until every index is seen once. */
async function checkRelayOutput(
  reference: KafkaEventLog,
  topic: string,
  expected: number,
): Promise<{ distinct: number; copies: number }> {
  const seen = new Uint8Array(expected);
  let distinct = 0;
  let copies = 0;
  const consumer = await reference.createConsumer({
    groupId: `check-${randomUUID().slice(0, 8)}`,
    topics: [topic],
    fromBeginning: true,
  });
  try {
    let done: () => void = () => undefined;
    const complete = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run((batch) => {
      for (const record of batch.records) {
        const index = record.value?.readUInt32BE(0) ?? -1;
        if (index < 0 || index >= expected || seen[index] === 1) copies += 1;
        else {
          seen[index] = 1;
          distinct += 1;
        }
      }
      if (distinct === expected) done();
    });
    await within(`reading back ${topic}`, 120_000, complete).catch(() => undefined);
  } finally {
    await consumer.stop();
  }
  return { distinct, copies };
}

/** True when a new member of the group starts after the relayed records (offsets committed). */
async function checkGroupResumes(
  reference: KafkaEventLog,
  input: string,
  groupId: string,
): Promise<boolean> {
  const producer = await reference.createProducer();
  await producer.send([{ topic: input, key: 'sentinel', value: Buffer.from('sentinel') }]);
  await producer.close();
  const consumer = await reference.createConsumer({
    groupId,
    topics: [input],
    fromBeginning: true,
  });
  let before = 0;
  try {
    let done: () => void = () => undefined;
    const sentinel = new Promise<void>((resolve) => {
      done = resolve;
    });
    await consumer.run((batch) => {
      for (const record of batch.records) {
        if (record.key?.toString() === 'sentinel') done();
        else before += 1;
      }
    });
    await within(`the sentinel in ${input}`, 60_000, sentinel);
  } finally {
    await consumer.stop();
  }
  return before === 0;
}

async function measureRelay(
  client: BenchClient,
  reference: KafkaEventLog,
  prefix: string,
  payloads: readonly Payload[],
): Promise<Sample> {
  const input = `${prefix}-relay-in`;
  const output = `${prefix}-relay-out`;
  await reference.ensureTopics([
    { name: input, partitions: options.partitions, compacted: false },
    { name: output, partitions: options.partitions, compacted: false },
  ]);
  const feeder = await reference.createProducer();
  const records = onTopic(payloads, input);
  for (let i = 0; i < records.length; i += 5_000) await feeder.send(records.slice(i, i + 5_000));
  await feeder.close();

  const groupId = `${prefix}-relay`;
  const tally = new Tally(payloads.length);
  const cpuStart = process.cpuUsage();
  await client.relay(input, output, groupId, `${prefix}-tx`, tally);
  const cpu = cpuMicros(cpuStart);
  const { distinct, copies } = await checkRelayOutput(reference, output, payloads.length);
  const resumes = await checkGroupResumes(reference, input, groupId);
  const correct = tally.duplicates === 0 && distinct === payloads.length && copies === 0 && resumes;
  return {
    perSecond: tally.count / tally.seconds,
    cpuMicrosPerRecord: cpu / tally.count,
    batches: tally.batches,
    correct,
    note: correct
      ? ''
      : `output ${distinct} distinct of ${payloads.length}, ${copies} copies, ${tally.duplicates} redeliveries, group resumes after input: ${resumes}`,
  };
}

async function runRound(
  client: BenchClient,
  clientKey: string,
  round: number,
  reference: KafkaEventLog,
  data: { small: Payload[]; large: Payload[]; relay: Payload[] },
): Promise<Map<Phase, Sample>> {
  const prefix = `cb-${randomUUID().slice(0, 6)}-${clientKey}-r${round}`;
  const small = `${prefix}-small`;
  const large = `${prefix}-large`;
  const samples = new Map<Phase, Sample>();
  const wants = (phase: string): boolean => options.phases.includes(phase);
  if (wants('produce') || wants('consume')) {
    await reference.ensureTopics([
      { name: small, partitions: options.partitions, compacted: false },
      { name: large, partitions: options.partitions, compacted: false },
    ]);
    const name = (phase: Phase): string => `${clientKey}-${phase}-r${round}`;
    samples.set(
      'produce-small',
      await measureProduce(client, reference, small, data.small, name('produce-small')),
    );
    samples.set(
      'produce-large',
      await measureProduce(client, reference, large, data.large, name('produce-large')),
    );
  }
  if (wants('consume')) {
    // Each topic holds its records plus the warm-up call (the first records once more).
    const expectedSmall = data.small.length + Math.min(WARM_UP_RECORDS, data.small.length);
    const expectedLarge = data.large.length + Math.min(WARM_UP_RECORDS, data.large.length);
    samples.set('consume-small', await measureConsume(client, small, expectedSmall));
    samples.set('consume-large', await measureConsume(client, large, expectedLarge));
  }
  if (wants('relay'))
    samples.set('relay', await measureRelay(client, reference, prefix, data.relay));
  return samples;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? Number.NaN) + (sorted[mid] ?? Number.NaN)) / 2;
};

function summarise(values: readonly number[], digits: number): string {
  if (values.length === 0) return '–';
  const fmt = (v: number): string =>
    v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  const m = fmt(median(values));
  return values.length === 1 ? m : `${m} (${fmt(Math.min(...values))}–${fmt(Math.max(...values))})`;
}

async function main(): Promise<void> {
  const started = performance.now();
  say(
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  );
  say(`options: ${JSON.stringify(options)}`);

  let kafka: EmbeddedKafka | null = null;
  let brokers = (process.env['DYNAB_BROKERS'] ?? '').split(',').filter((b) => b !== '');
  if (brokers.length === 0) {
    kafka = await startEmbeddedKafka({});
    brokers = kafka.brokers;
  }
  const reference = new KafkaEventLog({ brokers, clientId: 'bench-reference' });
  const clients: { key: string; client: BenchClient }[] = [];
  try {
    await reference.waitUntilReady(60_000);
    for (const key of options.clients) {
      if (key === 'kafkajs') {
        const log = new KafkaEventLog({ brokers, clientId: 'bench' });
        clients.push({
          key,
          client: new EventLogBenchClient('kafkajs 2.2.4 (event-log port)', log),
        });
        continue;
      }
      const loaded =
        key === 'platformatic'
          ? await loadPlatformatic(brokers)
          : key === 'confluent'
            ? await loadConfluent(brokers)
            : { ok: false as const, reason: 'unknown client name' };
      if (loaded.ok) {
        clients.push({ key, client: loaded.module });
        say(`${key}: loaded from ${loaded.from}`);
      } else {
        say(`${key}: skipped (${loaded.reason})`);
      }
    }

    const data = {
      small: makePayloads(options.small, SMALL_BYTES),
      large: makePayloads(options.large, LARGE_BYTES),
      relay: makePayloads(options.relay, SMALL_BYTES),
    };
    const results = new Map<string, Map<Phase, Sample[]>>(
      clients.map(({ key }) => [key, new Map<Phase, Sample[]>()]),
    );
    for (let round = 1; round <= options.rounds; round++) {
      // Rotate the order so no client always runs first (or last) on a warming machine.
      const order = clients.map((_, i) => clients[(i + round - 1) % clients.length]);
      for (const entry of order) {
        if (entry === undefined) continue;
        const roundStart = performance.now();
        const samples = await runRound(entry.client, entry.key, round, reference, data);
        const perPhase = results.get(entry.key);
        for (const [phase, sample] of samples) {
          const list = perPhase?.get(phase) ?? [];
          list.push(sample);
          perPhase?.set(phase, list);
        }
        say(
          `round ${round} ${entry.key} (${((performance.now() - roundStart) / 1000).toFixed(1)} s): ${[
            ...samples,
          ]
            .map(
              ([phase, s]) =>
                `${phase} ${Math.round(s.perSecond)}/s ${s.cpuMicrosPerRecord.toFixed(1)} µs${s.correct ? '' : ` WRONG: ${s.note}`}`,
            )
            .join('; ')}`,
        );
      }
    }

    say(`\n### Kafka clients, medians (min–max) of ${options.rounds} rounds\n`);
    say('| client | phase | records/s | CPU µs/record | calls or batches | correct |');
    say('|---|---|---:|---:|---:|---|');
    for (const { key, client } of clients) {
      for (const phase of PHASES) {
        const samples = results.get(key)?.get(phase) ?? [];
        if (samples.length === 0) continue;
        const wrong = samples.filter((s) => !s.correct);
        say(
          `| ${client.name} | ${phase} | ${summarise(
            samples.map((s) => s.perSecond),
            0,
          )} | ${summarise(
            samples.map((s) => s.cpuMicrosPerRecord),
            1,
          )} | ${summarise(
            samples.map((s) => s.batches),
            0,
          )} | ${wrong.length === 0 ? `yes (${samples.length}/${samples.length})` : `NO: ${wrong.map((s) => s.note).join('; ')}`} |`,
        );
      }
    }
    say(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const { client } of clients) await client.close().catch(() => undefined);
    await reference.close().catch(() => undefined);
    await kafka?.stop();
  }
}

await main();
