/**
 * The vocabulary of the emulated Azure world: what tests and the sandbox create, read and watch.
 * Snapshots handed out are plain frozen data; the world's own state never leaks.
 */
import type { AppHealthState, OrchestrationMode } from '../../shared/model';

export type { AppHealthState, OrchestrationMode };

/** `PowerState/<x>` codes ARM reports in a VM's instance view. */
export type PowerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'deallocating' | 'deallocated' | 'unknown';

/** Provisioning states an emulated instance goes through. */
export type InstanceProvisioningState = 'Creating' | 'Updating' | 'Succeeded' | 'Failed' | 'Deleting';

/** How Azure picks the instances to remove when capacity drops (`scaleInPolicy.rules[0]`). */
export type ScaleInPolicy = 'Default' | 'NewestVM' | 'OldestVM';

/** A scale set named by its parts or by its resource ID (any casing). */
export type ScaleSetSelector = string | { readonly subscriptionId: string; readonly resourceGroup: string; readonly name: string };

export interface CreateScaleSetInput {
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  /** Default `westeurope`. */
  readonly location?: string;
  /** Availability zones, e.g. `['1','2','3']`; instances are spread evenly. Default none. */
  readonly zones?: readonly string[];
  readonly tags?: Readonly<Record<string, string>>;
  /** Initial instance count. Default 0. */
  readonly capacity?: number;
  /** Default `Uniform`. */
  readonly orchestrationMode?: OrchestrationMode;
  /** Default `Standard_D2s_v3`. */
  readonly vmSize?: string;
  /** The instances' image: a marketplace URN (`publisher:offer:sku:version`) or an image resource ID. Default none shown. */
  readonly imageReference?: string;
  /**
   * Whether the Application Health extension is installed: instances then report `vmHealth`
   * (Initializing while they are created, then `initialHealth`). Default true.
   */
  readonly healthExtension?: boolean;
  /** Health a new instance reports once provisioned, when the extension is installed. Default `Healthy`. */
  readonly initialHealth?: AppHealthState;
  /** Default 5 for Uniform, 1 for Flexible (Azure's own defaults for zonal sets). */
  readonly platformFaultDomainCount?: number;
  /** NICs per instance (the first is primary). Default 1. */
  readonly nicsPerInstance?: number;
  /** IP configurations per NIC (the first is primary). Default 1. */
  readonly ipConfigurationsPerNic?: number;
  /** Default `Default` (balance zones, then remove the highest instance id). */
  readonly scaleInPolicy?: ScaleInPolicy;
  /** Overrides of the world's lifecycle durations for this scale set. */
  readonly lifecycle?: Partial<LifecycleDurations>;
}

export interface LifecycleDurations {
  /** How long a new instance stays `Creating` (power `starting`). 0 = created `Succeeded`/running at once. */
  readonly createDelayMs: number;
  /** How long a removed instance stays `Deleting` before it disappears. 0 = gone at once. */
  readonly drainMs: number;
}

export interface EmulatedScaleSet {
  /** Resource ID in ARM's casing (`resourceGroups`, `Microsoft.Compute`), parts as created. */
  readonly id: string;
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly name: string;
  readonly location: string;
  readonly zones: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** `sku.capacity`: instances that are not being deleted. */
  readonly capacity: number;
  readonly orchestrationMode: OrchestrationMode;
  readonly vmSize: string;
  /** As created (`virtualMachineProfile.storageProfile.imageReference`); absent when none was given. */
  readonly imageReference?: string;
  readonly provisioningState: 'Succeeded' | 'Deleting';
  readonly healthExtension: boolean;
  readonly platformFaultDomainCount: number;
  readonly scaleInPolicy: ScaleInPolicy;
  readonly uniqueId: string;
  readonly timeCreated: string;
}

export interface EmulatedIpConfiguration {
  readonly name: string;
  readonly privateIp: string;
  readonly primary: boolean;
}

export interface EmulatedNic {
  readonly name: string;
  /** Uniform: `…/virtualMachineScaleSets/{vmss}/virtualMachines/{n}/networkInterfaces/{nic}`; Flexible: `…/Microsoft.Network/networkInterfaces/{nic}`. */
  readonly id: string;
  readonly primary: boolean;
  readonly macAddress: string;
  readonly ipConfigurations: readonly EmulatedIpConfiguration[];
}

export interface EmulatedInstance {
  /** ID of the scale set, ARM casing. */
  readonly scaleSetId: string;
  /** Uniform: the numeric instance id; Flexible: the VM name. */
  readonly instanceId: string;
  /** Uniform `vmss_3`; Flexible `vmss_1a2b3c4d`. */
  readonly name: string;
  /** Uniform `…/virtualMachineScaleSets/{vmss}/virtualMachines/{n}`; Flexible `…/virtualMachines/{name}`. ARM casing. */
  readonly id: string;
  readonly computerName: string;
  readonly vmId: string;
  readonly zone?: string;
  readonly faultDomain: number;
  readonly provisioningState: InstanceProvisioningState;
  readonly powerState: PowerState;
  /** `null` when the scale set has no health extension or the state was cleared. */
  readonly health: AppHealthState | null;
  readonly nics: readonly EmulatedNic[];
  readonly timeCreated: string;
  /** Creation order within the world (Flexible scale-in picks newest/oldest by it). */
  readonly ordinal: number;
}

/** What Event Grid would carry for an ARM write/delete/action (the Event Grid simulator turns these into deliveries). */
export interface ArmOperationRecord {
  /** Position in the world's operation log, from 1. */
  readonly sequence: number;
  /** e.g. `Microsoft.Compute/virtualMachineScaleSets/write`, `.../delete/action`, `Microsoft.Compute/virtualMachines/delete`. */
  readonly operationName: string;
  /** The resource the operation addressed, in the casing of the request (or ARM's for world operations). */
  readonly resourceUri: string;
  readonly resourceProvider: 'Microsoft.Compute';
  readonly subscriptionId: string;
  readonly resourceGroup: string;
  readonly status: 'Succeeded';
  readonly correlationId: string;
  /** ISO 8601. */
  readonly eventTime: string;
  /** Set for operations that came in over REST (and for world operations that stand for one). */
  readonly httpMethod?: 'PUT' | 'PATCH' | 'POST' | 'DELETE';
  /** The request URL when the operation came in over REST. */
  readonly httpUrl?: string;
  /** `rest` = a client called the emulator; `world` = a test or the sandbox called the world API. */
  readonly origin: 'rest' | 'world';
}

export type WorldChange =
  | { readonly kind: 'scale-set-created' | 'scale-set-updated' | 'scale-set-removed'; readonly scaleSetId: string }
  | { readonly kind: 'instance-created' | 'instance-updated' | 'instance-removed'; readonly scaleSetId: string; readonly instanceId: string };

/** Who asked for an operation: decides what the operation record says. */
export interface OperationOrigin {
  readonly origin: 'rest' | 'world';
  readonly httpMethod?: ArmOperationRecord['httpMethod'];
  readonly httpUrl?: string;
  /** The resource ID as the request spelled it. */
  readonly resourceUri?: string;
  readonly correlationId?: string;
}

/** Picks the private IP for one IP configuration of a new instance. Must not return an address twice. */
export type IpAllocator = (request: {
  readonly scaleSetId: string;
  readonly instanceName: string;
  readonly nicIndex: number;
  readonly ipConfigurationIndex: number;
}) => string;
