// CPU time of processes, for the scale benchmark's "where the CPU goes" table: each process's
// user + system time from /proc/<pid>/stat (Linux; clock ticks of 1/100 s), this process's from
// process.cpuUsage(). Elsewhere, or once a process is gone, a reading is undefined.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** User + system CPU milliseconds of `pid` so far, or undefined when it cannot be read. */
export function processCpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  if (pid === process.pid) {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  }
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  if (!Number.isFinite(user) || !Number.isFinite(system)) return undefined;
  return ((user + system) * 1000) / TICKS_PER_SECOND;
}

/** CPU readings of named processes, so that a phase's CPU per item can be taken. */
export class CpuMeter {
  private readonly start = new Map<string, number>();

  constructor(private readonly pids: ReadonlyMap<string, number | undefined>) {
    for (const [name, pid] of pids) {
      const ms = processCpuMs(pid);
      if (ms !== undefined) this.start.set(name, ms);
    }
  }

  /** Microseconds of CPU per item of each process since the meter was made (those readable). */
  perItemMicros(items: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, pid] of this.pids) {
      const from = this.start.get(name);
      const to = processCpuMs(pid);
      if (from === undefined || to === undefined || items <= 0) continue;
      out[name] = ((to - from) * 1000) / items;
    }
    return out;
  }
}
