/**
 * What the relay holds of the mesh: one endpoint set per service, fed by the Consul watch (the
 * truth) and by pushes (the fast path). Each service has two layers:
 *  - Consul's layer: the watch's last answer. Newest index wins between answers, except when
 *    Consul itself went back in time (its index decreased: a restored or rebuilt cluster), then
 *    the watch overrules that rule (`authoritative`).
 *  - a push overlay: a pushed set newer than Consul's layer, served in its place until Consul
 *    confirms or overrules it. Consul's data wins (rules in push-overlays.ts): an answer at or
 *    after the pushed index replaces it; once Consul's index anywhere passes it, the service is
 *    read again and that answer replaces it; it expires after `overlayTtlMs`; and a push may not
 *    claim an index more than `maxIndexAhead` beyond the latest index the relay saw from Consul.
 *
 * Changes are coalesced without delaying a lone one: a change that finds no publish in the last
 * `coalesceMs` is published at once (on the next turn of the event loop, so what the same turn
 * brings goes with it); a change that arrives inside the window after a publish waits for the
 * window's end, and everything that arrived by then goes out as one `publish(state)`, which opens
 * the next window. So two publishes are always at least `coalesceMs` apart (a burst gives at most
 * one new version per window and client) and no change waits more than `coalesceMs`. Nothing is
 * published before the first complete load from Consul (`markLoaded`), so clients never see a
 * partial mesh as the truth.
 */
import { type PushOutcome, sameEndpointSetContent, type ServiceEndpointSet } from '../../shared/endpoints';
import type { GatewayRoute, MeshState } from '../mesh-state';
import { PushOverlays, resolvePushRules, type ConsulReader, type OverlayEnd, type PushRules } from './push-overlays';
import { compareStrings } from '../../shared/compare-strings';

export type { ConsulReader, OverlayEnd, PushRules } from './push-overlays';

export interface OfferResult {
  readonly outcome: PushOutcome;
  /** The index the store holds (serves) for the service afterwards. */
  readonly currentIndex: number;
  /** True when the endpoints (not just the index) changed and a publish is due. */
  readonly changed: boolean;
}

export interface PublishInfo {
  /** How many service changes (offers and removals that changed something) this publish carries. */
  readonly changes: number;
  readonly services: number;
  readonly endpoints: number;
}

export interface MeshStateStoreOptions {
  readonly gatewayRoutes: readonly GatewayRoute[];
  /** Least time between two publishes: changes inside it after a publish go out together at its end. 0 = no window. */
  readonly coalesceMs: number;
  /** Receives every new state; must not alter it. Exceptions are reported to `onPublishError`. */
  readonly publish: (state: MeshState, info: PublishInfo) => void;
  readonly onPublishError?: (error: unknown) => void;
  /** How pushes are held against Consul; defaults in push-overlays.ts. */
  readonly push?: Partial<PushRules>;
  /** Monotonic clock in ms for the coalescing window, overlay expiry and re-checks; default performance.now (tests inject one). */
  readonly now?: () => number;
  /** A push overlay stopped being served, and why. */
  readonly onOverlayEnded?: (service: string, reason: OverlayEnd, pushedIndex: number) => void;
}

export class MeshStateStore {
  /** Consul's layer: the watch's last answer per service. */
  private readonly consul = new Map<string, ServiceEndpointSet>();
  /**
   * Services held at an index above the one Consul went back to (a snapshot restore seen by the
   * list loop): their next watch answer is taken whatever its index, or the relay would keep what
   * Consul no longer has until the service passes the old index again.
   */
  private readonly heldPastReset = new Set<string>();
  private readonly overlays: PushOverlays;
  private readonly options: MeshStateStoreOptions;
  private readonly now: () => number;
  /** The window's end: a publish is due then. */
  private timer: NodeJS.Timeout | undefined;
  /** A lone change: published on the next turn of the event loop. */
  private immediate: NodeJS.Immediate | undefined;
  /** When the last publish ended (by `now`); the coalescing window runs from there. */
  private lastPublishAt: number | undefined;
  private pendingChanges = 0;
  private loadedAt: number | undefined;
  private last: MeshState | undefined;
  private closed = false;

