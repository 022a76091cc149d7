/**
 * What the relay holds of the mesh: one endpoint set per service, fed by pushes (the fast path)
 * and the Consul watch (the truth). The rule for both is the same: the newest Consul index wins,
 * so a late push can never undo what the watch already saw, and the watch never goes back to an
 * older state a push already replaced. Only when Consul itself went back in time (its index
 * decreased: a restored or rebuilt cluster) does the watch overrule that rule (`authoritative`).
 *
 * Changes are coalesced: the first change after a publish opens a window of `coalesceMs`, and
 * everything that arrives inside it goes out as one `publish(state)` — one new version per client
 * instead of one per push. Nothing is published before the first complete load from Consul
 * (`markLoaded`), so clients never see a partial mesh as the truth.
 */
import type { MeshEndpoint, PushOutcome, ServiceEndpointSet } from '../../shared/endpoints';
import type { GatewayRoute, MeshState } from '../mesh-state';

export interface OfferResult {
  readonly outcome: PushOutcome;
  /** The index the store holds for the service afterwards. */
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
  /** Window that turns a burst of changes into one publish; 0 = the next timer tick. */
  readonly coalesceMs: number;
  /** Receives every new state; must not alter it. Exceptions are reported to `onPublishError`. */
  readonly publish: (state: MeshState, info: PublishInfo) => void;
  readonly onPublishError?: (error: unknown) => void;
}

export class MeshStateStore {
  private readonly sets = new Map<string, ServiceEndpointSet>();
  private readonly options: MeshStateStoreOptions;
  private timer: NodeJS.Timeout | undefined;
  private pendingChanges = 0;
  private loadedAt: number | undefined;
  private last: MeshState | undefined;
  private closed = false;

  constructor(options: MeshStateStoreOptions) {
    if (!Number.isInteger(options.coalesceMs) || options.coalesceMs < 0) throw new TypeError(`coalesceMs must be a whole number ≥ 0, got ${options.coalesceMs}`);
    this.options = options;
  }

  /**
   * Takes a service's full endpoint set. Older than held → ignored (unless `authoritative`: the
   * watch after Consul's index went backwards). Unknown service → created.
   */
  offer(set: ServiceEndpointSet, options: { readonly authoritative?: boolean } = {}): OfferResult {
    const held = this.sets.get(set.service);
    if (held && set.consulIndex < held.consulIndex && !options.authoritative) {
      return { outcome: 'ignored-stale', currentIndex: held.consulIndex, changed: false };
    }
    const next = normalised(set);
    const changed = !held || !sameContent(held, next);
    this.sets.set(set.service, next);
    if (changed) this.changed();
    return { outcome: held ? 'accepted' : 'created', currentIndex: next.consulIndex, changed };
  }

  /**
   * Forgets a service Consul no longer lists at `listIndex`, unless a push newer than that list
   * created or changed it (the list will catch up). Returns whether it was removed.
   */
  remove(service: string, listIndex: number, options: { readonly authoritative?: boolean } = {}): boolean {
    const held = this.sets.get(service);
    if (!held || (held.consulIndex > listIndex && !options.authoritative)) return false;
    this.sets.delete(service);
    this.changed();
    return true;
  }

  /** The first complete load from Consul is in: publish at once, and from now on after each window. */
  markLoaded(): void {
    if (this.loadedAt !== undefined) return;
    this.loadedAt = Date.now();
    this.flush();
  }

  get loaded(): boolean {
    return this.loadedAt !== undefined;
  }

  get(service: string): ServiceEndpointSet | undefined {
    return this.sets.get(service);
  }

  serviceNames(): string[] {
    return [...this.sets.keys()].sort();
  }

  /** The last published state (undefined before the first load). */
  published(): MeshState | undefined {
    return this.last;
  }

  /** Publishes pending changes now (no-op before the first load or when nothing changed since). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.closed || this.loadedAt === undefined) return;
    if (this.last && this.pendingChanges === 0) return;
    const services = new Map<string, ServiceEndpointSet>();
    let endpoints = 0;
    for (const name of this.serviceNames()) {
      const set = this.sets.get(name) as ServiceEndpointSet;
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
  }

  /** Cancels a pending publish; later offers are still held but never published. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private changed(): void {
    this.pendingChanges += 1;
    if (this.closed || this.loadedAt === undefined || this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.options.coalesceMs);
  }
}

/** Endpoints in a stable order, so equal sets compare equal whatever order a pusher used. */
function normalised(set: ServiceEndpointSet): ServiceEndpointSet {
  const endpoints = [...set.endpoints].sort((a, b) => compare(a.address, b.address) || a.port - b.port);
  return { ...set, endpoints };
}

function sameContent(a: ServiceEndpointSet, b: ServiceEndpointSet): boolean {
  if (a.protocol !== b.protocol || (a.healthPath ?? '') !== (b.healthPath ?? '') || a.endpoints.length !== b.endpoints.length) return false;
  return a.endpoints.every((e, i) => sameEndpoint(e, b.endpoints[i] as MeshEndpoint));
}

function sameEndpoint(a: MeshEndpoint, b: MeshEndpoint): boolean {
  return a.address === b.address && a.port === b.port && a.zone === b.zone && a.health === b.health && a.weight === b.weight && a.instanceName === b.instanceName;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
