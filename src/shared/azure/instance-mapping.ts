/**
 * From what ARM says about a VM and its NICs to our `Instance`. Pure functions over the few fields
 * we read (structural types, so the SDK models fit and tests can build plain objects).
 *
 * ARM promises no order for NICs or IP configurations: the primary NIC's primary IP comes first
 * because we sort by the `primary` flags, never because of list order.
 */
import { isIP } from 'node:net';
import { InvalidInputError } from '../errors';
import type { AppHealthState, Instance, OrchestrationMode } from '../model';

export interface InstanceStatusLike {
  readonly code?: string;
}

export interface InstanceViewLike {
  readonly platformFaultDomain?: number;
  readonly statuses?: readonly InstanceStatusLike[];
  readonly vmHealth?: { readonly status?: InstanceStatusLike };
}

export interface NicReferenceLike {
  readonly id?: string;
  readonly primary?: boolean;
}

/** A Uniform VMSS VM or a Flexible (plain) VM, as the SDK returns it (properties flattened). */
export interface VmLike {
  readonly id?: string;
  readonly name?: string;
  /** Uniform only. */
  readonly instanceId?: string;
  readonly zones?: readonly string[];
  readonly provisioningState?: string;
  /** Flexible VMs carry it on the model too. */
  readonly platformFaultDomain?: number;
  readonly instanceView?: InstanceViewLike;
  readonly networkProfile?: { readonly networkInterfaces?: readonly NicReferenceLike[] };
}

export interface IpConfigurationLike {
  readonly privateIPAddress?: string;
  readonly primary?: boolean;
}

export interface NicLike {
  readonly id?: string;
  readonly primary?: boolean;
  readonly virtualMachine?: { readonly id?: string };
  readonly ipConfigurations?: readonly IpConfigurationLike[];
}

const HEALTH_STATES: Readonly<Record<string, AppHealthState>> = {
  healthy: 'Healthy',
  unhealthy: 'Unhealthy',
  unknown: 'Unknown',
  initializing: 'Initializing',
};

/** `PowerState/running` → `running`; the first status with the prefix wins. */
export function statusValue(statuses: readonly InstanceStatusLike[] | undefined, prefix: 'PowerState' | 'ProvisioningState'): string | undefined {
  const wanted = `${prefix.toLowerCase()}/`;
  const code = statuses?.find((s) => s.code?.toLowerCase().startsWith(wanted))?.code;
  return code?.slice(wanted.length).split('/')[0] || undefined;
}

/** `HealthState/healthy` → `Healthy`; a code we do not know reads as `Unknown`; no report → undefined. */
export function healthState(view: InstanceViewLike | undefined): AppHealthState | undefined {
  const code = view?.vmHealth?.status?.code;
  if (code === undefined) return undefined;
  const state = code.toLowerCase().startsWith('healthstate/') ? code.slice('healthstate/'.length).toLowerCase() : '';
  return HEALTH_STATES[state] ?? 'Unknown';
}

