// Readiness: a service is ready when every condition it registered holds (connected to the
// cluster, its consumer group joined and its partitions assigned and restored, the tables it
// needs read up to their end). `/readyz` answers 200 then, and 503 with the reasons otherwise,
// so a load balancer or an orchestrator waits for it and a person can read why.

export interface ReadinessCondition {
  /** Marks the condition as met, or not met with the reason shown by `/readyz`. */
  set(ready: true): void;
  set(ready: false, reason: string): void;
}

export interface ReadinessState {
  readonly ready: boolean;
  /** Why not, one line per unmet condition (empty when ready). */
  readonly reasons: readonly string[];
}

export class Readiness {
  private readonly unmet = new Map<number, string>();
  private next = 0;

  /** Registers a condition, unmet at first with `reason`. */
  condition(reason: string): ReadinessCondition {
    const id = this.next++;
    this.unmet.set(id, reason);
    const unmet = this.unmet;
    return {
      set(ready: boolean, why?: string) {
        if (ready) unmet.delete(id);
        else unmet.set(id, why ?? reason);
      },
    };
  }

  state(): ReadinessState {
    const reasons = [...this.unmet.values()];
    return { ready: reasons.length === 0, reasons };
  }
}
