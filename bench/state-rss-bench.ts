// State-store memory: the resident memory and disk of one aggregator's RocksDB holding N pending
// joins (1M and 10M for BENCHMARKS.md), for several store configurations run one after the other
// in the same invocation, each in a child process (state-rss-child.ts) so that the RSS measured is
// the store's. Configurations:
//   before        the store adapter of an earlier revision (default BEFORE_REVISION, the last one
//                 with RocksDB's defaults), extracted with `git archive` into a temporary folder
//   bounded       this tree's adapter with the memory bounds the aggregator would get from this
//                 environment (DYNAB_ROCKSDB_* variables, else their defaults)
//   arena2        bounded, with MALLOC_ARENA_MAX=2 (glibc keeps at most two malloc arenas)
//   index-tables  bounded, but index and filter blocks held by the table readers, not the cache
// With --read-rounds R, the filled stores are kept and then reopened for R more rounds of random
// reads each, the configurations taking turns (order reversed every other round), so that their
// read rates meet the same load on a shared machine.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../lib/config/config.ts';
import type { RocksDbMemoryOptions } from '../lib/store/rocksdb-memory.ts';
import type { ChildInput, ChildResult, ReadResult } from './state-rss-child.ts';

/** The last commit whose store opened RocksDB with the binding's defaults. */
export const BEFORE_REVISION = 'b840ec9';

export const STATE_RSS_CONFIGS = ['before', 'bounded', 'arena2', 'index-tables'] as const;
export type StateRssConfig = (typeof STATE_RSS_CONFIGS)[number];

export interface StateRssOptions {
  readonly pendings: readonly number[];
  readonly configs: readonly StateRssConfig[];
  readonly beforeRevision: string;
  readonly reads: number;
  /** Interleaved read-only rounds per configuration after the fills (0: none). */
  readonly readRounds: number;
  readonly onProgress: (message: string) => void;
}

export interface StateRssRow {
  readonly config: StateRssConfig;
  readonly pending: number;
  readonly result: ChildResult;
  /** Reads per second of each interleaved round (empty without --read-rounds). */
  readonly rounds: number[];
}

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const childScript = fileURLToPath(new URL('./state-rss-child.ts', import.meta.url));

async function runChild<R>(input: ChildInput, env: NodeJS.ProcessEnv): Promise<R> {
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', childScript, JSON.stringify(input)],
    { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || line === '') throw new Error(`state-rss child exited with ${code}`);
  return JSON.parse(line) as R;
}

/** The bounds the aggregator's main.ts would pass to its store under this environment. */
export function configuredMemory(env: NodeJS.ProcessEnv = process.env): RocksDbMemoryOptions {
  const config = loadConfig(env);
  return {
    blockCacheBytes: config.rocksdbBlockCacheBytes,
    memtableBudgetBytes: config.rocksdbMemtableBudgetBytes,
    indexAndFilterInCache: config.rocksdbIndexInCache,
  };
}

/** Extracts the store adapter of `revision` (lib/store, lib/errors) into a temporary folder. */
async function checkoutStore(revision: string, into: string): Promise<string> {
  const archive = execFileSync('git', ['archive', revision, 'lib/store', 'lib/errors'], {
    cwd: repoRoot,
    maxBuffer: 64 * 2 ** 20,
  });
  execFileSync('tar', ['-x', '-C', into], { input: archive });
  await symlink(join(repoRoot, 'node_modules'), join(into, 'node_modules'));
  return join(into, 'lib', 'store', 'rocksdb-store.ts');
}

