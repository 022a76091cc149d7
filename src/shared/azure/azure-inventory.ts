/**
 * The inventory as one object bound to clients and scope: the shape the reconciler's
 * InventoryPort asks for (src/shared/reconcile/ports.ts), so wiring is one call.
 */
import type { ScopeConfig } from '../config';
import type { ScaleSetLookup as ReconcileLookup } from '../reconcile/ports';
import type { InstanceListing, MeshScaleSet, ScaleSetRef } from '../model';
import type { ArmCallStats } from './arm-call-meter';
import type { ArmClients } from './arm-clients';
import { NicGroupReads, nicGroupKey } from './flexible-nics';
import type { GatheredListings } from './flexible-nics';
import { confirmInstancesGone, listInstances } from './instances';
import type { InstanceCheck, ListInstancesOptions } from './instances';
import { findScaleSetOfVm, getScaleSet, isListedInResourceGroup, listMeshScaleSets } from './scale-sets';
import type { MeshScaleSetListing, ScaleSetLookup } from './scale-sets';

export interface AzureInventory {
  /**
   * One GET. 404 → not-found (one answer; the reconcile confirms it with a second GET before it
   * removes anything); mistyped mesh tags → unknown (a typo is not a decision to leave the mesh, so
   * nothing is deregistered); throws TransientError / ConfigError when ARM cannot answer.
   */
  lookupScaleSet(ref: ScaleSetRef): Promise<ReconcileLookup>;
  /** Whether the resource group's scale-set listing contains it (every page); RG 404 → false; throws on ARM trouble. */
  isListedInResourceGroup(ref: ScaleSetRef): Promise<boolean>;
  /** Never throws for ARM trouble: answers `unknown`. */
  listInstances(scaleSet: MeshScaleSet): Promise<InstanceListing>;
  /** Normalised IDs of the given VMs that ARM answers 404 for. */
  confirmGone(scaleSet: MeshScaleSet, instanceResourceIds: readonly string[]): Promise<InstanceCheck>;
  /** The scale set of a VM; null when the VM is gone or belongs to no scale set. */
  scaleSetOfVm(vmResourceId: string): Promise<ScaleSetRef | null>;
  /** Every mesh scale set in scope (throws rather than return a partial scope). */
  listMeshScaleSets(): Promise<MeshScaleSetListing>;
  /**
   * Gathers the listings of Flexible scale sets of one resource group that are about to be
   * reconciled together: their NICs come from one group listing (flexible-nics.ts, `gather`).
   */
  gatherFlexibleListings(group: { readonly subscriptionId: string; readonly resourceGroup: string }, scaleSetIds: readonly string[]): GatheredListings;
  /** Runs `work` and counts the ARM requests it (and only it) made. */
  measureCalls<T>(work: () => Promise<T>): Promise<{ readonly result: T; readonly calls: number; readonly stats: ArmCallStats }>;
}

export function createAzureInventory(clients: ArmClients, scope: ScopeConfig, options: ListInstancesOptions = {}): AzureInventory {
  // One inventory's Flexible listings share their resource groups' NIC listings (flexible-nics.ts).
  const listOptions: ListInstancesOptions = { nicReads: new NicGroupReads(), ...options };
  const nicReads = listOptions.nicReads ?? new NicGroupReads();
  return {
    lookupScaleSet: async (ref) => toReconcileLookup(await getScaleSet(clients, ref)),
    isListedInResourceGroup: (ref) => isListedInResourceGroup(clients, ref),
    listInstances: (scaleSet) => listInstances(clients, scaleSet, listOptions),
    confirmGone: (scaleSet, ids) => confirmInstancesGone(clients, scaleSet, ids),
    scaleSetOfVm: async (vmResourceId) => {
      const found = await findScaleSetOfVm(clients, vmResourceId);
      return found.state === 'in-scale-set' ? found.ref : null;
    },
    listMeshScaleSets: () => listMeshScaleSets(clients, scope),
    gatherFlexibleListings: (group, ids) => nicReads.gather(nicGroupKey(group.subscriptionId, group.resourceGroup), ids),
    measureCalls: (work) => clients.measureCalls(work),
  };
}

function toReconcileLookup(lookup: ScaleSetLookup): ReconcileLookup {
  if (lookup.state === 'left-mesh' && lookup.errors.length > 0) return { state: 'unknown', reason: lookup.reason };
  return lookup;
}
