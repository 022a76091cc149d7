/**
 * What the reconciler needs from the outside world, as narrow interfaces. The Azure inventory
 * (src/shared/azure) and the Consul registry (src/shared/consul) implement them;
 * src/functions/app-runtime.ts and src/cli/reconcile.ts wire them into the reconciler; tests may
 * substitute their own.
 */
import type { InstanceListing, MeshScaleSet, ReconcilePlan, ScaleSetRef, OwnedNode } from '../model';
import type { ServiceEndpointSet } from '../endpoints';

export type ScaleSetLookup =
  | { readonly state: 'in-mesh'; readonly scaleSet: MeshScaleSet }
  /** The scale set exists but its tags no longer declare (valid) mesh services. */
  | { readonly state: 'left-mesh'; readonly reason: string }
  | { readonly state: 'not-found' }
  /** ARM answered, but what it says cannot be acted on (e.g. mistyped mesh tags): change nothing. */
  | { readonly state: 'unknown'; readonly reason: string };

export interface InventoryPort {
  /**
   * ARM's answer to one GET. Throws TransientError when ARM cannot answer. `not-found` is one 404,
   * not proof: the reconcile asks again before it removes anything (reconcile-scale-set.ts).
   */
  lookupScaleSet(ref: ScaleSetRef): Promise<ScaleSetLookup>;
  /**
   * Whether the listing of the scale set's resource group contains it: a second, independent ARM
   * source (another route) for "is it gone?". A 404 for the resource group answers false; other ARM
   * trouble throws (TransientError / ConfigError).
   */
  isListedInResourceGroup(ref: ScaleSetRef): Promise<boolean>;
  /** Never throws for ARM trouble: answers `unknown` instead (unknown is not empty). */
  listInstances(scaleSet: MeshScaleSet): Promise<InstanceListing>;
  /**
   * Asks ARM about each given VM (one GET each): normalised IDs it answers 404 for (`gone`) and
   * those it answers with the VM (`present`); a VM whose GET failed is in neither.
   */
  confirmGone(scaleSet: MeshScaleSet, instanceResourceIds: readonly string[]): Promise<{ readonly gone: ReadonlySet<string>; readonly present: ReadonlySet<string> }>;
  /** The scale set a (Flexible-mode) VM belongs to, or null when the VM is gone or in no scale set. */
  scaleSetOfVm(vmResourceId: string): Promise<ScaleSetRef | null>;
  /** Every scale set in scope whose tags declare the mesh. */
  listMeshScaleSets(): Promise<{ readonly scaleSets: readonly MeshScaleSet[]; readonly skipped: ReadonlyArray<{ readonly id: string; readonly reason: string }> }>;
  /**
   * Optional: the timer sweep reconciles the Flexible scale sets of one resource group together and
   * says so here, so that one NIC listing of the group serves them all; each member's reconcile
   * calls `leave` when it ends. Inventories without it simply list per set.
   */
  gatherFlexibleListings?(group: { readonly subscriptionId: string; readonly resourceGroup: string }, scaleSetIds: readonly string[]): { leave(scaleSetId: string): void };
  /**
   * Runs `work` and counts the ARM requests it made (and only those: concurrent reconciles in the
   * same process are counted apart, e.g. with AsyncLocalStorage).
   */
  measureCalls<T>(work: () => Promise<T>): Promise<{ readonly result: T; readonly calls: number }>;
}

/**
 * Thrown by `ReconcileSession.apply` of a session that read the state without claiming (its marker
 * showed a finished run) when another reconcile claimed the scale set before it wrote: nothing was
 * written; begin again with `{ claimFirst: true }` and plan from that session's state.
 */
export class ClaimLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClaimLostError';
  }
}

export interface BeginReconcileOptions {
  /**
   * Claim before reading the state, whatever the marker shows (default false: when the marker shows
   * a finished run, the state is read first and a run that writes nothing makes one marker write).
   */
  readonly claimFirst?: boolean;
}

/** What a reconcile plans from: our state of one scale set as Consul holds it. */
export interface ReconcileState {
  /**
   * Our nodes of this scale set, read after the claim (or, unclaimed, after a finished run's
   * marker; or, for a plan that is never applied, with no regard to the marker).
   */
  readonly actual: readonly OwnedNode[];
  /** Node names removed recently that must not be registered again. */
  readonly tombstones: ReadonlySet<string>;
  /**
   * Node names whose tombstone this run's listing is fresher than (not in `tombstones`): the
   * listing may bring them back, once ARM's GET of the instance agrees (reconcile-scale-set.ts).
   */
  readonly liftedTombstones: ReadonlySet<string>;
}

