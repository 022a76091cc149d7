/**
 * The JSON ARM returns for scale sets, VMs and NICs (properties nested under `properties`, as on
 * the wire; the SDKs flatten them). Only what clients read is filled in, but every field present
 * has the real name and shape.
 *
 * ARM does not promise the order of NICs or IP configurations, and consumers must pick the
 * primary one by its flag: the emulator lists secondaries first to keep them honest.
 */
import { isIPv6 } from 'node:net';
import { guidFrom, withUpperCaseResourceGroup } from './naming';
import type { EmulatedInstance, EmulatedNic, EmulatedScaleSet } from './world-types';

export interface JsonOptions {
  /** Reproduce ARM's upper-cased resource group in references (NIC → VM, VM → scale set). */
  readonly upperCaseResourceGroupInReferences: boolean;
}

type Json = Record<string, unknown>;

function primaryLast<T extends { readonly primary: boolean }>(items: readonly T[]): T[] {
  return [...items.filter((i) => !i.primary), ...items.filter((i) => i.primary)];
}

function subnetId(subscriptionId: string, resourceGroup: string): string {
  return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.Network/virtualNetworks/${resourceGroup}-vnet/subnets/default`;
}

function reference(id: string, options: JsonOptions): string {
  return options.upperCaseResourceGroupInReferences ? withUpperCaseResourceGroup(id) : id;
}

/** ARM's imageReference: a URN `publisher:offer:sku:version` as its four fields, anything else as an image ID. */
function imageReferenceJson(image: string): Json {
  const urn = image.split(':');
  return urn.length === 4 && !image.includes('/') ? { publisher: urn[0], offer: urn[1], sku: urn[2], version: urn[3] } : { id: image };
}

export function scaleSetJson(ss: EmulatedScaleSet): Json {
  const nicConfigName = `${ss.name}-nic01`;
  return {
    name: ss.name,
    id: ss.id,
    type: 'Microsoft.Compute/virtualMachineScaleSets',
    location: ss.location,
    tags: ss.tags,
    sku: { name: ss.vmSize, tier: 'Standard', capacity: ss.capacity },
    ...(ss.zones.length > 0 ? { zones: ss.zones } : {}),
    properties: {
      singlePlacementGroup: false,
      orchestrationMode: ss.orchestrationMode,
      ...(ss.orchestrationMode === 'Uniform' ? { upgradePolicy: { mode: 'Manual' }, overprovision: false } : {}),
      scaleInPolicy: { rules: [ss.scaleInPolicy], forceDeletion: false },
      virtualMachineProfile: {
        osProfile: { computerNamePrefix: ss.name.slice(0, 9), adminUsername: 'azureuser' },
        ...(ss.imageReference === undefined ? {} : { storageProfile: { imageReference: imageReferenceJson(ss.imageReference) } }),
        networkProfile: {
          ...(ss.orchestrationMode === 'Flexible' ? { networkApiVersion: '2020-11-01' } : {}),
          networkInterfaceConfigurations: [
            {
              name: nicConfigName,
              properties: {
                primary: true,
                ipConfigurations: [{ name: 'ipconfig1', properties: { primary: true, subnet: { id: subnetId(ss.subscriptionId, ss.resourceGroup) } } }],
              },
            },
          ],
        },
        ...(ss.healthExtension
          ? {
              extensionProfile: {
                extensions: [
                  {
                    name: 'HealthExtension',
                    properties: {
                      publisher: 'Microsoft.ManagedServices',
                      type: 'ApplicationHealthLinux',
                      typeHandlerVersion: '2.0',
                      settings: { protocol: 'http', port: 80, requestPath: '/health' },
                    },
                  },
                ],
              },
            }
          : {}),
      },
      provisioningState: ss.provisioningState,
      uniqueId: ss.uniqueId,
      platformFaultDomainCount: ss.platformFaultDomainCount,
      timeCreated: ss.timeCreated,
    },
  };
}

function displayProvisioning(state: string): string {
  return state === 'Succeeded' ? 'Provisioning succeeded' : state === 'Failed' ? 'Provisioning failed' : state;
}

/** The instance view ARM returns with `$expand=instanceView` (or from `…/instanceView`). */
export function instanceViewJson(vm: EmulatedInstance): Json {
  const time = vm.timeCreated;
  return {
    platformUpdateDomain: 0,
    platformFaultDomain: vm.faultDomain,
    computerName: vm.computerName,
    osName: 'ubuntu',
    osVersion: '22.04',
    ...(vm.health === null
      ? {}
      : { vmHealth: { status: { code: `HealthState/${vm.health.toLowerCase()}`, level: 'Info', displayStatus: `The VM is ${vm.health.toLowerCase()}`, time } } }),
    statuses: [
      { code: `ProvisioningState/${vm.provisioningState.toLowerCase()}`, level: 'Info', displayStatus: displayProvisioning(vm.provisioningState), time },
      { code: `PowerState/${vm.powerState}`, level: 'Info', displayStatus: `VM ${vm.powerState}` },
    ],
  };
}

function networkProfileJson(vm: EmulatedInstance): Json {
  return { networkInterfaces: primaryLast(vm.nics).map((nic) => ({ id: nic.id, properties: { primary: nic.primary, deleteOption: 'Delete' } })) };
}

/** A Uniform scale set's VM (`…/virtualMachineScaleSets/{vmss}/virtualMachines/{n}`). */
export function uniformVmJson(vm: EmulatedInstance, ss: EmulatedScaleSet, expandInstanceView: boolean): Json {
  return {
    name: vm.name,
    id: vm.id,
    type: 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines',
    location: ss.location,
    tags: ss.tags,
    instanceId: vm.instanceId,
    sku: { name: ss.vmSize, tier: 'Standard' },
    ...(vm.zone === undefined ? {} : { zones: [vm.zone] }),
    properties: {
      latestModelApplied: true,
      modelDefinitionApplied: 'VirtualMachineScaleSet',
      vmId: vm.vmId,
      ...(expandInstanceView ? { instanceView: instanceViewJson(vm) } : {}),
      hardwareProfile: {},
      osProfile: { computerName: vm.computerName, adminUsername: 'azureuser' },
      networkProfile: networkProfileJson(vm),
      provisioningState: vm.provisioningState,
      timeCreated: vm.timeCreated,
    },
  };
}

/** A Flexible scale set's VM: a plain `Microsoft.Compute/virtualMachines` resource. */
export function flexibleVmJson(vm: EmulatedInstance, ss: EmulatedScaleSet, expandInstanceView: boolean, options: JsonOptions): Json {
  return {
    name: vm.name,
    id: vm.id,
    type: 'Microsoft.Compute/virtualMachines',
    location: ss.location,
    tags: {},
    ...(vm.zone === undefined ? {} : { zones: [vm.zone] }),
    properties: {
      vmId: vm.vmId,
      hardwareProfile: { vmSize: ss.vmSize },
      virtualMachineScaleSet: { id: reference(ss.id, options) },
      osProfile: { computerName: vm.computerName, adminUsername: 'azureuser' },
      networkProfile: networkProfileJson(vm),
      ...(expandInstanceView ? { instanceView: instanceViewJson(vm) } : {}),
      provisioningState: vm.provisioningState,
      platformFaultDomain: vm.faultDomain,
      timeCreated: vm.timeCreated,
    },
  };
}

export function nicJson(nic: EmulatedNic, vm: EmulatedInstance, ss: EmulatedScaleSet, options: JsonOptions): Json {
  const etag = `W/"${guidFrom(`${nic.id.toLowerCase()}#etag`)}"`;
  const flexible = ss.orchestrationMode === 'Flexible';
  return {
    name: nic.name,
    id: nic.id,
    etag,
    ...(flexible ? { type: 'Microsoft.Network/networkInterfaces', location: ss.location } : {}),
    properties: {
      provisioningState: 'Succeeded',
      resourceGuid: guidFrom(nic.id.toLowerCase()),
      ipConfigurations: primaryLast(nic.ipConfigurations).map((config) => ({
        name: config.name,
        id: `${nic.id}/ipConfigurations/${config.name}`,
        etag,
        type: 'Microsoft.Network/networkInterfaces/ipConfigurations',
        properties: {
          provisioningState: 'Succeeded',
          privateIPAddress: config.privateIp,
          privateIPAllocationMethod: 'Dynamic',
          subnet: { id: subnetId(ss.subscriptionId, ss.resourceGroup) },
          primary: config.primary,
          privateIPAddressVersion: isIPv6(config.privateIp) ? 'IPv6' : 'IPv4',
        },
      })),
      dnsSettings: { dnsServers: [], appliedDnsServers: [] },
      macAddress: nic.macAddress,
      enableAcceleratedNetworking: false,
      enableIPForwarding: false,
      primary: nic.primary,
      virtualMachine: { id: reference(vm.id, options) },
      nicType: 'Standard',
    },
  };
}
