// How far the pipeline is behind its own demo traffic, for the live view: the age of the oldest
// request still waiting for its prediction (grows while the pipeline stalls, even when nothing
// arrives), and request → prediction latency quantiles over a recent window. Pure: callers pass
// the times in.

export interface LagReport {
  /** Age of the oldest request without a prediction yet; 0 when none is waiting. */
  readonly lagMs: number;
  /** Requests sent and not yet predicted. */
  readonly waiting: number;
  /** Request → prediction latency over the window, null when nothing was predicted in it. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
}

export class PredictionLag {
  // Insertion order is send order, so the first entry is always the oldest waiting request.
  readonly #sentAt = new Map<string, number>();
  readonly #recent: { at: number; latencyMs: number }[] = [];

  constructor(private readonly windowMs: number) {}

  sent(requestId: string, at: number): void {
    this.#sentAt.set(requestId, at);
  }

  /** Records the prediction of a request sent earlier; false for unknown or repeated ids. */
  predicted(requestId: string, at: number): boolean {
    const sentAt = this.#sentAt.get(requestId);
    if (sentAt === undefined) return false;
    this.#sentAt.delete(requestId);
    this.#recent.push({ at, latencyMs: Math.max(0, at - sentAt) });
    return true;
  }

  report(now: number): LagReport {
    const cutoff = now - this.windowMs;
    let drop = 0;
    while (drop < this.#recent.length && (this.#recent[drop]?.at ?? now) < cutoff) drop++;
    this.#recent.splice(0, drop);
    const oldest = this.#sentAt.values().next();
    const sorted = this.#recent.map((r) => r.latencyMs).sort((a, b) => a - b);
    // Nearest-rank quantile: the smallest value with at least q of the samples at or below it.
    const quantile = (q: number): number | null =>
      sorted.length === 0 ? null : (sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] ?? null);
    return {
      lagMs: oldest.done === true ? 0 : Math.max(0, now - oldest.value),
      waiting: this.#sentAt.size,
      p50Ms: quantile(0.5),
      p99Ms: quantile(0.99),
    };
  }
}

export function formatLag(report: LagReport): string {
  const ms = (value: number | null): string => (value === null ? '–' : `${Math.round(value)} ms`);
  return `prediction lag ${ms(report.lagMs)} (${report.waiting} waiting; request → prediction p50 ${ms(report.p50Ms)}, p99 ${ms(report.p99Ms)})`;
}
