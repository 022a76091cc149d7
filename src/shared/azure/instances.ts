/**
 * What really runs in a scale set, with IPs, in a handful of paged calls (never one NIC GET per VM
 * when a list can serve: that is how azure_sd burned tens of thousands of calls).
 *
 *   Uniform:  VMSS VMs ($expand=instanceView)  +  the scale set's NICs          — 2 listings
 *   Flexible: VMs filtered by virtualMachineScaleSet/id ($expand=instanceView)
 *             + the NICs they reference: one GET each or the resource group's NIC listing,
 *               whichever takes fewer requests, a group listing shared by the Flexible
 *               listings that may use it (flexible-nics.ts)
 *
 * Failure policy (principle 4, unknown is not empty): `listInstances` never throws for ARM
 * trouble, throttling included. Any failure — 429 past the retry budget, 5xx, network, a page
 * missing, a malformed VM — answers `{status: 'unknown', reason}`, and so does a listing with no
 * VM at all while the scale set reports capacity > 0. The reconciler then changes nothing for the
 * scale set; the next hint or timer run lists again. Throttling is not thrown as TransientError
 * because the reconciler's contract (InventoryPort) is "answer unknown" and a throttled
 * subscription is visible in the reason and the call meter.
 */
import { errorMessage, TransientError } from '../errors';
import type { Instance, InstanceListing, MeshScaleSet } from '../model';
import { computeTargetOf, parseResourceId } from '../resource-id';
import type { ArmClients } from './arm-clients';
import { isArmNotFound, toArmFailure } from './arm-failures';
import { RAW_LIST_API_VERSIONS, rawListing } from './arm-raw-list';
import type { RawListRequest } from './arm-raw-list';
import { NicGroupReads, nicGroupKey, readFlexibleNics } from './flexible-nics';
import type { NicReadStrategy } from './flexible-nics';
import { nicFromArm, toInstance, vmFromArm } from './instance-mapping';
import type { NicLike, VmLike } from './instance-mapping';

export interface ListInstancesOptions {
  /** Flexible: before a resource group's NICs were ever listed, it is listed when at least this many are referenced, not GET per NIC. Default 3. */
  readonly nicGetThreshold?: number;
  /** Flexible: how NICs are read (default `auto`: the cheaper way; see flexible-nics.ts). */
  readonly nicStrategy?: NicReadStrategy;
  /** Flexible: group listings and page counts shared between listings (one per inventory); default: none shared. */
  readonly nicReads?: NicGroupReads;
  /** Injected clock for `listedAt`. */
  readonly now?: () => number;
}

async function collect<T>(pages: AsyncIterable<T>, what: string, onFailure?: () => void): Promise<T[]> {
  const items: T[] = [];
  try {
    for await (const item of pages) items.push(item);
  } catch (error) {
    onFailure?.();
    throw toArmFailure(error, what);
  }
  return items;
}

/**
 * A listing's items: ARM's JSON through the client's pipeline, mapped by `fromArm` (arm-raw-list.ts),
 * or, for a client without the REST layer we know, the SDK operation `sdkList`.
 */
export async function collectListing<T>(
  sdkClient: object,
  request: RawListRequest,
  fromArm: (raw: unknown) => T,
  sdkList: () => AsyncIterable<T>,
  what: string,
  onFailure?: () => void,
): Promise<T[]> {
  const raw = rawListing(sdkClient, request);
  if (raw === undefined) return collect(sdkList(), what, onFailure);
  const items: T[] = [];
  try {
    for await (const page of raw) for (const item of page) items.push(fromArm(item));
  } catch (error) {
    onFailure?.();
    throw toArmFailure(error, what);
  }
  return items;
}

function groupNicsByVm(nics: readonly NicLike[]): Map<string, NicLike[]> {
  const byVm = new Map<string, NicLike[]>();
  for (const nic of nics) {
    const vmId = nic.virtualMachine?.id?.toLowerCase();
    if (!vmId) continue;
    const held = byVm.get(vmId);
    if (held) held.push(nic);
    else byVm.set(vmId, [nic]);
  }
  return byVm;
}

async function listUniform(clients: ArmClients, scaleSet: MeshScaleSet): Promise<Instance[]> {
  const { subscriptionId, resourceGroup, name } = scaleSet.ref;
  const { compute, network } = clients.forSubscription(subscriptionId);
  // Both listings run at once; when one fails the other is cancelled (its pages would be wasted calls).
  const cancel = new AbortController();
  const abortSignal = cancel.signal;
  const path = `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/Microsoft.Compute/virtualMachineScaleSets/${encodeURIComponent(name)}`;
  const [vms, nics] = await Promise.all([
    collectListing<VmLike>(
      compute,
      { path: `${path}/virtualMachines`, apiVersion: RAW_LIST_API_VERSIONS.compute, query: { $expand: 'instanceView' }, abortSignal },
      vmFromArm,
      () => compute.virtualMachineScaleSetVMs.list(resourceGroup, name, { expand: 'instanceView', abortSignal }),
      `listing VMs of scale set ${name}`,
      () => cancel.abort(),
    ),
    collectListing<NicLike>(
      network,
      { path: `${path}/networkInterfaces`, apiVersion: RAW_LIST_API_VERSIONS.scaleSetNics, abortSignal },
      nicFromArm,
      () => network.networkInterfaces.listVirtualMachineScaleSetNetworkInterfaces(resourceGroup, name, { abortSignal }),
      `listing NICs of scale set ${name}`,
      () => cancel.abort(),
    ),
  ]);
  const nicsByVm = groupNicsByVm(nics);
  return vms.map((vm) => toInstance(vm, nicsByVm.get(vm.id?.toLowerCase() ?? '') ?? [], 'Uniform'));
}

