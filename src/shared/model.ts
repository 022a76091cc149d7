/**
 * The domain's shared vocabulary: what triggers produce, what ARM tells us, what we want in
 * Consul, and what the planner decides. No Functions, gRPC or SDK types here.
 */
import type { RoutePolicy } from './traffic';

/** A scale set named by its ARM coordinates. `id` is the normalised (lower-case) resource ID. */
export interface ScaleSetRef {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /** `/subscriptions/<sub>/resourcegroups/<rg>/providers/microsoft.compute/virtualmachinescalesets/<name>`, lower-case. */
  readonly id: string;
}

/**
 * What a hint asks a reconcile to do: reconcile the scale set it names, or first learn from ARM
 * which scale set a plain (Flexible-mode) VM belongs to (`virtualMachineScaleSet.id`; none: not
 * ours). Built from IDs by the one parser (`computeTargetOf` in resource-id.ts), so normalised
 * (lower-case). The timer's sweep names no target: it reconciles every scale set in scope.
 */
export type ReconcileTarget =
  | { readonly kind: 'scale-set'; readonly ref: ScaleSetRef }
  | {
      readonly kind: 'virtual-machine';
      /** Normalised ID of the plain VM (`Microsoft.Compute/virtualMachines/<name>`, Flexible mode). */
      readonly vmResourceId: string;
      readonly subscriptionId: string;
      readonly resourceGroup: string;
    };

/** What any trigger produces: "look at this scale set again". Events are hints, ARM is the truth. */
export interface ReconcileHint {
  readonly target: ReconcileTarget;
  /** Set when the event named a single VM (Uniform VMSS instance ID, or a Flexible VM's name). */
  readonly instanceId?: string;
  /**
   * Short machine-readable reason, e.g. `event:Microsoft.Compute/virtualMachineScaleSets/write`: a
   * `HINT_REASON` prefix for the trigger, then what it said. A run a hint starts takes it as source.
   */
  readonly reason: string;
  readonly eventTime: string;
  readonly eventId: string;
}

/** How a hint's `reason` begins, by trigger (metrics read the trigger of a run's source from it). */
export const HINT_REASON = { event: 'event:', autoscale: 'autoscale:' } as const;

export type MeshProtocol = 'http' | 'grpc' | 'tcp';

/** One mesh service a scale set serves, read from its tags (see `mesh-tags.ts`). */
export interface MeshServiceSpec {
  readonly name: string;
  readonly port: number;
  readonly protocol: MeshProtocol;
  /** HTTP health-check path for gateways, when the scale set declares one. */
  readonly healthPath?: string;
  /**
   * This scale set's share of the service's traffic, 0–1000 relative to the service's other scale
   * sets (`vmss-mesh-weight`); absent = share by healthy instances. 0 = drain: registered, healthy,
   * no new requests.
   */
  readonly weight?: number;
  /** Retries and timeouts for calls to the service (`vmss-mesh-retry-on`, …); absent = none. */
  readonly policy?: RoutePolicy;
}

export type OrchestrationMode = 'Uniform' | 'Flexible';

/** A scale set that belongs to the mesh (its tags name at least one service). */
export interface MeshScaleSet {
  readonly ref: ScaleSetRef;
  readonly orchestrationMode: OrchestrationMode;
  /** `sku.capacity` as ARM reports it (Uniform); for Flexible, the same field when present. */
  readonly capacity: number;
  readonly location: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly services: readonly MeshServiceSpec[];
}

/** Application Health extension / health probe state as ARM reports it (`vmHealth.status.code`). */
export type AppHealthState = 'Healthy' | 'Unhealthy' | 'Unknown' | 'Initializing';

/** One VM of a scale set as ARM sees it (compute + network). */
export interface Instance {
  /** VM name (`vmss_3` for Uniform, `vmss_ab12cd34` for Flexible). */
  readonly name: string;
  /** Uniform: the numeric instance id as a string; Flexible: the VM name. */
  readonly instanceId: string;
  /** Normalised (lower-case) ARM resource ID of the VM. */
  readonly resourceId: string;
  /** Private IPv4/IPv6 literals, primary NIC's primary IP configuration first. */
  readonly privateIps: readonly string[];
  readonly zone?: string;
  readonly faultDomain?: number;
  /** e.g. Creating, Updating, Succeeded, Failed, Deleting. */
  readonly provisioningState: string;
  /** e.g. running, starting, stopped, deallocated, deallocating; `unknown` when ARM gave none. */
  readonly powerState: string;
  /** Present only when the scale set has the Application Health extension or a health probe. */
  readonly healthState?: AppHealthState;
}

/** A listing of one scale set. `unknown` is never treated as empty (principle 4). */
export type InstanceListing =
  | { readonly status: 'complete'; readonly listedAt: number; readonly instances: readonly Instance[] }
  | {
      readonly status: 'unknown';
      readonly listedAt: number;
      readonly reason: string;
      /** True when asking again later may answer (throttling, 5xx, network); with ARM's Retry-After. */
      readonly retryable?: boolean;
      readonly retryAfterMs?: number;
    };

/** Status of the check that carries Azure's view of an instance. */
export type AzureCheckStatus = 'passing' | 'warning' | 'critical';

/** One external node + its mesh services + checks, as we want it in Consul. */
export interface DesiredNode {
  /** Deterministic node name derived from the VM resource ID (see `ownership.ts`). */
  readonly node: string;
  readonly address: string;
  readonly nodeMeta: Readonly<Record<string, string>>;
  readonly services: readonly DesiredService[];
  /** Node-level check carrying Azure's view (applies to every service on the node). */
  readonly azureCheck: { readonly status: AzureCheckStatus; readonly output: string };
  /** True while the instance is Deleting: a `_node_maintenance` critical check is present. */
  readonly draining: boolean;
  /** The VM resource ID (lower-case) this node mirrors. */
  readonly instanceResourceId: string;
}

export interface DesiredService {
  readonly id: string;
  readonly name: string;
  readonly port: number;
  readonly tags: readonly string[];
  readonly meta: Readonly<Record<string, string>>;
}

/** A node we own, as read back from Consul (only entries carrying our marks are ever read into this). */
export interface OwnedNode extends DesiredNode {
  readonly nodeModifyIndex: number;
  /**
   * What someone else put on our node (absent when nothing): meta keys that are not ours (kept by
   * every write; `nodeMeta` holds only ours), and IDs of services and node checks without our
   * marks (their presence makes deregistration remove only our entries and leave the node).
   */
  readonly foreign?: ForeignEntries;
}

export interface ForeignEntries {
  readonly nodeMeta: Readonly<Record<string, string>>;
  readonly serviceIds: readonly string[];
  readonly checkIds: readonly string[];
}

export type PlanAction =
  | { readonly kind: 'register'; readonly desired: DesiredNode }
  | { readonly kind: 'update'; readonly desired: DesiredNode; readonly actual: OwnedNode; readonly changes: readonly string[] }
  | {
      readonly kind: 'deregister';
      readonly actual: OwnedNode;
      /** gone = no longer in a complete ARM listing; out-of-scope = scale set left the mesh / service removed. */
      readonly because: 'gone' | 'out-of-scope';
    };

/** Something the planner chose not to do, and why (logged, never silent). */
export interface PlanSkip {
  readonly node: string;
  readonly reason: string;
}

export interface ReconcilePlan {
  readonly scaleSetId: string;
  readonly actions: readonly PlanAction[];
  readonly skipped: readonly PlanSkip[];
}