export async function runStateRssBench(options: StateRssOptions): Promise<StateRssRow[]> {
  const work = await mkdtemp(join(tmpdir(), 'dynab-state-rss-'));
  const rows: StateRssRow[] = [];
  try {
    let beforeModule: string | null = null;
    if (options.configs.includes('before')) {
      const into = join(work, 'before');
      await mkdir(into);
      beforeModule = await checkoutStore(options.beforeRevision, into);
    }
    const current = join(repoRoot, 'lib', 'store', 'rocksdb-store.ts');
    const bounded = configuredMemory();
    for (const pending of options.pendings) {
      const filled: { row: StateRssRow; input: ChildInput; env: NodeJS.ProcessEnv }[] = [];
      for (const config of options.configs) {
        const env: NodeJS.ProcessEnv = { ...process.env };
        delete env['MALLOC_ARENA_MAX'];
        if (config === 'arena2') env['MALLOC_ARENA_MAX'] = '2';
        const input: ChildInput = {
          mode: 'fill',
          pending,
          dir: join(work, `${config}-${pending}`),
          storeModule: config === 'before' && beforeModule !== null ? beforeModule : current,
          memory:
            config === 'before'
              ? null
              : config === 'index-tables'
                ? { ...bounded, indexAndFilterInCache: false }
                : bounded,
          reads: options.reads,
          readSeed: 12_345,
        };
        options.onProgress(`${config}, ${pending.toLocaleString('en-US')} pending joins…`);
        const result = await runChild<ChildResult>(input, env);
        const row: StateRssRow = { config, pending, result, rounds: [] };
        rows.push(row);
        options.onProgress(
          `${config}, ${pending.toLocaleString('en-US')}: RSS peak ${Math.round(result.peakRssMiB)} MiB, settled ${Math.round(result.settledRssMiB)} MiB, after reads ${Math.round(result.afterReadsRssMiB)} MiB, disk ${Math.round(result.settledDiskMiB)} MiB, ${Math.round(result.joinsPerSecond)} joins/s, ${Math.round(result.readsPerSecond)} reads/s`,
        );
        if (options.readRounds > 0) filled.push({ row, input, env });
        else await rm(input.dir, { recursive: true, force: true });
      }
      for (let round = 1; round <= options.readRounds; round += 1) {
        const order = round % 2 === 1 ? filled : [...filled].reverse();
        for (const { row, input, env } of order) {
          const read = await runChild<ReadResult>({ ...input, mode: 'read', readSeed: round }, env);
          row.rounds.push(read.readsPerSecond);
          options.onProgress(
            `${row.config}, ${pending.toLocaleString('en-US')}, read round ${round}: ${Math.round(read.readsPerSecond)} reads/s, RSS ${Math.round(read.rssMiB)} MiB`,
          );
        }
      }
      for (const { input } of filled) await rm(input.dir, { recursive: true, force: true });
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return rows;
}

const mib = (value: number): string => `${Math.round(value).toLocaleString('en-US')} MiB`;

const bounds = (memory: RocksDbMemoryOptions): string =>
  `block cache ${mib(memory.blockCacheBytes / 2 ** 20)}, memtable budget ${mib(memory.memtableBudgetBytes / 2 ** 20)}, index and filter blocks ${memory.indexAndFilterInCache ? 'in the cache' : 'beside the tables'}`;

/** Markdown tables for BENCHMARKS.md. */
export function formatStateRss(rows: readonly StateRssRow[], beforeRevision: string): string {
  const lines: string[] = [
    `\nbounded: ${bounds(configuredMemory())}; before: the store of ${beforeRevision} (RocksDB defaults of the binding).`,
  ];
  const name = (config: StateRssConfig): string =>
    config === 'before' ? `before (${beforeRevision})` : config;
  for (const pending of [...new Set(rows.map((r) => r.pending))]) {
    const group = rows.filter((r) => r.pending === pending);
    lines.push(`\n### ${pending.toLocaleString('en-US')} pending joins in one store\n`);
    lines.push(
      '| store | RSS empty | RSS peak while filling | RSS filled (settled, after GC) | RSS after random reads | JS heap | disk after fill | disk settled (wait) | joins stored | random slot reads |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const { config, result } of group) {
      lines.push(
        `| ${name(config)} | ${mib(result.samples[0]?.[1] ?? 0)} | ${mib(result.peakRssMiB)} | ${mib(result.settledRssMiB)} | ${mib(result.afterReadsRssMiB)} | ${mib(result.settledHeapMiB)} | ${mib(result.filledDiskMiB)} | ${mib(result.settledDiskMiB)} (${Math.round(result.settleSeconds)} s) | ${Math.round(result.joinsPerSecond).toLocaleString('en-US')} /s | ${Math.round(result.readsPerSecond).toLocaleString('en-US')} /s |`,
      );
    }
    const first = group[0];
    if (first !== undefined) {
      lines.push(
        `\nRSS (MiB, after GC) as the store fills, at ${first.result.samples.map(([n]) => `${Math.round((100 * n) / pending)}%`).join(', ')}:\n`,
      );
      lines.push('| store | RSS samples |');
      lines.push('|---|---|');
      for (const { config, result } of group) {
        lines.push(
          `| ${name(config)} | ${result.samples.map(([, rss]) => Math.round(rss)).join(', ')} |`,
        );
      }
    }
    const before = group.find((r) => r.config === 'before')?.result;
    const bounded = group.find((r) => r.config === 'bounded')?.result;
    if (before !== undefined && bounded !== undefined) {
      const ratio = (a: number, b: number): string => (a / b).toFixed(2);
      lines.push(
        `\nbefore / bounded: peak RSS ${ratio(before.peakRssMiB, bounded.peakRssMiB)}×, settled RSS ${ratio(before.settledRssMiB, bounded.settledRssMiB)}×, RSS after reads ${ratio(before.afterReadsRssMiB, bounded.afterReadsRssMiB)}×, settled disk ${ratio(before.settledDiskMiB, bounded.settledDiskMiB)}×; bounded / before: joins stored ${ratio(bounded.joinsPerSecond, before.joinsPerSecond)}×, random reads ${ratio(bounded.readsPerSecond, before.readsPerSecond)}×.`,
      );
    }
    if (group.some((r) => r.rounds.length > 0)) {
      lines.push(
        '\nRandom slot reads per second in interleaved rounds (each store reopened, block cache cold, configurations taking turns):\n',
      );
      lines.push('| store | rounds | median |');
      lines.push('|---|---|---:|');
      for (const { config, rounds } of group) {
        const sorted = [...rounds].sort((a, b) => a - b);
        const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
        lines.push(
          `| ${name(config)} | ${rounds.map((r) => Math.round(r).toLocaleString('en-US')).join(', ')} | ${Math.round(median).toLocaleString('en-US')} /s |`,
        );
      }
    }
    const slot = first?.result.slotBytes;
    if (slot !== undefined) lines.push(`\nMean join slot value: ${Math.round(slot)} bytes.`);
  }
  return lines.join('\n');
}
