// One run of the state-store memory benchmark, in its own process so that the resident memory
// measured is the store's (plus an idle Node runtime), not the parent's. See state-rss-bench.ts.
//
// It writes N pending joins through the KeyValueStore port exactly as the aggregator lays them out
// (services/aggregator/partition-state.ts): per batch of 500 predictions of one partition, the
// join slots (a real PredictionMade, Avro-encoded, in the stored slot format), their window-index
// keys, the partition's counts and its changelog checkpoint. It yields to the event loop after each
// batch, as the aggregator does between fetches. Then it reads random pending slots back.
// In mode 'read' it only reopens a store filled earlier and reads (one of the interleaved rounds).
// Input: one JSON argument (ChildInput). Output: one JSON line on stdout (ChildResult, or
// ReadResult in mode 'read').
import { readdirSync, readFileSync, statSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep, setImmediate as yieldToLoop } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { loadCodecs } from '../lib/codec/avro-codec.ts';
import type { PredictionMade } from '../lib/contracts/events.ts';
import type { RocksDbMemoryOptions } from '../lib/store/rocksdb-memory.ts';
import type { openRocksDbStore } from '../lib/store/rocksdb-store.ts';
import type { KeyValueStore, StoreOperation } from '../lib/store/key-value-store.ts';
import { checkpointKey } from '../lib/stream/stateful-runner.ts';
import { EMPTY_SLOT } from '../services/aggregator/core/join.ts';
import { encodeSlot, stateKeys, type SlotCodec } from '../services/aggregator/partition-state.ts';

export interface ChildInput {
  /** fill: write the pending joins, then read; read: reopen a filled store and read only. */
  readonly mode: 'fill' | 'read';
  readonly pending: number;
  readonly dir: string;
  /** Module exporting openRocksDbStore: this tree's adapter, or an earlier revision's. */
  readonly storeModule: string;
  /** Memory bounds passed to the store; null opens it with one argument (earlier revisions). */
  readonly memory: RocksDbMemoryOptions | null;
  /** Random pending slots read back after the fill, in getMany calls of READ_BATCH keys. */
  readonly reads: number;
  /** Seed of the random slot choice. */
  readonly readSeed: number;
}

export interface ReadResult {
  readonly readsPerSecond: number;
  /** After the reads, after a full GC. */
  readonly rssMiB: number;
}

export interface ChildResult {
  /** [pending joins written, RSS MiB, JS heap used MiB], after a full GC, every 10%. */
  readonly samples: readonly (readonly [number, number, number])[];
  /** Highest RSS seen by a 200 ms sampler during the fill (no GC forced). */
  readonly peakRssMiB: number;
  /** Disk use of the store right after the fill. */
  readonly filledDiskMiB: number;
  /** Disk use once background compaction has caught up (see settle()). */
  readonly settledDiskMiB: number;
  readonly settleSeconds: number;
  /** After the fill and the settling, after a full GC. */
  readonly settledRssMiB: number;
  readonly settledHeapMiB: number;
  /** After the random reads (the block cache filled), after a full GC. */
  readonly afterReadsRssMiB: number;
  readonly joinsPerSecond: number;
  readonly readsPerSecond: number;
  /** Mean stored size of one join slot value, bytes. */
  readonly slotBytes: number;
}

const BATCH = 500;
const READ_BATCH = 500;
const PARTITIONS = 4;
const WINDOW_MS = 7 * 86_400_000;

const gc = (globalThis as { gc?: () => void }).gc;
/** Resident set size from /proc (Linux), else process.memoryUsage(). */
function rssMiB(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kib = /VmRSS:\s+(\d+)/.exec(status)?.[1];
    if (kib !== undefined) return Number(kib) / 1024;
  } catch {
    // not Linux
  }
  return process.memoryUsage().rss / 2 ** 20;
}
/**
 * Disk use of a folder tree in MiB (allocated blocks, as du counts them). Files that compaction
 * deletes while the folder is being walked are skipped, not an error.
 */