  constructor(options: MeshStateStoreOptions) {
    if (!Number.isInteger(options.coalesceMs) || options.coalesceMs < 0) throw new TypeError(`coalesceMs must be a whole number ≥ 0, got ${options.coalesceMs}`);
    this.options = options;
    this.now = options.now ?? (() => performance.now());
    this.overlays = new PushOverlays({
      rules: resolvePushRules(options.push ?? {}),
      now: this.now,
      consulSet: (service) => this.consul.get(service),
      takeConsulRead: (set) => this.takeConsulRead(set),
      change: (service, apply) => {
        const before = this.get(service);
        apply();
        this.updated(service, before);
      },
      onEnded: (service, reason, index) => options.onOverlayEnded?.(service, reason, index),
    });
  }

  /**
   * What Consul answered for a service (the watch). Older than Consul's layer → ignored (unless
   * `authoritative`: the watch after Consul's index went backwards). An answer at or after a
   * pushed index replaces the push.
   */
  offer(set: ServiceEndpointSet, options: { readonly authoritative?: boolean } = {}): OfferResult {
    // One service's index going back resets only that service (consulAnswered); the bound moves
    // back only with the list loop's reset (consulIndexSeen).
    this.overlays.consulIndexSeen(set.consulIndex, false);
    const before = this.get(set.service);
    const held = this.consul.get(set.service);
    const authoritative = options.authoritative === true || this.heldPastReset.delete(set.service);
    if (held && set.consulIndex < held.consulIndex && !authoritative) {
      return { outcome: 'ignored-stale', currentIndex: (before as ServiceEndpointSet).consulIndex, changed: false };
    }
    this.consul.set(set.service, normalised(set));
    this.overlays.consulAnswered(set.service, set.consulIndex, authoritative);
    const changed = this.updated(set.service, before);
    return { outcome: before ? 'accepted' : 'created', currentIndex: (this.get(set.service) as ServiceEndpointSet).consulIndex, changed };
  }

  /**
   * A pushed set. Older than what is served → ignored; not newer than Consul's layer → nothing to
   * add (Consul already has it); else held as an overlay until Consul confirms or overrules it.
   * The caller checks `pushIndexBound()` first.
   */
  offerPush(set: ServiceEndpointSet): OfferResult {
    const before = this.get(set.service);
    if (before && set.consulIndex < before.consulIndex) return { outcome: 'ignored-stale', currentIndex: before.consulIndex, changed: false };
    const fromConsul = this.consul.get(set.service);
    if (fromConsul && set.consulIndex <= fromConsul.consulIndex) return { outcome: 'accepted', currentIndex: fromConsul.consulIndex, changed: false };
    this.overlays.hold(normalised(set));
    const changed = this.updated(set.service, before);
    return { outcome: before ? 'accepted' : 'created', currentIndex: set.consulIndex, changed };
  }

  /**
   * The highest index a push may claim now (`limit`): the latest index seen from Consul plus
   * `maxIndexAhead`; undefined before Consul's first answer (overlays are checked at the load).
   */
  pushIndexBound(): { readonly latest: number; readonly maxIndexAhead: number; readonly limit: number } | undefined {
    return this.overlays.bound();
  }

  /**
   * Reads the service from Consul now (through the watch) and takes the answer: used to check a
   * push that claims an index beyond `pushIndexBound()`. Undefined when no reader is attached.
   */
  readFromConsul(service: string): Promise<ServiceEndpointSet> | undefined {
    return this.overlays.read(service);
  }

  /** The watch lends its Consul reads (re-checks, checks of far-ahead pushes). */
  attachConsulReader(reader: ConsulReader): void {
    this.overlays.attachReader(reader);
  }

  /**
   * Every Consul answer's index (list and services), so the store knows how far Consul got.
   * `reset` only from the list loop: Consul's index went back, and the bound goes back with it.
   */
  consulIndexSeen(index: number, reset = false): void {
    if (reset) for (const [service, set] of this.consul) if (set.consulIndex > index) this.heldPastReset.add(service);
    this.overlays.consulIndexSeen(index, reset);
  }

  /**
   * While the watch cannot reach Consul, overlays do not age: pushes are all the relay hears. The
   * list loop answers for reachability (one failing service loop does not make Consul unreachable).
   */
  setConsulReachable(reachable: boolean): void {
    this.overlays.setReachable(reachable);
  }

