/**
 * The NICs of a Flexible scale set's VMs, read at the least cost ARM allows.
 *
 * ARM has no NIC listing scoped to a Flexible scale set: `virtualMachineScaleSets/{vmss}/
 * networkInterfaces` serves Uniform sets only, and the NIC listing of a resource group takes no
 * `$filter`. So each resource group the referenced NICs live in is read one of two ways,
 * whichever costs fewer requests:
 *   - one GET per referenced NIC (n requests), or
 *   - the resource group's NIC listing: as many requests as it has pages, known from the last
 *     listing of that group (before any, the group is listed when n ≥ `nicGetThreshold`).
 *
 * A group listing is shared. A Flexible listing joins a listing of the group — running or done —
 * that started after its own VM listing started: that listing is at least as fresh as one it would
 * have made itself (the NICs were always read after the VMs), so the concurrent reconciles of a
 * sweep share one listing of their group instead of one each. NICs a shared listing lacks (VMs
 * newer than it) are then read one by one. Only the latest listing of each group is kept.
 *
 * A sweep that reconciles several Flexible scale sets of one group at once gathers them
 * (`NicGroupReads.gather`): the group's NIC listing then waits until every gathered set has
 * started its VM listing (or finished without one), so one listing, started after all their VM
 * listings, serves them all. The wait is bounded (`GATHER_WAIT_MS`): a slow member costs at most
 * one more listing, never a stuck sweep. Freshness is unchanged: joining still needs a listing
 * that started after the joiner's VM listing.
 */
import { parseResourceId } from '../resource-id';
import type { ArmClients } from './arm-clients';
import { isArmNotFound, toArmFailure } from './arm-failures';
import { RAW_LIST_API_VERSIONS, rawListing } from './arm-raw-list';
import { nicFromArm } from './instance-mapping';
import type { NicLike } from './instance-mapping';

/** `auto`: the cheaper of the two (see the module comment); `list` / `get`: always that one (tests, comparisons). */
export type NicReadStrategy = 'auto' | 'list' | 'get';

/** Longest a gathered group's NIC listing waits for its members' VM listings to start. */
export const GATHER_WAIT_MS = 5_000;

/** Lower-cased `subscription/resourceGroup`: how groups are keyed. */
export function nicGroupKey(subscriptionId: string, resourceGroup: string): string {
  return `${subscriptionId}/${resourceGroup}`.toLowerCase();
}

/** Scale sets of one group whose VM listings have not started yet, and who waits for that. */
interface Gathering {
  readonly pending: Set<string>;
  readonly ready: Promise<void>;
  readonly resolve: () => void;
}

/** A gathering's handle: a member's reconcile calls `leave` when it ends (listed or not). */
export interface GatheredListings {
  leave(scaleSetId: string): void;
}

interface GroupListing {
  /** Position in the order of listings (see `NicGroupReads.mark`). */
  readonly startedAt: number;
  readonly nics: Promise<ReadonlyMap<string, NicLike>>;
}

/** What the NIC reads of one inventory share: the latest listing of each resource group and its page count. */
export class NicGroupReads {
  private sequence = 0;
  private readonly latest = new Map<string, GroupListing>();
  private readonly pageCounts = new Map<string, number>();
  private readonly gatherings = new Map<string, Set<Gathering>>();

  /**
   * Gathers the listings of these scale sets (IDs, lower-cased) of group `group`: until each has
   * started its VM listing (`arrived`) or left, the group's NIC listing waits (see the module comment).
   */
  gather(group: string, scaleSetIds: readonly string[]): GatheredListings {
    let resolve!: () => void;
    const ready = new Promise<void>((r) => (resolve = r));
    const gathering: Gathering = { pending: new Set(scaleSetIds.map((id) => id.toLowerCase())), ready, resolve };
    const all = this.gatherings.get(group) ?? new Set<Gathering>();
    all.add(gathering);
    this.gatherings.set(group, all);
    const settle = (): void => {
      if (gathering.pending.size > 0) return;
      all.delete(gathering);
      if (all.size === 0 && this.gatherings.get(group) === all) this.gatherings.delete(group);
      resolve();
    };
    settle();
    return {
      leave: (scaleSetId) => {
        gathering.pending.delete(scaleSetId.toLowerCase());
        settle();
      },
    };
  }

  /** A VM listing of this scale set started (after taking its mark). */
  arrived(group: string, scaleSetId: string): void {
    for (const gathering of [...(this.gatherings.get(group) ?? [])]) {
      gathering.pending.delete(scaleSetId.toLowerCase());
      if (gathering.pending.size === 0) {
        this.gatherings.get(group)?.delete(gathering);
        if (this.gatherings.get(group)?.size === 0) this.gatherings.delete(group);
        gathering.resolve();
      }
    }
  }