function diskMiB(dir: string): number {
  let bytes = 0;
  const walk = (path: string): void => {
    let entries: Dirent[];
    try {
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) {
        walk(child);
        continue;
      }
      try {
        bytes += statSync(child).blocks * 512;
      } catch {
        // deleted by a compaction since the listing
      }
    }
  };
  walk(dir);
  return bytes / 2 ** 20;
}
const heapMiB = (): number => process.memoryUsage().heapUsed / 2 ** 20;
const settledSample = (): readonly [number, number] => {
  gc?.();
  return [rssMiB(), heapMiB()];
};

/**
 * A request id in UUID form, a stateless function of i so that the read phase can find any
 * pending join again without holding N ids in memory. Each word is a bijective 32-bit mix
 * (MurmurHash3's finaliser) of 4i + k, so distinct i give distinct ids.
 */
function requestIdOf(i: number): string {
  const word = (k: number): string => {
    let x = (i * 4 + k + 0x9e3779b9) | 0;
    x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
    x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
    return ((x ^ (x >>> 16)) >>> 0).toString(16).padStart(8, '0');
  };
  const hex = word(0) + word(1) + word(2) + word(3);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/**
 * Waits for background compaction to catch up with the fill (the port has no view into
 * RocksDB's compaction queue, so the signal is the disk use): done when three polls 5 s apart
 * stay within 1% of each other, or after 15 minutes. Returns the last disk use in MiB.
 */
async function settle(dir: string): Promise<number> {
  const deadline = performance.now() + 15 * 60_000;
  let previous = diskMiB(dir);
  let steady = 0;
  while (steady < 3 && performance.now() < deadline) {
    await sleep(5_000);
    const now = diskMiB(dir);
    steady = Math.abs(now - previous) <= previous / 100 ? steady + 1 : 0;
    previous = now;
  }
  return previous;
}

/** Random reads of pending slots, as labels arriving in any order would make; reads per second. */
async function readBack(store: KeyValueStore, input: ChildInput): Promise<number> {
  let state = input.readSeed >>> 0;
  const nextIndex = (): number => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return Math.floor((state / 2 ** 32) * input.pending);
  };
  const started = performance.now();
  let found = 0;
  for (let done = 0; done < input.reads; done += READ_BATCH) {
    const keys: string[] = [];
    for (let k = 0; k < READ_BATCH; k += 1) {
      const i = nextIndex();
      keys.push(stateKeys.slot(Math.floor(i / BATCH) % PARTITIONS, requestIdOf(i)));
    }
    const values = await store.getMany(keys);
    found += values.filter((v) => v !== undefined).length;
  }
  const taken = Math.ceil(input.reads / READ_BATCH) * READ_BATCH;
  if (found !== taken) throw new Error(`read back ${found} of ${taken} pending slots`);
  return taken / ((performance.now() - started) / 1000);
}

async function openStore(input: ChildInput): Promise<KeyValueStore> {
  const module = (await import(input.storeModule)) as { openRocksDbStore: typeof openRocksDbStore };
  return input.memory === null
    ? module.openRocksDbStore(input.dir)
    : module.openRocksDbStore(input.dir, input.memory);
}

async function readOnly(input: ChildInput): Promise<ReadResult> {
  const store = await openStore(input);
  const readsPerSecond = await readBack(store, input);
  const [rssMiB] = settledSample();
  await store.close();
  return { readsPerSecond, rssMiB };
}

