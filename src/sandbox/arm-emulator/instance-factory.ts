/**
 * Builds a new emulated instance: its names and IDs as ARM spells them (Uniform `vmss_3` under the
 * scale set, Flexible `vmss_1a2b3c4d` as a plain VM), its NICs and their private IPs.
 */
import {
  computerName,
  flexibleVmName,
  flexibleVmResourceId,
  guidFrom,
  macFrom,
  networkNicResourceId,
  uniformNicResourceId,
  uniformVmResourceId,
} from './naming';
import type { AppHealthState, EmulatedInstance, EmulatedIpConfiguration, EmulatedNic, EmulatedScaleSet, IpAllocator } from './world-types';

export type MutableInstance = { -readonly [K in keyof EmulatedInstance]: EmulatedInstance[K] };

export interface NewInstance {
  readonly scaleSet: Pick<EmulatedScaleSet, 'id' | 'name' | 'subscriptionId' | 'resourceGroup' | 'orchestrationMode' | 'platformFaultDomainCount' | 'healthExtension'>;
  /** Uniform instance id / Flexible name seed, from 0 per scale set. */
  readonly number: number;
  /** Creation order across the world. */
  readonly ordinal: number;
  readonly zone: string | undefined;
  /** Instances created in that zone before this one (fault domains rotate per zone). */
  readonly createdInZone: number;
  readonly nicsPerInstance: number;
  readonly ipConfigurationsPerNic: number;
  /** True when the instance starts `Creating` (a create delay is configured). */
  readonly creating: boolean;
  readonly initialHealth: AppHealthState;
  readonly allocateIp: IpAllocator;
}

export function buildInstance(request: NewInstance): MutableInstance {
  const { scaleSet: ss, number, creating } = request;
  const flexible = ss.orchestrationMode === 'Flexible';
  const name = flexible ? flexibleVmName(ss.id, number) : `${ss.name}_${number}`;
  const instanceId = flexible ? name : String(number);
  const id = flexible ? flexibleVmResourceId(ss.subscriptionId, ss.resourceGroup, name) : uniformVmResourceId(ss.id, instanceId);
  const nics: EmulatedNic[] = [];
  for (let n = 0; n < request.nicsPerInstance; n += 1) {
    const nicName = `${flexible ? name : ss.name}-nic${String(n + 1).padStart(2, '0')}`;
    const nicId = flexible ? networkNicResourceId(ss.subscriptionId, ss.resourceGroup, nicName) : uniformNicResourceId(id, nicName);
    const ipConfigurations: EmulatedIpConfiguration[] = [];
    for (let c = 0; c < request.ipConfigurationsPerNic; c += 1) {
      const privateIp = request.allocateIp({ scaleSetId: ss.id, instanceName: name, nicIndex: n, ipConfigurationIndex: c });
      ipConfigurations.push(Object.freeze({ name: `ipconfig${c + 1}`, privateIp, primary: c === 0 }));
    }
    nics.push(Object.freeze({ name: nicName, id: nicId, primary: n === 0, macAddress: macFrom(nicId.toLowerCase()), ipConfigurations: Object.freeze(ipConfigurations) }));
  }
  return {
    scaleSetId: ss.id,
    instanceId,
    name,
    id,
    computerName: computerName(ss.name, number),
    vmId: guidFrom(`${id.toLowerCase()}#${request.ordinal}`),
    ...(request.zone === undefined ? {} : { zone: request.zone }),
    faultDomain: request.createdInZone % ss.platformFaultDomainCount,
    provisioningState: creating ? 'Creating' : 'Succeeded',
    powerState: creating ? 'starting' : 'running',
    health: ss.healthExtension ? (creating ? 'Initializing' : request.initialHealth) : null,
    nics: Object.freeze(nics),
    timeCreated: new Date().toISOString(),
    ordinal: request.ordinal,
  };
}
