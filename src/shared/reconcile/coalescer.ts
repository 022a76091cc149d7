/**
 * Collapses bursts of hints for the same scale set. Event Grid delivers at least once, in any
 * order, and the Functions host invokes us once per event: a thousand events for one scale set
 * must not become a thousand reconciles.
 *
 * A hint needs a reconcile that *starts* (lists ARM) after the hint's event happened. So:
 * - a run in flight that started after the event (+ margin) already covers it: join it;
 * - the last finished run covers it too when it started late enough: reuse its result;
 * - otherwise one trailing run is queued behind the run in flight, shared by every hint that
 *   arrives meanwhile.
 * Per process only; across instances the Consul claim (listedAt) keeps concurrent runs safe.
 */

export interface CoalescedResult<R> {
  readonly result: R;
  /** How this request was served: a run of its own, a run shared with others, or an earlier run. */
  readonly via: 'ran' | 'joined' | 'covered';
}

interface Slot<R> {
  inFlight?: { startedAt: number; promise: Promise<R> };
  trailing?: Promise<R>;
  lastDone?: { startedAt: number; result: R };
}

export class ReconcileCoalescer<R> {
  private readonly slots = new Map<string, Slot<R>>();
  private lastSweep = 0;

  constructor(
    private readonly run: (key: string) => Promise<R>,
    private readonly options: {
      readonly coverMarginMs: number;
      readonly now?: () => number;
      /** Idle slots whose last run is older than this are forgotten (default 10 min): memory stays bounded. */
      readonly forgetAfterMs?: number;
    } = { coverMarginMs: 2000 },
  ) {}

  /** Scale sets currently remembered (for tests and metrics). */
  get size(): number {
    return this.slots.size;
  }

  private sweep(now: number): void {
    const forgetAfter = this.options.forgetAfterMs ?? 600_000;
    if (now - this.lastSweep < Math.min(60_000, forgetAfter)) return;
    this.lastSweep = now;
    for (const [key, slot] of this.slots) {
      if (!slot.inFlight && !slot.trailing && (!slot.lastDone || now - slot.lastDone.startedAt > forgetAfter)) this.slots.delete(key);
    }
  }

  /** `eventTime` (ms) is when the hinted change happened; omit it to always get a run that starts now or later. */
  async request(key: string, eventTime?: number): Promise<CoalescedResult<R>> {
    this.sweep((this.options.now ?? Date.now)());
    const slot = this.slots.get(key) ?? {};
    this.slots.set(key, slot);
    const covers = (startedAt: number) => eventTime !== undefined && startedAt >= eventTime + this.options.coverMarginMs;

    if (slot.lastDone && !slot.inFlight && covers(slot.lastDone.startedAt)) {
      return { result: slot.lastDone.result, via: 'covered' };
    }
    if (!slot.inFlight) return { result: await this.start(key, slot), via: 'ran' };
    if (covers(slot.inFlight.startedAt)) return { result: await slot.inFlight.promise, via: 'joined' };
    if (!slot.trailing) {
      const inFlight = slot.inFlight.promise;
      slot.trailing = inFlight
        .catch(() => undefined)
        .then(() => {
          slot.trailing = undefined;
          return this.start(key, slot);
        });
    }
    return { result: await slot.trailing, via: 'joined' };
  }

  private start(key: string, slot: Slot<R>): Promise<R> {
    const startedAt = (this.options.now ?? Date.now)();
    const promise = this.run(key);
    slot.inFlight = { startedAt, promise };
    const settle = (done?: { startedAt: number; result: R }) => {
      if (slot.inFlight?.promise === promise) slot.inFlight = undefined;
      if (done) slot.lastDone = done;
    };
    promise.then(
      (result) => settle({ startedAt, result }),
      () => settle(),
    );
    return promise;
  }
}
