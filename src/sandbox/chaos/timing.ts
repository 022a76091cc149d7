/**
 * Where a chaos run's wall time goes: injecting, waiting for convergence (by fault class),
 * waiting with no batch to start (by what held the lanes' heads back), the soak's sweeps (and
 * those that joined a timer run waiting to retry), and the faults still running at the end. Shown
 * under the table so a slow run says why.
 */

export interface ChaosTiming {
  readonly units: number;
  /** Injecting: each batch (step) from its start to the end of its slowest member. */
  readonly injectMs: number;
  /** Waiting for convergence after each unit, the "stays equal" wait included. */
  readonly convergeMs: number;
  /** The same by fault class (a batch's wait counts for each class running in it). */
  readonly convergeByClassMs: Readonly<Record<string, number>>;
  /** Time with no batch to start (every lane's head held back). */
  readonly idleMs: number;
  /**
   * How long each lane head stood held back, by class and reason (`event-loss: stuck sweep`),
   * while the rest went on or nothing did: what a lane waits for.
   */
  readonly heldBackMs: Readonly<Record<string, number>>;
  /** Sweeps the soak asked for: how many, how many were not over within the sweep wait, and their durations. */
  readonly sweeps: { readonly runs: number; readonly stuck: number; readonly totalMs: number; readonly maxMs: number };
  /** After the last batch: ARM faults still waiting for their request or reconciles. */
  readonly tailMs: number;
  /** ARM faults (overlapped runs): how long each class held its scale sets (until its reconciles and sweep ended), in all and at most. */
  readonly holdMs: Readonly<Record<string, { readonly n: number; readonly totalMs: number; readonly maxMs: number }>>;
}

export class TimingLog {
  private units = 0;
  private injectMs = 0;
  private convergeMs = 0;
  private readonly convergeByClassMs: Record<string, number> = {};
  private idleMs = 0;
  private readonly heldBackMs: Record<string, number> = {};
  private readonly sweeps = { runs: 0, stuck: 0, totalMs: 0, maxMs: 0 };
  private tailMs = 0;
  private readonly holdMs: Record<string, { n: number; totalMs: number; maxMs: number }> = {};
  /** The heads held back at the last look, and since when. */
  private heldNow: { readonly reasons: readonly string[]; readonly since: number } | undefined;

  unit(injectMs: number, convergeMs: number, classes: readonly string[]): void {
    this.units += 1;
    this.injectMs += injectMs;
    this.convergeMs += convergeMs;
    for (const c of classes) this.convergeByClassMs[c] = (this.convergeByClassMs[c] ?? 0) + convergeMs;
  }

  idle(ms: number): void {
    this.idleMs += ms;
  }

  /** The heads held back now (`class: reason`); the time since the last look counts for the ones seen then. */
  heldBack(reasons: readonly string[], now = Date.now()): void {
    if (this.heldNow) for (const r of this.heldNow.reasons) this.heldBackMs[r] = (this.heldBackMs[r] ?? 0) + (now - this.heldNow.since);
    this.heldNow = reasons.length > 0 ? { reasons, since: now } : undefined;
  }

  sweep(ms: number, stuck: boolean): void {
    this.sweeps.runs += 1;
    if (stuck) this.sweeps.stuck += 1;
    this.sweeps.totalMs += ms;
    this.sweeps.maxMs = Math.max(this.sweeps.maxMs, ms);
  }

  hold(faultClass: string, ms: number): void {
    const h = (this.holdMs[faultClass] ??= { n: 0, totalMs: 0, maxMs: 0 });
    h.n += 1;
    h.totalMs += ms;
    h.maxMs = Math.max(h.maxMs, ms);
  }

  tail(ms: number): void {
    this.tailMs += ms;
  }

  result(): ChaosTiming {
    this.heldBack([]);
    const rounded = (r: Record<string, number>) => Object.fromEntries(Object.entries(r).sort(([, a], [, b]) => b - a).map(([k, v]) => [k, Math.round(v)]));
    return {
      units: this.units,
      injectMs: this.injectMs,
      convergeMs: this.convergeMs,
      convergeByClassMs: rounded(this.convergeByClassMs),
      idleMs: this.idleMs,
      heldBackMs: rounded(this.heldBackMs),
      sweeps: { ...this.sweeps },
      tailMs: this.tailMs,
      holdMs: Object.fromEntries(Object.entries(this.holdMs).sort(([, a], [, b]) => b.totalMs - a.totalMs)),
    };
  }
}

/** Two lines for the report: the split of the soak's time, and the longest waits by class. */
export function renderTiming(t: ChaosTiming): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const top = (r: Readonly<Record<string, number>>, n: number) =>
    Object.entries(r)
      .slice(0, n)
      .map(([k, v]) => `${k} ${s(v)}`)
      .join(', ');
  return [
    `time: ${t.units} batches/steps; injecting ${s(t.injectMs)}, converging ${s(t.convergeMs)}, idle (every head held back) ${s(t.idleMs)}, tail ${s(t.tailMs)}; ` +
      `sweeps ${t.sweeps.runs} (${t.sweeps.stuck} joined a timer run waiting to retry; ${s(t.sweeps.totalMs)} in all, longest ${s(t.sweeps.maxMs)})`,
    `converging by class: ${top(t.convergeByClassMs, 6) || '-'}; heads held back: ${top(t.heldBackMs, 6) || '-'}`,
    ...(Object.keys(t.holdMs).length ? [`ARM faults held their sets: ${Object.entries(t.holdMs).map(([k, h]) => `${k} ${h.n} × ${s(h.totalMs / h.n)} (max ${s(h.maxMs)})`).join(', ')}`] : []),
  ];
}
