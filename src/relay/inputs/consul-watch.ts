/**
 * The relay's view of Consul, kept current with blocking queries: one loop over the list of our
 * services, one loop per service over its endpoints. Each loop follows Consul's rules for blocking
 * queries (REFERENCE.md, Consul's "Blocking Queries" docs):
 *  - a return does not mean a change (the store drops sets whose content did not change);
 *  - if the index goes backwards, reset it to 0 (the next read answers at once) and take what
 *    Consul says as the truth even though its index is lower than what we hold;
 *  - never block on an index below 1;
 *  - rate-limit each loop (`minIntervalMs` between two reads);
 *  - back off on errors (doubling from `initialBackoffMs` up to `maxBackoffMs`, with jitter,
 *    at least Consul's Retry-After), and start over at the same index when Consul is back.
 * At start, everything is loaded (list + every service) before the store publishes anything.
 *
 * The watch also tells the store how far Consul's index got (every answer), whether Consul is
 * reachable (the list loop, initial load included, backing off = not; a service loop backing off
 * is that service's trouble, not Consul's), and lends it non-blocking reads of one service: the
 * store uses them to check pushes against Consul (push-overlays.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceEndpointSet } from '../../shared/endpoints';
import { TransientError } from '../../shared/errors';
import type { WatchSource } from './consul-source';
import type { MeshStateStore } from './mesh-state-store';

export type WatchState = 'loading' | 'watching' | 'backoff' | 'stopped';
export const WATCH_STATES: readonly WatchState[] = ['loading', 'watching', 'backoff', 'stopped'];

/** `what` is `services` for the list loop, `service:<name>` for a service loop, `initial-load` at start. */
export interface WatchObserver {
  onState?(state: WatchState): void;
  onRead?(what: string, index: number): void;
  onIndexReset?(what: string, heldIndex: number, receivedIndex: number): void;
  onError?(what: string, error: unknown, retryInMs: number): void;
  onLoaded?(services: number, index: number): void;
}

export interface ConsulWatchOptions {
  readonly source: WatchSource;
  readonly store: MeshStateStore;
  readonly waitSeconds: number;
  readonly minIntervalMs: number;
  readonly maxBackoffMs: number;
  /** First pause after an error; default 250 ms. */
  readonly initialBackoffMs?: number;
  /** Jitter source in [0, 1); the pause is `backoff × (0.5 + random/2)`. Default Math.random. */
  readonly random?: () => number;
  readonly observer?: WatchObserver;
}

interface Loop {
  stopped: boolean;
  done: Promise<void>;
}

export class ConsulWatch {
  private readonly options: Required<Omit<ConsulWatchOptions, 'observer'>> & { observer: WatchObserver };
  private readonly abort = new AbortController();
  private readonly serviceLoops = new Map<string, Loop>();
  private readonly running = new Set<Promise<void>>();
  private readonly backingOff = new Set<string>();
  private consulReachable = true;
  private currentState: WatchState = 'loading';
  private started = false;
  private closed = false;
  private listIndex = 0;
  private resolveLoaded: () => void = () => undefined;
  /** Resolves once the first complete load is in the store (never rejects; the watch retries). */
  readonly loaded: Promise<void> = new Promise((resolve) => (this.resolveLoaded = resolve));

  constructor(options: ConsulWatchOptions) {
    this.options = { initialBackoffMs: 250, random: Math.random, observer: {}, ...options };
  }

  get state(): WatchState {
    return this.currentState;
  }

  /** Index of the last answer to the service list read (0 before the first). */
  get servicesIndex(): number {
    return this.listIndex;
  }

  /** Services with a running loop. */
  watchedServices(): string[] {
    return [...this.serviceLoops.keys()].sort();
  }

  start(): void {
    if (this.started) throw new Error('ConsulWatch.start called twice');
    this.started = true;
    this.options.store.attachConsulReader((service) => this.options.source.serviceEndpoints(service, { waitSeconds: this.options.waitSeconds }));
    this.track(this.run());
  }

  /** Stops every loop, ends in-flight blocking reads, and waits for the loops to finish. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const loop of this.serviceLoops.values()) loop.stopped = true;
    this.abort.abort();
    this.options.source.close();
    await Promise.allSettled([...this.running]);
    this.setState('stopped');
  }

  private async run(): Promise<void> {
    const initial = await this.initialLoad();
    if (!initial) return;
    this.listIndex = Math.max(initial.index, 1);
    this.options.store.consulIndexSeen(initial.index);
    this.applyList(initial.services, initial.index, false);
    for (const set of initial.sets) this.options.store.offer(set);
    this.options.store.markLoaded();
    this.options.observer.onLoaded?.(initial.sets.length, initial.index);
    this.resolveLoaded();
    this.setState(this.backingOff.size > 0 ? 'backoff' : 'watching');
    for (const set of initial.sets) this.startServiceLoop(set.service, Math.max(set.consulIndex, 1));
    await this.loop('services', this.listIndex, () => !this.closed, async (index) => {
      const list = await this.options.source.ownedServices({ index, waitSeconds: this.options.waitSeconds });
      return { index: list.index, value: list.services };
    }, (services, index, reset) => {
      this.listIndex = Math.max(index, 1);
      this.options.store.consulIndexSeen(index, reset);
      this.applyList(services, index, reset);
      for (const name of services) if (!this.serviceLoops.has(name)) this.startServiceLoop(name, 0);
    });
  }

  /** The list and every listed service, read without blocking; retried until it succeeds. */
  private async initialLoad(): Promise<{ index: number; services: readonly string[]; sets: ServiceEndpointSet[] } | undefined> {
    for (let failures = 0; !this.closed; ) {
      try {
        const list = await this.options.source.ownedServices({ waitSeconds: this.options.waitSeconds });
        const sets = await Promise.all(list.services.map((s) => this.options.source.serviceEndpoints(s, { waitSeconds: this.options.waitSeconds })));
        this.setBackingOff('initial-load', false);
        this.options.observer.onRead?.('services', list.index);
        return { index: list.index, services: list.services, sets };
      } catch (error) {
        if (this.closed) return undefined;
        failures += 1;
        await this.pauseAfterError('initial-load', error, failures);
      }
    }
    return undefined;
  }

