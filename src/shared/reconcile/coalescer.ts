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
 * A request without an event time (the timer sweep's) is covered by no earlier run: it gets a run
 * that starts now, or the trailing one. A result the `covering` option rejects (a run that could
 * not list) is handed to the requests that waited for that run but never reused for later ones.
 * Per process only; across instances the Consul claim (listedAt) keeps concurrent runs safe.
 * Keyed by the scale set's reference (its normalised ID), which the run is handed back with the
 * `source` of the request that started it.
 */
import type { ScaleSetRef } from '../model';

export interface CoalescedResult<R> {
  readonly result: R;
  /** How this request was served: a run of its own, a run shared with others, or an earlier run. */
  readonly via: 'ran' | 'joined' | 'covered';
}

/** `requestWithin` stopped waiting: a run that covers the request is in flight or queued. */
export interface QueuedRequest<R> {
  readonly via: 'queued';
  /** That run; it goes on after the caller stopped waiting (attach a handler to log its outcome). */
  readonly pending: Promise<R>;
  /** Since when this scale set has had a run in flight or queued without a pause (ms). */
  readonly busySince: number;
}

export interface WaitLimits {
  /** Stop waiting at this time (ms)… */
  readonly deadlineAt: number;
  /** …or once the scale set has been busy (runs in flight or queued, back to back) for this long. */
  readonly maxBusyMs: number;
}

interface Slot<R> {
  inFlight?: { startedAt: number; promise: Promise<R> };
  trailing?: Promise<R>;
  /** The latest finished run whose result may cover later requests (see `covering`). */
  lastDone?: { startedAt: number; result: R };
  /** Start of the current busy period (a run in flight or queued), undefined while idle. */
  busySince?: number;
}

const TIMED_OUT = Symbol('timed out');

type Enqueued<R> = { readonly done: CoalescedResult<R> } | { readonly via: 'ran' | 'joined'; readonly promise: Promise<R> };

export class ReconcileCoalescer<R> {
  private readonly slots = new Map<string, Slot<R>>();
  private lastSweep = 0;

  constructor(
    private readonly run: (ref: ScaleSetRef, source: string | undefined) => Promise<R>,
    private readonly options: {
      readonly coverMarginMs: number;
      readonly now?: () => number;
      /** Idle slots whose last run is older than this are forgotten (default 10 min): memory stays bounded. */
      readonly forgetAfterMs?: number;
      /** May this result answer later requests its run covers (`covered`)? Default: every result may. */
      readonly covering?: (result: R) => boolean;
    } = { coverMarginMs: 2000 },
  ) {}

  /** Scale sets currently remembered (for tests and metrics). */
  get size(): number {
    return this.slots.size;
  }

  private clock(): number {
    return (this.options.now ?? Date.now)();
  }

  private sweep(now: number): void {
    const forgetAfter = this.options.forgetAfterMs ?? 600_000;
    if (now - this.lastSweep < Math.min(60_000, forgetAfter)) return;
    this.lastSweep = now;
    for (const [key, slot] of this.slots) {
      if (!slot.inFlight && !slot.trailing && (!slot.lastDone || now - slot.lastDone.startedAt > forgetAfter)) this.slots.delete(key);
    }
  }

  /**
   * `eventTime` (ms) is when the hinted change happened; omit it to always get a run that starts now
   * or later. `source` is handed to the run this request starts, if it starts one.
   */
  async request(ref: ScaleSetRef, eventTime?: number, source?: string): Promise<CoalescedResult<R>> {
    const enqueued = this.enqueue(ref, eventTime, source);
    if ('done' in enqueued) return enqueued.done;
    return { result: await enqueued.promise, via: enqueued.via };
  }

  /**
   * Like `request`, but waits no longer than `limits` allow: then answers `queued` with the run that
   * will cover the request (it was registered before this returned, so it happens whether or not
   * anyone waits). A run that fails after that is the caller's to log; the request is not retried.
   */
  async requestWithin(ref: ScaleSetRef, eventTime: number | undefined, limits: WaitLimits, source?: string): Promise<CoalescedResult<R> | QueuedRequest<R>> {
    const enqueued = this.enqueue(ref, eventTime, source);
    if ('done' in enqueued) return enqueued.done;
    const busySince = this.slots.get(ref.id)?.busySince ?? this.clock();
    const waitMs = Math.min(limits.deadlineAt, busySince + limits.maxBusyMs) - this.clock();
    if (waitMs <= 0) return { via: 'queued', pending: enqueued.promise, busySince };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), waitMs);
    });
    try {
      const winner = await Promise.race([enqueued.promise.then((result) => ({ result })), timedOut]);
      if (winner === TIMED_OUT) return { via: 'queued', pending: enqueued.promise, busySince };
      return { result: winner.result, via: enqueued.via };
    } finally {
      clearTimeout(timer);
    }
  }

  /** A run of this scale set is in flight or queued: a request now (without an event time) would wait for it. */
  busy(ref: ScaleSetRef): boolean {
    const slot = this.slots.get(ref.id);
    return slot !== undefined && (slot.inFlight !== undefined || slot.trailing !== undefined);
  }

  /** Registers the request synchronously: the run that covers it exists (or is queued) on return. */
  private enqueue(ref: ScaleSetRef, eventTime: number | undefined, source: string | undefined): Enqueued<R> {
    this.sweep(this.clock());
    const slot = this.slots.get(ref.id) ?? {};
    this.slots.set(ref.id, slot);
    const covers = (startedAt: number) => eventTime !== undefined && startedAt >= eventTime + this.options.coverMarginMs;

    // A finished run that started late enough saw the change, whatever is in flight now.
    if (slot.lastDone && covers(slot.lastDone.startedAt)) {
      return { done: { result: slot.lastDone.result, via: 'covered' } };
    }
    if (!slot.inFlight) {
      // A trailing run with none in flight is about to start (the run before it settled a few
      // microtasks ago): join it rather than start a second run beside it.
      if (slot.trailing) return { via: 'joined', promise: slot.trailing };
      return { via: 'ran', promise: this.start(ref, slot, source) };
    }
    if (covers(slot.inFlight.startedAt)) return { via: 'joined', promise: slot.inFlight.promise };
    if (!slot.trailing) {
      const inFlight = slot.inFlight.promise;
      slot.trailing = inFlight
        .catch(() => undefined)
        .then(() => {
          slot.trailing = undefined;
          return this.start(ref, slot, source);
        });
    }
    return { via: 'joined', promise: slot.trailing };
  }

  private start(ref: ScaleSetRef, slot: Slot<R>, source: string | undefined): Promise<R> {
    const startedAt = this.clock();
    slot.busySince ??= startedAt;
    const promise = this.run(ref, source);
    slot.inFlight = { startedAt, promise };
    const settle = (done?: { startedAt: number; result: R }) => {
      if (slot.inFlight?.promise === promise) slot.inFlight = undefined;
      if (done && (this.options.covering?.(done.result) ?? true)) slot.lastDone = done;
      if (!slot.inFlight && !slot.trailing) slot.busySince = undefined;
    };
    promise.then(
      (result) => settle({ startedAt, result }),
      () => settle(),
    );
    return promise;
  }
}