export interface ReconcileSession extends ReconcileState {
  /**
   * Applies the plan; throws SupersededError when a newer reconcile claimed the scale set meanwhile,
   * and ClaimLostError (nothing written) when an unclaimed session lost the race to claim.
   * `facts.scaleSetState` (ARM's answer for the scale set in this run) is recorded with the run's
   * summary: the KV cleanup asks ARM only about scale sets whose last reconcile found them gone.
   */
  apply(
    plan: ReconcilePlan,
    facts?: { readonly scaleSetState?: 'in-mesh' | 'left-mesh' | 'not-found' },
  ): Promise<{
    readonly committedIndex: number;
    readonly changedServices: readonly string[];
    /**
     * The changed services' endpoint sets after the commit, as the relays are pushed them: `sets`
     * computed without reading Consul again, `toRead` the services to read (`serviceEndpoints`)
     * because this run cannot vouch for their whole set. Absent: read them all.
     */
    readonly pushed?: { readonly sets: readonly ServiceEndpointSet[]; readonly toRead: readonly string[] };
  }>;
}

/** What the timer's sweep tells the registry when it cleans up the registry's own KV keys. */
export interface KvCleanupRequest {
  /** Scale sets ARM listed in this sweep (mesh ones and ones skipped for invalid tags): their markers stay. */
  readonly listedScaleSetIds: readonly string[];
  /**
   * True only when ARM answers 404 for the scale set. False or a throw (throttled, failed,
   * forbidden) keeps its marker until a later sweep; after a throw no further scale set is looked
   * up in that sweep.
   */
  readonly confirmGone: (scaleSetId: string) => Promise<boolean>;
}

export interface KvCleanupReport {
  readonly tombstonesRemoved: number;
  readonly markersRemoved: number;
  /** Keys chosen for deletion that changed after they were read (their delete-cas lost): kept. */
  readonly keptChanged: number;
  /** Markers kept because ARM could not confirm their scale set gone in this sweep. */
  readonly unconfirmed: ReadonlyArray<{ readonly scaleSetId: string; readonly error: string }>;
  /**
   * Candidate markers not looked up in ARM this sweep (per-sweep cap, or the look-ups stopped at
   * the first one that failed); the next sweep asks.
   */
  readonly deferred: number;
}

export interface RegistryPort {
  /**
   * Begins a reconcile whose ARM listing started at `listedAt`: claims the scale set (or defers the
   * claim, see BeginReconcileOptions) and reads our state of it; throws SupersededError.
   */
  beginReconcile(scaleSetId: string, listedAt: number, options?: BeginReconcileOptions): Promise<ReconcileSession>;
  /**
   * Reads what `beginReconcile` reads for a listing started at `listedAt` (our nodes of the scale
   * set, its tombstones) and writes nothing: no claim, no marker. For plans that are never applied
   * (`vmss-mesh reconcile --dry-run`): without a claim nothing fences off a concurrent run, so the
   * state may be overtaken by the time anyone reads the plan.
   */
  readReconcileState(scaleSetId: string, listedAt: number): Promise<ReconcileState>;
  /** The scale set (normalised ID) of our node for this VM, or null: ARM cannot say once a Flexible VM is deleted. */
  scaleSetOfInstance(vmResourceId: string): Promise<string | null>;
  /**
   * True when Consul holds any node of ours for this scale set, or its marker (it was in the mesh
   * once: a run may still be in flight). Cheap; avoids claiming scale sets we never touched.
   */
  knowsScaleSet(scaleSetId: string): Promise<boolean>;
  /** IDs of every scale set we hold nodes or a marker for (the timer also visits these: left or deleted sets). */
  ownedScaleSetIds(): Promise<readonly string[]>;
  /** Current endpoint sets of the named services with the Consul index they were read at. */
  serviceEndpoints(services: readonly string[]): Promise<readonly ServiceEndpointSet[]>;
  /**
   * Deletes expired tombstones and the markers of scale sets ARM confirms deleted (see
   * consul/kv-garbage-rules.ts for the rules), each with delete-cas at the index read. Throws when Consul
   * cannot be read or written; nothing that was not deleted is lost, the next sweep tries again.
   */
  cleanupKv(request: KvCleanupRequest): Promise<KvCleanupReport>;
}
