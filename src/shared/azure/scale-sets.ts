/**
 * Which scale sets belong to the mesh: every scale set in scope whose tags declare mesh services.
 * Listings read every page (go-discover's bug was reading only the first); a scale set whose mesh
 * tags are invalid is reported as skipped with the reasons, never silently dropped.
 */
import type { ScopeConfig } from '../config';
import { InvalidInputError } from '../errors';
import type { MeshScaleSet, OrchestrationMode, ScaleSetRef } from '../model';
import { computeTargetOf, parseResourceId, scaleSetRefFromId } from '../resource-id';
import type { ArmClients } from './arm-clients';
import { armStatusText, isArmNotFound, toArmFailure } from './arm-failures';
import { hasMeshTags, parseMeshTags } from './mesh-tags';

/** The fields of the SDK's VirtualMachineScaleSet we read. */
export interface ScaleSetLike {
  readonly id?: string;
  readonly location?: string;
  readonly tags?: Record<string, string>;
  readonly sku?: { readonly capacity?: number };
  readonly orchestrationMode?: string;
}

export interface SkippedScaleSet {
  /** Normalised scale set ID. */
  readonly id: string;
  readonly reason: string;
}

export interface MeshScaleSetListing {
  readonly scaleSets: readonly MeshScaleSet[];
  /** Scale sets with `vmss-mesh-*` tags that do not form a valid declaration. */
  readonly skipped: readonly SkippedScaleSet[];
  /** Scope entries that did not exist (e.g. a configured resource group missing in one subscription). */
  readonly warnings: readonly string[];
}

export type ScaleSetLookup =
  | { readonly state: 'in-mesh'; readonly scaleSet: MeshScaleSet }
  /**
   * The scale set exists but its tags no longer declare valid mesh services. `errors` is non-empty
   * when it still has `vmss-mesh-*` tags that are invalid (a typo, not a decision to leave).
   */
  | { readonly state: 'left-mesh'; readonly ref: ScaleSetRef; readonly reason: string; readonly errors: readonly string[] }
  | { readonly state: 'not-found'; readonly ref: ScaleSetRef };

type Classified =
  | { readonly kind: 'mesh'; readonly scaleSet: MeshScaleSet }
  | { readonly kind: 'invalid'; readonly ref: ScaleSetRef; readonly errors: readonly string[] }
  | { readonly kind: 'untagged'; readonly ref: ScaleSetRef };

function orchestrationMode(value: string | undefined): OrchestrationMode {
  // ARM leaves orchestrationMode out for old Uniform scale sets.
  return value?.toLowerCase() === 'flexible' ? 'Flexible' : 'Uniform';
}

/** Reads one ARM scale set: in the mesh, invalid mesh tags, or not tagged for the mesh. */
export function classifyScaleSet(vmss: ScaleSetLike): Classified {
  if (!vmss.id) throw new InvalidInputError('ARM returned a scale set without an id');
  const ref = scaleSetRefFromId(vmss.id, 'id');
  const tags = vmss.tags ?? {};
  if (!hasMeshTags(tags)) return { kind: 'untagged', ref };
  const parsed = parseMeshTags(tags);
  if (!parsed.ok) return { kind: 'invalid', ref, errors: parsed.errors };
  return {
    kind: 'mesh',
    scaleSet: {
      ref,
      orchestrationMode: orchestrationMode(vmss.orchestrationMode),
      capacity: vmss.sku?.capacity ?? 0,
      location: vmss.location ?? '',
      tags: { ...tags },
      services: parsed.services,
    },
  };
}

/** True when the scale set lies inside the configured subscriptions and resource groups. */
export function isInScope(ref: ScaleSetRef, scope: ScopeConfig): boolean {
  const sub = ref.subscriptionId.toLowerCase();
  const rg = ref.resourceGroup.toLowerCase();
  return (scope.subscriptions.length === 0 || scope.subscriptions.includes(sub)) && (scope.resourceGroups.length === 0 || scope.resourceGroups.includes(rg));
}

async function collect<T>(pages: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of pages) items.push(item);
  return items;
}

/**
 * Every mesh scale set in scope: per resource group when resource groups are configured, else
 * `listAll` per subscription (an empty subscription list means the clients' own subscription).
 * Throws TransientError / ConfigError when ARM cannot answer: a partial scope is never returned.
 */