  /** Forgets services Consul no longer lists (the store keeps those a newer push or answer holds). */
  private applyList(services: readonly string[], index: number, reset: boolean): void {
    const listed = new Set(services);
    for (const [name, loop] of this.serviceLoops) {
      if (listed.has(name)) continue;
      loop.stopped = true;
      this.serviceLoops.delete(name);
    }
    for (const name of this.options.store.serviceNames()) {
      if (!listed.has(name)) this.options.store.remove(name, index, { authoritative: reset });
    }
  }

  private startServiceLoop(service: string, index: number): void {
    const loop: Loop = { stopped: false, done: Promise.resolve() };
    this.serviceLoops.set(service, loop);
    loop.done = this.track(
      this.loop(`service:${service}`, index, () => !this.closed && !loop.stopped, async (at) => {
        const set = await this.options.source.serviceEndpoints(service, { index: at, waitSeconds: this.options.waitSeconds });
        return { index: set.consulIndex, value: set };
      }, (set, _index, reset) => {
        this.options.store.offer(set, { authoritative: reset });
      }),
    );
  }

  /**
   * One blocking-query loop. `read(index)` performs the query; `handle` sees every answer with
   * `reset` = true when Consul's index went backwards (the answer is the truth even though older).
   */
  private async loop<T>(
    what: string,
    startIndex: number,
    alive: () => boolean,
    read: (index: number) => Promise<{ index: number; value: T }>,
    handle: (value: T, index: number, reset: boolean) => void,
  ): Promise<void> {
    try {
      let index = startIndex;
      let failures = 0;
      let lastStart = Number.NEGATIVE_INFINITY;
      while (alive()) {
        // A monotonic clock: a wall-clock step (NTP) must not stall the loop or let it race.
        const wait = lastStart + this.options.minIntervalMs - performance.now();
        if (wait > 0 && !(await this.pause(Math.ceil(wait)))) return;
        if (!alive()) return;
        lastStart = performance.now();
        let answer: { index: number; value: T };
        try {
          answer = await read(index);
        } catch (error) {
          if (!alive()) return;
          failures += 1;
          if (!(await this.pauseAfterError(what, error, failures))) return;
          continue;
        }
        if (!alive()) return;
        if (failures > 0) {
          failures = 0;
          this.setBackingOff(what, false);
        }
        // An index of 0 should never come back; treat it as 1 so the next read still blocks.
        const received = Math.max(answer.index, 1);
        const reset = received < index;
        if (reset) this.options.observer.onIndexReset?.(what, index, received);
        this.options.observer.onRead?.(what, received);
        handle(answer.value, received, reset);
        index = reset ? 0 : received;
      }
    } finally {
      if (!this.closed) this.setBackingOff(what, false);
    }
  }

  /** Reports the error, marks `what` as backing off, and sleeps; false when the watch closed meanwhile. */
  private pauseAfterError(what: string, error: unknown, failures: number): Promise<boolean> {
    const { initialBackoffMs, maxBackoffMs, random } = this.options;
    const exponential = Math.min(maxBackoffMs, initialBackoffMs * 2 ** Math.min(failures - 1, 30));
    const jittered = Math.round(exponential * (0.5 + random() / 2));
    const retryAfter = error instanceof TransientError && error.retryAfterMs !== undefined ? Math.min(maxBackoffMs, error.retryAfterMs) : 0;
    const delay = Math.max(jittered, retryAfter);
    this.setBackingOff(what, true);
    this.options.observer.onError?.(what, error, delay);
    return this.pause(delay);
  }

  private async pause(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.abort.signal });
      return !this.closed;
    } catch {
      return false;
    }
  }

  private setBackingOff(what: string, on: boolean): void {
    if (on) this.backingOff.add(what);
    else this.backingOff.delete(what);
    if (this.closed) return;
    this.setReachable(!this.backingOff.has('initial-load') && !this.backingOff.has('services'));
    if (this.currentState === 'loading') return;
    this.setState(this.backingOff.size > 0 ? 'backoff' : 'watching');
  }

  private setState(state: WatchState): void {
    if (state === this.currentState) return;
    this.currentState = state;
    this.options.observer.onState?.(state);
  }

  /** The list loop's reachability, for overlay expiry (push-overlays.ts). */
  private setReachable(reachable: boolean): void {
    if (reachable === this.consulReachable) return;
    this.consulReachable = reachable;
    this.options.store.setConsulReachable(reachable);
  }

  private track(promise: Promise<void>): Promise<void> {
    const tracked = promise.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
    return tracked;
  }
}