async function run(input: ChildInput): Promise<ChildResult> {
  const codecs = loadCodecs();
  const slotCodec: SlotCodec = {
    encodePrediction: (p) => codecs.prediction.encode(p),
    decodePrediction: (b) => codecs.prediction.decode(b),
    encodeLabel: (l) => codecs.label.encode(l),
    decodeLabel: (b) => codecs.label.decode(b),
  };
  const store = await openStore(input);

  const t0 = Date.UTC(2026, 0, 1);
  const predictionOf = (i: number): PredictionMade => {
    const champion = i % 2 === 0;
    const score = ((i * 7919) % 10_000) / 10_000;
    const variant = champion ? 'champion' : 'challenger';
    return {
      requestId: requestIdOf(i),
      experiment: 'spam-filter',
      requestedVariant: variant,
      invokedVariant: variant,
      output: Buffer.from(
        `{"label":"${score > 0.5 ? 'spam' : 'ham'}","score":${score.toFixed(4)},"model":"${variant}-v3"}`,
      ),
      outputContentType: 'application/json',
      predictedLabel: score > 0.5 ? 'spam' : 'ham',
      latencyMs: 2 + (i % 37),
      error: null,
      propensity: champion ? 0.62 + score / 100 : 0.38 - score / 100,
      snapshotVersion: Math.floor(i / 1000),
      policy: 'thompson-sampling',
      requestTime: t0 + i * 10,
      eventTime: t0 + i * 10 + 3,
      allocation: [
        { variant: 'champion', probability: 0.62 + score / 100 },
        { variant: 'challenger', probability: 0.38 - score / 100 },
      ],
      shadowVariants: [],
      shadowOf: null,
    };
  };
  const countsValue = Buffer.alloc(600, 'c');

  const samples: [number, number, number][] = [[0, ...settledSample()]];
  let peakRssMiB = rssMiB();
  const sampler = setInterval(() => {
    peakRssMiB = Math.max(peakRssMiB, rssMiB());
  }, 200);
  const step = Math.max(BATCH, Math.ceil(input.pending / 10 / BATCH) * BATCH);
  let slotBytes = 0;
  const started = performance.now();
  for (let first = 0, batch = 0; first < input.pending; first += BATCH, batch += 1) {
    const p = batch % PARTITIONS;
    const last = Math.min(input.pending, first + BATCH);
    const operations: StoreOperation[] = [];
    for (let i = first; i < last; i += 1) {
      const prediction = predictionOf(i);
      const value = encodeSlot({ ...EMPTY_SLOT, prediction }, slotCodec);
      slotBytes += value.byteLength;
      operations.push({ type: 'put', key: stateKeys.slot(p, prediction.requestId), value });
      operations.push({
        type: 'put',
        key: stateKeys.window(p, prediction.eventTime + WINDOW_MS, prediction.requestId),
        value: new Uint8Array(0),
      });
    }
    operations.push({ type: 'put', key: stateKeys.counts(p, 'spam-filter'), value: countsValue });
    operations.push({
      type: 'put',
      key: checkpointKey('dynab.aggregator-changelog', p),
      value: Buffer.from(String(last)),
    });
    await store.write(operations);
    await yieldToLoop();
    if (last % step === 0 || last === input.pending) samples.push([last, ...settledSample()]);
  }
  const joinsPerSecond = input.pending / ((performance.now() - started) / 1000);
  clearInterval(sampler);
  const filledDiskMiB = diskMiB(input.dir);
  const settleStarted = performance.now();
  const settledDiskMiB = await settle(input.dir);
  const settleSeconds = (performance.now() - settleStarted) / 1000;
  const [settledRssMiB, settledHeapMiB] = settledSample();

  const readsPerSecond = await readBack(store, input);
  const [afterReadsRssMiB] = settledSample();
  await store.close();
  return {
    samples,
    peakRssMiB,
    filledDiskMiB,
    settledDiskMiB,
    settleSeconds,
    settledRssMiB,
    settledHeapMiB,
    afterReadsRssMiB,
    joinsPerSecond,
    readsPerSecond,
    slotBytes: slotBytes / input.pending,
  };
}

const argument = process.argv[2];
const isMain = import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (isMain && argument !== undefined) {
  const input = JSON.parse(argument) as ChildInput;
  const result = input.mode === 'read' ? await readOnly(input) : await run(input);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