export async function listMeshScaleSets(clients: ArmClients, scope: ScopeConfig): Promise<MeshScaleSetListing> {
  const subscriptions = scope.subscriptions.length > 0 ? scope.subscriptions : [clients.subscriptionId];
  const scaleSets: MeshScaleSet[] = [];
  const skipped: SkippedScaleSet[] = [];
  const warnings: string[] = [];
  for (const subscriptionId of subscriptions) {
    const { compute } = clients.forSubscription(subscriptionId);
    const sources: Array<{ what: string; list: () => AsyncIterable<ScaleSetLike> }> =
      scope.resourceGroups.length > 0
        ? scope.resourceGroups.map((rg) => ({ what: `listing scale sets of resource group ${rg} in subscription ${subscriptionId}`, list: () => compute.virtualMachineScaleSets.list(rg) }))
        : [{ what: `listing scale sets of subscription ${subscriptionId}`, list: () => compute.virtualMachineScaleSets.listAll() }];
    for (const source of sources) {
      let listed: ScaleSetLike[];
      try {
        listed = await collect(source.list());
      } catch (error) {
        if (scope.resourceGroups.length > 0 && isArmNotFound(error)) {
          warnings.push(`${source.what}: not found (${armStatusText(error)})`);
          continue;
        }
        throw toArmFailure(error, source.what);
      }
      for (const vmss of listed) {
        const classified = classifyScaleSet(vmss);
        if (classified.kind === 'mesh') scaleSets.push(classified.scaleSet);
        else if (classified.kind === 'invalid') skipped.push({ id: classified.ref.id, reason: `invalid mesh tags: ${classified.errors.join('; ')}` });
      }
    }
  }
  return { scaleSets, skipped, warnings };
}

/**
 * Looks one scale set up with one GET. 404 → not-found, which is what ARM said once, not proof:
 * ARM answers 404 briefly during replication and region failover. Callers that remove on it
 * confirm first (src/shared/reconcile/reconcile-scale-set.ts). Other ARM trouble throws
 * (TransientError, ConfigError).
 */
export async function getScaleSet(clients: ArmClients, ref: ScaleSetRef): Promise<ScaleSetLookup> {
  const what = `reading scale set ${ref.name} (resource group ${ref.resourceGroup}, subscription ${ref.subscriptionId})`;
  let vmss: ScaleSetLike;
  try {
    vmss = await clients.forSubscription(ref.subscriptionId).compute.virtualMachineScaleSets.get(ref.resourceGroup, ref.name);
  } catch (error) {
    if (isArmNotFound(error)) return { state: 'not-found', ref };
    throw toArmFailure(error, what);
  }
  const classified = classifyScaleSet(vmss);
  switch (classified.kind) {
    case 'mesh':
      return { state: 'in-mesh', scaleSet: classified.scaleSet };
    case 'invalid':
      return { state: 'left-mesh', ref, reason: `invalid mesh tags: ${classified.errors.join('; ')}`, errors: classified.errors };
    case 'untagged':
      return { state: 'left-mesh', ref, reason: 'no vmss-mesh-* tags', errors: [] };
  }
}

/**
 * Whether the scale-set listing of the resource group contains `ref` (every page): another route
 * than the GET, so one misbehaving replica or proxy answering 404 for the GET cannot alone say
 * "gone". The resource group answering 404 means none of its scale sets exists: false.
 */
export async function isListedInResourceGroup(clients: ArmClients, ref: ScaleSetRef): Promise<boolean> {
  const what = `listing scale sets of resource group ${ref.resourceGroup} in subscription ${ref.subscriptionId}`;
  const wanted = ref.id.toLowerCase();
  try {
    for await (const vmss of clients.forSubscription(ref.subscriptionId).compute.virtualMachineScaleSets.list(ref.resourceGroup)) {
      if (vmss.id?.toLowerCase() === wanted) return true;
    }
    return false;
  } catch (error) {
    if (isArmNotFound(error)) return false;
    throw toArmFailure(error, what);
  }
}

export type VmScaleSetLookup =
  | { readonly state: 'in-scale-set'; readonly ref: ScaleSetRef }
  | { readonly state: 'standalone' }
  | { readonly state: 'not-found' };

/**
 * The scale set of a VM. For a plain (Flexible-mode) VM only ARM knows it (`virtualMachineScaleSet.id`):
 * one GET. A Uniform VMSS VM ID names its scale set itself: no call. Throws InvalidInputError for
 * an ID that is not a VM, TransientError / ConfigError when ARM cannot answer.
 */
export async function findScaleSetOfVm(
  clients: ArmClients,
  vmOrId: string | { readonly subscriptionId: string; readonly resourceGroup: string; readonly vmName: string },
): Promise<VmScaleSetLookup> {
  let vm: { readonly subscriptionId: string; readonly resourceGroup: string; readonly vmName: string };
  if (typeof vmOrId === 'string') {
    const target = computeTargetOf(parseResourceId(vmOrId, 'vmResourceId'));
    if (target?.kind === 'scale-set' && target.instanceId !== undefined) return { state: 'in-scale-set', ref: target.ref };
    if (target?.kind !== 'virtual-machine') throw new InvalidInputError(`not a virtual machine ID: ${vmOrId}`, 'vmResourceId');
    vm = target;
  } else {
    vm = vmOrId;
  }
  let found: { readonly virtualMachineScaleSet?: { readonly id?: string } };
  try {
    found = await clients.forSubscription(vm.subscriptionId).compute.virtualMachines.get(vm.resourceGroup, vm.vmName);
  } catch (error) {
    if (isArmNotFound(error)) return { state: 'not-found' };
    throw toArmFailure(error, `reading VM ${vm.vmName} (resource group ${vm.resourceGroup})`);
  }
  const id = found.virtualMachineScaleSet?.id;
  return id ? { state: 'in-scale-set', ref: scaleSetRefFromId(id, 'virtualMachineScaleSet.id') } : { state: 'standalone' };
}
