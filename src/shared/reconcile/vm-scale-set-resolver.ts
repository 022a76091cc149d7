/**
 * Which scale set a Flexible-mode VM belongs to, without one ARM call per event. Only ARM knows
 * it (`virtualMachineScaleSet.id`), but a burst of a thousand VM events must not become a thousand
 * GETs (issue 9, D4). Answers come from:
 * 1. a bounded cache with a TTL, filled by every answer below and by every listing of a Flexible
 *    scale set the reconciler makes (one listing answers for all its VMs);
 * 2. one ARM GET at a time per VM, shared by every concurrent request for that VM. Per resource
 *    group at most `armLookupsPerGroup` GETs run at once, and none while a listing of a Flexible
 *    scale set of that group is in progress: requests wait and look in the cache again when it ends.
 *    A GET that finds a scale set hands out a lease; the reconciler holds it until that scale set's
 *    next listing (or the hint's reconcile) ends, so the rest of the burst is answered by the
 *    listing, not by GETs. A lease lets go by itself after `maxBusyWaitMs` whatever its holder does;
 * 3. when ARM knows no scale set for the VM (deleted, or standalone), our Consul node for it, which
 *    remembers its scale set: the only answer once a VM is deleted. Asked after ARM, not before: a
 *    scale-out burst is of new VMs no node knows, and a thousand catalog queries would be the burst
 *    all over again, aimed at Consul.
 *
 * A VM's scale set is fixed when the VM is created, so a cached answer is safe for its TTL; only
 * "in this scale set" answers are cached, never "none" (the VM may be new).
 */
import { InvalidInputError, TransientError } from '../errors';
import type { ScaleSetRef } from '../model';
import { computeTargetOf, parseResourceId, resourceGroupIdOf, scaleSetRefFromId } from '../resource-id';

export interface VmResolverSources {
  /** ARM: the VM's scale set; null when the VM is gone or belongs to no scale set. */
  askArm(vmResourceId: string): Promise<ScaleSetRef | null>;
  /** Our Consul node's scale set for this VM (normalised ID), or null. */
  remembered(vmResourceId: string): Promise<string | null>;
}

export interface VmResolverOptions {
  /** How long an answer is reused (default 10 min). */
  readonly ttlMs?: number;
  /** Answers kept at most (default 50,000; the oldest go first). */
  readonly maxEntries?: number;
  /** ARM GETs per resource group at once (default 2). */
  readonly armLookupsPerGroup?: number;
  /**
   * A request that would wait for a resource group busy (GETs, listings) for longer than this fails
   * at once as transient instead (default 20 s): a burst's events are answered in bounded time.
   */
  readonly maxBusyWaitMs?: number;
  readonly now?: () => number;
}

export type VmResolution =
  | { readonly kind: 'scale-set'; readonly ref: ScaleSetRef; readonly via: 'cache' | 'consul' | 'arm'; readonly lease?: Lease }
  /** The VM is gone (and no node of ours remembers it) or belongs to no scale set. */
  | { readonly kind: 'none' };

/** Keeps the resource group's GETs paused until `release()` (idempotent). */
export interface Lease {
  release(): void;
}

interface GroupGate {
  active: number;
  listings: number;
  /** Since when GETs or listings have run here without a pause. */
  busySince?: number;
  readonly waiters: Array<() => void>;
}

interface CacheEntry {
  readonly ref: ScaleSetRef;
  readonly expiresAt: number;
}

const MAX_BACKOFF_MS = 30_000;

export class VmScaleSetResolver {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly inFlight = new Map<string, Promise<VmResolution>>();
  private readonly gates = new Map<string, GroupGate>();
  private readonly listingWaiters = new Map<string, Array<() => void>>();
  /** Resource groups whose last ARM GET was throttled or failed: no GET there until `until`. */
  private readonly backoff = new Map<string, { readonly until: number; readonly reason: string; readonly failures: number }>();
  private readonly maxBusyWaitMs: number;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly perGroup: number;
  private readonly now: () => number;