  /** Resolves once no gathering of the group waits for a VM listing, or after `GATHER_WAIT_MS`. */
  async gathered(group: string): Promise<void> {
    const waiting = [...(this.gatherings.get(group) ?? [])].map((g) => g.ready);
    if (waiting.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, GATHER_WAIT_MS);
      timer.unref();
    });
    try {
      await Promise.race([Promise.all(waiting), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A point in the order of listings; a VM listing takes one as it starts. */
  mark(): number {
    this.sequence += 1;
    return this.sequence;
  }

  /** Pages the last complete listing of the group took; undefined before any. */
  pagesOf(group: string): number | undefined {
    return this.pageCounts.get(group);
  }

  /** The group's latest listing when it started after `mark`, else undefined. */
  joinable(group: string, mark: number): Promise<ReadonlyMap<string, NicLike>> | undefined {
    const listing = this.latest.get(group);
    return listing !== undefined && listing.startedAt > mark ? listing.nics : undefined;
  }

  /** Starts a listing of the group (`run` answers its NICs by lower-cased ID and its page count). */
  list(group: string, run: () => Promise<{ readonly nics: ReadonlyMap<string, NicLike>; readonly pages: number }>): Promise<ReadonlyMap<string, NicLike>> {
    const startedAt = this.mark();
    const nics = run().then(
      (done) => {
        this.pageCounts.set(group, done.pages);
        return done.nics;
      },
      (error: unknown) => {
        // A failed listing is nobody's to join.
        if (this.latest.get(group)?.startedAt === startedAt) this.latest.delete(group);
        throw error;
      },
    );
    this.latest.set(group, { startedAt, nics });
    return nics;
  }
}

export interface NicReadOptions {
  readonly strategy: NicReadStrategy;
  /** Before a group was ever listed, it is listed when at least this many of its NICs are referenced. */
  readonly threshold: number;
  readonly reads: NicGroupReads;
  /** The mark taken when the VM listing started. */
  readonly vmListingMark: number;
  /** Concurrent GETs (default 4). */
  readonly concurrency?: number;
}

async function listGroup(clients: ArmClients, subscriptionId: string, resourceGroup: string): Promise<{ nics: ReadonlyMap<string, NicLike>; pages: number }> {
  const { network } = clients.forSubscription(subscriptionId);
  const nics = new Map<string, NicLike>();
  let pages = 0;
  // ARM's JSON through the client's pipeline (arm-raw-list.ts), else the SDK's operation.
  const raw = rawListing(network, {
    path: `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/Microsoft.Network/networkInterfaces`,
    apiVersion: RAW_LIST_API_VERSIONS.nics,
  });
  const listing: AsyncIterable<readonly NicLike[]> = raw === undefined ? network.networkInterfaces.list(resourceGroup).byPage() : mapPages(raw, nicFromArm);
  try {
    for await (const page of listing) {
      pages += 1;
      for (const nic of page) {
        const id = nic.id?.toLowerCase();
        if (id) nics.set(id, nic);
      }
    }
  } catch (error) {
    throw toArmFailure(error, `listing NICs of resource group ${resourceGroup}`);
  }
  return { nics, pages };
}

async function* mapPages<T>(pages: AsyncIterable<readonly unknown[]>, map: (raw: unknown) => T): AsyncGenerator<T[]> {
  for await (const page of pages) yield page.map(map);
}

function shouldList(options: NicReadOptions, referenced: number, knownPages: number | undefined): boolean {
  if (options.strategy !== 'auto') return options.strategy === 'list';
  if (knownPages === undefined) return referenced >= options.threshold;
  return knownPages < referenced;
}

/** Reads the NICs with these IDs (any casing); a NIC ARM answers 404 for is left out (deleted with its VM meanwhile). */
export async function readFlexibleNics(clients: ArmClients, nicIds: readonly string[], options: NicReadOptions): Promise<NicLike[]> {
  // Group the referenced NICs by (subscription, resource group): a NIC may live outside the VM's group.
  const groups = new Map<string, { subscriptionId: string; resourceGroup: string; ids: Set<string> }>();
  for (const raw of nicIds) {
    const id = parseResourceId(raw, 'networkProfile.networkInterfaces[].id');
    if (id.resourceGroup === undefined) continue;
    const key = nicGroupKey(id.subscriptionId, id.resourceGroup);
    const group = groups.get(key) ?? { subscriptionId: id.subscriptionId, resourceGroup: id.resourceGroup, ids: new Set<string>() };
    group.ids.add(id.id.toLowerCase());
    groups.set(key, group);
  }
  const found: NicLike[] = [];
  for (const [key, group] of groups) {
    let listed: Promise<ReadonlyMap<string, NicLike>> | undefined;
    if (options.strategy !== 'get') {
      listed = options.reads.joinable(key, options.vmListingMark);
      if (listed === undefined) {
        // Gathered sets still to start their VM listings: list once they have, then share.
        await options.reads.gathered(key);
        listed = options.reads.joinable(key, options.vmListingMark);
      }
      if (listed === undefined && shouldList(options, group.ids.size, options.reads.pagesOf(key))) {
        listed = options.reads.list(key, () => listGroup(clients, group.subscriptionId, group.resourceGroup));
      }
    }
    const inListing = listed === undefined ? undefined : await listed;
    const missing: string[] = [];
    for (const id of group.ids) {
      const nic = inListing?.get(id);
      if (nic) found.push(nic);
      else missing.push(id);
    }
    found.push(...(await getEach(clients, group, missing, options.concurrency ?? 4)));
  }
  // In the order the VMs reference them, whichever way each was read (ties among a VM's
  // non-primary NICs then never depend on the strategy or on which GET answered first).
  const order = new Map(nicIds.map((id, i) => [id.toLowerCase(), i] as const));
  const rank = (nic: NicLike): number => order.get(nic.id?.toLowerCase() ?? '') ?? Number.MAX_SAFE_INTEGER;
  return found.sort((a, b) => rank(a) - rank(b));
}

async function getEach(clients: ArmClients, group: { subscriptionId: string; resourceGroup: string }, ids: readonly string[], concurrency: number): Promise<NicLike[]> {
  const { network } = clients.forSubscription(group.subscriptionId);
  const found: NicLike[] = [];
  const queue = [...ids];
  const worker = async (): Promise<void> => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const nicName = id.slice(id.lastIndexOf('/') + 1);
      try {
        found.push(await network.networkInterfaces.get(group.resourceGroup, nicName));
      } catch (error) {
        // A NIC deleted with its VM between the two calls: that VM simply has no IP any more.
        if (!isArmNotFound(error)) throw toArmFailure(error, `reading NIC ${nicName}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, ids.length)) }, worker));
  return found;
}