/** `/subscriptions/S/resourceGroups/R/providers/Microsoft.Compute/virtualMachineScaleSets/N` with the ref's parts. */
function armScaleSetId(scaleSet: MeshScaleSet): string {
  const { subscriptionId, resourceGroup, name } = scaleSet.ref;
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
}

async function listFlexible(clients: ArmClients, scaleSet: MeshScaleSet, options: ListInstancesOptions): Promise<Instance[]> {
  const { subscriptionId, resourceGroup, name } = scaleSet.ref;
  const { compute } = clients.forSubscription(subscriptionId);
  const filter = `'virtualMachineScaleSet/id' eq '${armScaleSetId(scaleSet)}'`;
  const reads = options.nicReads ?? new NicGroupReads();
  const vmListingMark = reads.mark();
  reads.arrived(nicGroupKey(subscriptionId, resourceGroup), scaleSet.ref.id);
  const listed = await collectListing<VmLike & { virtualMachineScaleSet?: { id?: string } }>(
    compute,
    {
      path: `/subscriptions/${encodeURIComponent(subscriptionId)}/resourceGroups/${encodeURIComponent(resourceGroup)}/providers/Microsoft.Compute/virtualMachines`,
      apiVersion: RAW_LIST_API_VERSIONS.compute,
      query: { $filter: filter, $expand: 'instanceView' },
    },
    vmFromArm,
    () => compute.virtualMachines.list(resourceGroup, { filter, expand: 'instanceView' }),
    `listing VMs of Flexible scale set ${name}`,
  );
  // Belt and braces: keep only VMs that say they belong to this scale set, whatever the filter did.
  const vms = listed.filter((vm) => vm.virtualMachineScaleSet?.id?.toLowerCase() === scaleSet.ref.id);
  const nicIds = vms.flatMap((vm) => (vm.networkProfile?.networkInterfaces ?? []).map((ref) => ref.id).filter((id): id is string => !!id));
  const nics = await readFlexibleNics(clients, nicIds, { strategy: options.nicStrategy ?? 'auto', threshold: options.nicGetThreshold ?? 3, reads, vmListingMark });
  const nicsByVm = groupNicsByVm(nics);
  return vms.map((vm) => toInstance(vm, nicsByVm.get(vm.id?.toLowerCase() ?? '') ?? [], 'Flexible'));
}

/** Lists every instance of a mesh scale set. Never throws for ARM trouble: see the module comment. */
export async function listInstances(clients: ArmClients, scaleSet: MeshScaleSet, options: ListInstancesOptions = {}): Promise<InstanceListing> {
  const listedAt = (options.now ?? Date.now)();
  try {
    const instances =
      scaleSet.orchestrationMode === 'Flexible' ? await listFlexible(clients, scaleSet, options) : await listUniform(clients, scaleSet);
    if (instances.length === 0 && scaleSet.capacity > 0) {
      return { status: 'unknown', listedAt, reason: `ARM listed no VM for scale set ${scaleSet.ref.name} although its capacity is ${scaleSet.capacity}` };
    }
    return { status: 'complete', listedAt, instances };
  } catch (error) {
    const failure = toArmFailure(error, `listing scale set ${scaleSet.ref.name}`);
    return {
      status: 'unknown',
      listedAt,
      reason: `listing scale set ${scaleSet.ref.name}: ${errorMessage(error)}`,
      retryable: failure.retryable,
      ...(failure instanceof TransientError && failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
    };
  }
}

/** What ARM answered for instances a listing lacked: gone from this scale set, or still in it; others are unanswered. */
export interface InstanceCheck {
  readonly gone: ReadonlySet<string>;
  readonly present: ReadonlySet<string>;
}

/**
 * Asks ARM about each given VM (one GET each; Uniform VMSS VM or Flexible VM): `gone` when it
 * answers 404 — or, for a Flexible VM, with a VM that is not in this scale set (a VM of the same
 * name made since) —, `present` when it answers with the VM in this scale set (running, Deleting,
 * anything). A failed GET leaves it in neither. IDs come back normalised.
 */
export async function confirmInstancesGone(clients: ArmClients, scaleSet: MeshScaleSet, instanceResourceIds: readonly string[], options: { readonly concurrency?: number } = {}): Promise<InstanceCheck> {
  const gone = new Set<string>();
  const present = new Set<string>();
  const queue = [...new Set(instanceResourceIds.map((id) => id.toLowerCase()))];
  const check = async (id: string): Promise<void> => {
    let target;
    try {
      target = computeTargetOf(parseResourceId(id));
    } catch {
      return; // not an ARM ID: cannot be confirmed
    }
    const { compute } = clients.forSubscription(target?.kind === 'scale-set' ? target.ref.subscriptionId : (target?.subscriptionId ?? scaleSet.ref.subscriptionId));
    try {
      if (target?.kind === 'scale-set' && target.instanceId !== undefined && target.childType === 'virtualmachines' && target.ref.id === scaleSet.ref.id) {
        await compute.virtualMachineScaleSetVMs.get(target.ref.resourceGroup, target.ref.name, target.instanceId);
      } else if (target?.kind === 'virtual-machine' && target.childType === '') {
        const vm = await compute.virtualMachines.get(target.resourceGroup, target.vmName);
        if (vm.virtualMachineScaleSet?.id?.toLowerCase() !== scaleSet.ref.id.toLowerCase()) {
          gone.add(id);
          return;
        }
      } else {
        return; // not a VM of this scale set
      }
      present.add(id);
    } catch (error) {
      if (isArmNotFound(error)) gone.add(id);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(options.concurrency ?? 4, queue.length)) }, async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) await check(id);
  });
  await Promise.all(workers);
  return { gone, present };
}