  constructor(
    private readonly sources: VmResolverSources,
    options: VmResolverOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 600_000;
    this.maxEntries = options.maxEntries ?? 50_000;
    this.perGroup = options.armLookupsPerGroup ?? 2;
    this.now = options.now ?? Date.now;
    this.maxBusyWaitMs = options.maxBusyWaitMs ?? 20_000;
    for (const [name, value, min] of [['ttlMs', this.ttlMs, 0], ['maxEntries', this.maxEntries, 1], ['armLookupsPerGroup', this.perGroup, 1]] as const) {
      if (!Number.isInteger(value) || value < min) throw new TypeError(`VmScaleSetResolver: ${name} must be an integer ≥ ${min}, got ${value}`);
    }
  }

  /** Answers cached now (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  /** Throws InvalidInputError when `vmResourceId` is not a VM ID. */
  resolve(vmResourceId: string): Promise<VmResolution> {
    const target = computeTargetOf(parseResourceId(vmResourceId, 'vmResourceId'));
    // A Uniform instance ID names its scale set itself.
    if (target?.kind === 'scale-set' && target.instanceId !== undefined) return Promise.resolve({ kind: 'scale-set', ref: target.ref, via: 'cache' });
    if (target?.kind !== 'virtual-machine') return Promise.reject(new InvalidInputError(`not a virtual machine ID: ${vmResourceId}`, 'vmResourceId'));
    const vmId = target.vmId;
    const cached = this.cached(vmId);
    if (cached) return Promise.resolve(cached);
    const running = this.inFlight.get(vmId);
    if (running) return running;
    const work = this.lookUp(vmId, resourceGroupIdOf(target)).finally(() => this.inFlight.delete(vmId));
    this.inFlight.set(vmId, work);
    return work;
  }

  /** Records what a listing of a Flexible scale set found (normalised VM IDs). */
  learn(scaleSet: ScaleSetRef, vmResourceIds: readonly string[]): void {
    for (const id of vmResourceIds) this.remember(id.toLowerCase(), scaleSet);
  }