function capitalise(value: string): string {
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** The model's provisioningState, else the instance view's `ProvisioningState/x`, else `Unknown`. */
export function provisioningState(vm: VmLike): string {
  if (vm.provisioningState) return vm.provisioningState;
  const fromStatus = statusValue(vm.instanceView?.statuses, 'ProvisioningState');
  return fromStatus ? capitalise(fromStatus) : 'Unknown';
}

/** Private IPs of a VM's NICs: primary NIC first, in each NIC the primary configuration first; valid literals only, no duplicates. */
export function privateIps(vm: VmLike, nics: readonly NicLike[]): string[] {
  const referencedPrimary = new Map<string, boolean>();
  for (const ref of vm.networkProfile?.networkInterfaces ?? []) {
    if (ref.id) referencedPrimary.set(ref.id.toLowerCase(), ref.primary === true);
  }
  const isPrimaryNic = (nic: NicLike): boolean => nic.primary ?? referencedPrimary.get(nic.id?.toLowerCase() ?? '') ?? false;
  const byPrimary = <T>(isPrimary: (item: T) => boolean) => (a: T, b: T): number => Number(isPrimary(b)) - Number(isPrimary(a));
  const ips: string[] = [];
  for (const nic of [...nics].sort(byPrimary(isPrimaryNic))) {
    for (const config of [...(nic.ipConfigurations ?? [])].sort(byPrimary((c: IpConfigurationLike) => c.primary === true))) {
      const ip = config.privateIPAddress?.trim();
      if (ip && isIP(ip) !== 0 && !ips.includes(ip)) ips.push(ip);
    }
  }
  return ips;
}

/** Maps one VM; throws InvalidInputError when ARM left out what identifies it. */
export function toInstance(vm: VmLike, nics: readonly NicLike[], mode: OrchestrationMode): Instance {
  if (!vm.id || !vm.name) throw new InvalidInputError(`ARM returned a VM without ${vm.id ? 'a name' : 'an id'}`);
  const instanceId = mode === 'Uniform' ? vm.instanceId : vm.name;
  if (!instanceId) throw new InvalidInputError(`ARM returned Uniform VM ${vm.id} without an instanceId`);
  const zone = vm.zones?.[0];
  const faultDomain = vm.platformFaultDomain ?? vm.instanceView?.platformFaultDomain;
  const health = healthState(vm.instanceView);
  return {
    name: vm.name,
    instanceId,
    resourceId: vm.id.toLowerCase(),
    privateIps: privateIps(vm, nics),
    ...(zone === undefined ? {} : { zone }),
    ...(faultDomain === undefined ? {} : { faultDomain }),
    provisioningState: provisioningState(vm),
    powerState: statusValue(vm.instanceView?.statuses, 'PowerState') ?? 'unknown',
    ...(health === undefined ? {} : { healthState: health }),
  };
}

// ---- from ARM's wire JSON (the raw listings of arm-raw-list.ts) ------------------------------------
// ARM nests a resource's fields under `properties`; the SDK models flatten them. These read the
// same fields the SDK's deserialisers would have put in the models above, and nothing else; a field
// of an unexpected JSON type reads as undefined (as if ARM had not sent it).

type JsonObject = Readonly<Record<string, unknown>>;

function object(value: unknown): JsonObject | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as JsonObject) : undefined;
}
function string(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
function boolean(value: unknown): boolean | undefined {
  return typeof value === 'boolean' ? value : undefined;
}
function number(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}
function array(value: unknown): readonly unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}

function statusFromArm(raw: unknown): InstanceStatusLike {
  return { code: string(object(raw)?.['code']) };
}

function instanceViewFromArm(raw: unknown): InstanceViewLike | undefined {
  const view = object(raw);
  if (view === undefined) return undefined;
  const health = object(object(view['vmHealth'])?.['status']);
  return {
    platformFaultDomain: number(view['platformFaultDomain']),
    statuses: array(view['statuses'])?.map(statusFromArm),
    vmHealth: health === undefined ? undefined : { status: statusFromArm(health) },
  };
}

/** A Uniform VMSS VM or a Flexible VM from ARM's JSON (what the SDK model holds of the fields we read). */
export function vmFromArm(raw: unknown): VmLike & { readonly virtualMachineScaleSet?: { readonly id?: string } } {
  const vm = object(raw) ?? {};
  const properties = object(vm['properties']) ?? {};
  const scaleSet = object(properties['virtualMachineScaleSet']);
  const nics = array(object(properties['networkProfile'])?.['networkInterfaces']);
  return {
    id: string(vm['id']),
    name: string(vm['name']),
    instanceId: string(vm['instanceId']),
    zones: array(vm['zones'])?.filter((z): z is string => typeof z === 'string'),
    provisioningState: string(properties['provisioningState']),
    platformFaultDomain: number(properties['platformFaultDomain']),
    instanceView: instanceViewFromArm(properties['instanceView']),
    networkProfile: nics === undefined ? undefined : { networkInterfaces: nics.map((ref) => ({ id: string(object(ref)?.['id']), primary: boolean(object(object(ref)?.['properties'])?.['primary']) })) },
    virtualMachineScaleSet: scaleSet === undefined ? undefined : { id: string(scaleSet['id']) },
  };
}

/** A NIC from ARM's JSON (what the SDK model holds of the fields we read). */
export function nicFromArm(raw: unknown): NicLike {
  const nic = object(raw) ?? {};
  const properties = object(nic['properties']) ?? {};
  const vm = object(properties['virtualMachine']);
  return {
    id: string(nic['id']),
    primary: boolean(properties['primary']),
    virtualMachine: vm === undefined ? undefined : { id: string(vm['id']) },
    ipConfigurations: array(properties['ipConfigurations'])?.map((config) => {
      const p = object(object(config)?.['properties']);
      return { privateIPAddress: string(p?.['privateIPAddress']), primary: boolean(p?.['primary']) };
    }),
  };
}