  /**
   * Forgets a service Consul no longer lists at `listIndex`, unless Consul's data or a push newer
   * than that list holds it (the list will catch up). Returns whether it was removed.
   */
  remove(service: string, listIndex: number, options: { readonly authoritative?: boolean } = {}): boolean {
    const before = this.get(service);
    if (!before) return false;
    const held = this.consul.get(service);
    if (held && (held.consulIndex <= listIndex || options.authoritative)) {
      this.consul.delete(service);
      this.heldPastReset.delete(service);
    }
    this.overlays.unlisted(service, listIndex, options.authoritative === true);
    this.updated(service, before);
    return this.get(service) === undefined;
  }

  /** The first complete load from Consul is in: publish at once; from now on as `changed()` says. */
  markLoaded(): void {
    if (this.loadedAt !== undefined) return;
    this.overlays.loaded();
    this.loadedAt = Date.now();
    this.flush();
  }

  get loaded(): boolean {
    return this.loadedAt !== undefined;
  }

  /** The set served for a service: its push overlay if any, else Consul's. */
  get(service: string): ServiceEndpointSet | undefined {
    return this.overlays.get(service) ?? this.consul.get(service);
  }

  /** Services served from a push Consul has not confirmed yet. */
  pushedServices(): string[] {
    return this.overlays.services();
  }

  serviceNames(): string[] {
    return [...new Set([...this.consul.keys(), ...this.overlays.services()])].sort();
  }

  /** Expires overlays and starts due re-checks now (also runs on a timer). */
  sweep(): void {
    this.overlays.sweep();
  }

  /** The last published state (undefined before the first load). */
  published(): MeshState | undefined {
    return this.last;
  }

  /** Publishes pending changes now (no-op before the first load or when nothing changed since). */
  flush(): void {
    this.cancelScheduled();
    if (this.closed || this.loadedAt === undefined) return;
    if (this.last && this.pendingChanges === 0) return;
    const services = new Map<string, ServiceEndpointSet>();
    let endpoints = 0;
    for (const name of this.serviceNames()) {
      const set = this.get(name) as ServiceEndpointSet;
      services.set(name, set);
      endpoints += set.endpoints.length;
    }
    const state: MeshState = { services, gatewayRoutes: this.options.gatewayRoutes };
    const info: PublishInfo = { changes: this.pendingChanges, services: services.size, endpoints };
    this.pendingChanges = 0;
    this.last = state;
    try {
      this.options.publish(state, info);
    } catch (error) {
      this.options.onPublishError?.(error);
    }
    this.lastPublishAt = this.now();
  }

  /** Cancels a pending publish and the overlay timer; later offers are still held but never published. */
  close(): void {
    this.closed = true;
    this.overlays.close();
    this.cancelScheduled();
  }

  private cancelScheduled(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
  }

  /** A read the overlays asked for (re-check, push check): Consul's layer takes it unless it holds a newer answer. */
  private takeConsulRead(set: ServiceEndpointSet): void {
    const held = this.consul.get(set.service);
    if (!held || set.consulIndex >= held.consulIndex) this.consul.set(set.service, normalised(set));
  }

  /** Compares what is served for `service` now with `before`; schedules a publish when it differs. */
  private updated(service: string, before: ServiceEndpointSet | undefined): boolean {
    const after = this.get(service);
    const changed = before === undefined ? after !== undefined : after === undefined || !sameEndpointSetContent(before, after);
    if (changed) this.changed();
    return changed;
  }

  /**
   * A change is pending: publish it at once (next turn of the event loop) when the last publish
   * is at least a window ago, else at the window's end. Already scheduled → it goes with that one.
   */
  private changed(): void {
    this.pendingChanges += 1;
    if (this.closed || this.loadedAt === undefined || this.timer || this.immediate) return;
    const since = this.lastPublishAt === undefined ? Infinity : this.now() - this.lastPublishAt;
    if (since >= this.options.coalesceMs) this.immediate = setImmediate(() => this.flush());
    else this.timer = setTimeout(() => this.flush(), this.options.coalesceMs - since);
  }
}

/** Endpoints in a stable order, so equal sets compare equal whatever order a pusher used. */
function normalised(set: ServiceEndpointSet): ServiceEndpointSet {
  const endpoints = [...set.endpoints].sort((a, b) => compareStrings(a.address, b.address) || a.port - b.port);
  return { ...set, endpoints };
}
