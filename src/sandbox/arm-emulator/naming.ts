/**
 * Resource IDs and names the way ARM spells them. The emulator stores IDs in ARM's casing and
 * looks them up lower-cased, because clients may use either (`resourceGroups` / `resourcegroups`).
 */
import { createHash } from 'node:crypto';

export function scaleSetResourceId(subscriptionId: string, resourceGroup: string, name: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`;
}

export function uniformVmResourceId(scaleSetId: string, instanceId: string): string {
  return `${scaleSetId}/virtualMachines/${instanceId}`;
}

export function flexibleVmResourceId(subscriptionId: string, resourceGroup: string, vmName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Compute/virtualMachines/${vmName}`;
}

export function uniformNicResourceId(vmResourceId: string, nicName: string): string {
  return `${vmResourceId}/networkInterfaces/${nicName}`;
}

export function networkNicResourceId(subscriptionId: string, resourceGroup: string, nicName: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/networkInterfaces/${nicName}`;
}

/**
 * ARM often hands back references with the resource group upper-cased (`resourceGroups/MY-RG`);
 * consumers must compare IDs case-insensitively, so the emulator reproduces the quirk.
 */
export function withUpperCaseResourceGroup(id: string): string {
  return id.replace(/(\/resourceGroups\/)([^/]+)/i, (_m, prefix: string, rg: string) => `${prefix}${rg.toUpperCase()}`);
}

function hex(input: string, length: number): string {
  return createHash('sha256').update(input).digest('hex').slice(0, length);
}

/** Flexible VM names are `<scaleSetName>_<8 hex>`. */
export function flexibleVmName(scaleSetId: string, ordinal: number): string {
  const name = scaleSetId.slice(scaleSetId.lastIndexOf('/') + 1);
  return `${name}_${hex(`${scaleSetId.toLowerCase()}#${ordinal}`, 8)}`;
}

/** Uniform computer names are the prefix plus the instance id in base 36, six digits. */
export function computerName(prefix: string, ordinal: number): string {
  return `${prefix.replace(/[^a-zA-Z0-9-]/g, '').slice(0, 9)}${ordinal.toString(36).padStart(6, '0')}`;
}

/** A stable GUID-looking value derived from a seed. */
export function guidFrom(seed: string): string {
  const h = hex(seed, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function macFrom(seed: string): string {
  return `00-0D-3A-${hex(seed, 6).toUpperCase().match(/../g)?.join('-') ?? '00-00-00'}`;
}