  /**
   * Marks a listing of this Flexible scale set as running: its resource group's ARM GETs wait for
   * it. Call the returned function when it ends, however it ends.
   */
  listingStarted(scaleSet: ScaleSetRef): () => void {
    const gate = this.gate(resourceGroupIdOf(scaleSet));
    gate.listings += 1;
    gate.busySince ??= this.now();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      gate.listings -= 1;
      for (const release of [...(this.listingWaiters.get(scaleSet.id) ?? [])]) release();
      this.wake(resourceGroupIdOf(scaleSet));
    };
  }

  /**
   * Releases `lease` when the next listing of `scaleSet` ends (it has then taught the cache the
   * scale set's VMs) or when `other` settles (e.g. the hint's reconcile ended without listing),
   * whichever comes first.
   */
  releaseAfterListing(lease: Lease, scaleSet: ScaleSetRef, other: Promise<unknown>): void {
    const waiters = this.listingWaiters.get(scaleSet.id) ?? [];
    const done = () => {
      const list = this.listingWaiters.get(scaleSet.id);
      const at = list?.indexOf(done) ?? -1;
      if (list && at !== -1) list.splice(at, 1);
      if (list?.length === 0) this.listingWaiters.delete(scaleSet.id);
      lease.release();
    };
    waiters.push(done);
    this.listingWaiters.set(scaleSet.id, waiters);
    other.then(done, done);
  }

  private cached(vmId: string): VmResolution | undefined {
    const entry = this.cache.get(vmId);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.cache.delete(vmId);
      return undefined;
    }
    return { kind: 'scale-set', ref: entry.ref, via: 'cache' };
  }

  private remember(vmId: string, ref: ScaleSetRef): void {
    this.cache.delete(vmId);
    this.cache.set(vmId, { ref, expiresAt: this.now() + this.ttlMs });
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next();
      if (oldest.done) break;
      this.cache.delete(oldest.value);
    }
  }

  private async lookUp(vmId: string, group: string): Promise<VmResolution> {
    const fromArm = await this.askArm(vmId, group);
    if (fromArm) return fromArm;
    const known = await this.sources.remembered(vmId);
    if (!known) return { kind: 'none' };
    const ref = scaleSetRefFromId(known);
    this.remember(vmId, ref);
    return { kind: 'scale-set', ref, via: 'consul' };
  }

  /** ARM's answer under the group's gate; undefined when ARM knows no scale set for the VM. */
  private async askArm(vmId: string, group: string): Promise<VmResolution | undefined> {
    this.failWhileBackingOff(group);
    await this.acquire(group);
    let lease: Lease | undefined;
    try {
      const cached = this.cached(vmId);
      if (cached) return cached;
      this.failWhileBackingOff(group);
      let ref: ScaleSetRef | null;
      try {
        ref = await this.sources.askArm(vmId);
      } catch (error) {
        // Throttled or failing: the rest of the burst must not ask again at once (each would be
        // throttled too, and each event would wait for it); they fail fast until Retry-After.
        if (error instanceof TransientError) {
          // Consecutive failures back off exponentially (1, 2, 4 … 30 s), never less than Retry-After.
          const failures = (this.backoff.get(group)?.failures ?? 0) + 1;
          const pauseMs = Math.max(error.retryAfterMs ?? 0, Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (failures - 1)));
          this.backoff.set(group, { until: this.now() + pauseMs, reason: error.message, failures });
        }
        throw error;
      }
      this.backoff.delete(group);
      if (!ref) return undefined;
      this.remember(vmId, ref);
      lease = this.leaseFor(group);
      return { kind: 'scale-set', ref, via: 'arm', lease };
    } finally {
      if (!lease) this.release(group);
    }
  }

  private failWhileBackingOff(group: string): void {
    const backoff = this.backoff.get(group);
    if (!backoff) return;
    const waitMs = backoff.until - this.now();
    if (waitMs <= 0) return;
    throw new TransientError(`VM lookups in ${group} paused for ${Math.ceil(waitMs / 1000)} s after ARM answered: ${backoff.reason}`, 'arm', waitMs);
  }

  private leaseFor(group: string): Lease {
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.release(group);
    };
    // A holder that never releases (its waiter gave up at the delivery deadline) must not close
    // the group to ARM for good: the lease lets go by itself after the longest wait we allow.
    const timer = setTimeout(release, this.maxBusyWaitMs);
    timer.unref();
    return { release };
  }

  private gate(group: string): GroupGate {
    let gate = this.gates.get(group);
    if (!gate) {
      gate = { active: 0, listings: 0, waiters: [] };
      this.gates.set(group, gate);
    }
    return gate;
  }

  private async acquire(group: string): Promise<void> {
    for (;;) {
      // Fetched again after each wait: an idle gate is dropped (memory stays bounded).
      const gate = this.gate(group);
      if (gate.active < this.perGroup && gate.listings === 0) {
        gate.active += 1;
        gate.busySince ??= this.now();
        return;
      }
      const waitMs = (gate.busySince ?? this.now()) + this.maxBusyWaitMs - this.now();
      if (waitMs <= 0) {
        throw new TransientError(`VM lookups in ${group} have been busy for over ${Math.round(this.maxBusyWaitMs / 1000)} s (ARM slow or throttled)`, 'arm');
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        gate.waiters.push(resolve);
        timer = setTimeout(resolve, waitMs);
      });
      clearTimeout(timer);
    }
  }

  private release(group: string): void {
    const gate = this.gate(group);
    gate.active -= 1;
    this.wake(group);
  }

  private wake(group: string): void {
    const gate = this.gates.get(group);
    if (!gate) return;
    for (const wake of gate.waiters.splice(0)) wake();
    if (gate.active === 0 && gate.listings === 0) {
      gate.busySince = undefined;
      this.gates.delete(group);
    }
  }
}

