/**
 * The Azure inventory: which scale sets belong to the mesh and what runs in them, read with the
 * real Azure SDK clients. Domain code: no Functions or gRPC types.
 */
export { createArmClients, StaticTokenCredential } from './arm-clients';
export type { ArmClientOptions, ArmClients, ArmRetryOptions } from './arm-clients';
export { ArmCallMeter } from './arm-call-meter';
export type { ArmCallStats } from './arm-call-meter';
export { isArmNotFound, toArmFailure } from './arm-failures';
export { DEFAULT_MESH_PROTOCOL, MAX_MESH_SERVICES, MESH_PROTOCOLS, MESH_TAGS, MESH_TAG_PREFIX, hasMeshTags, meshTagName, meshTagsFor, parseMeshTags } from './mesh-tags';
export type { MeshTagsResult } from './mesh-tags';
export { classifyScaleSet, findScaleSetOfVm, getScaleSet, isInScope, listMeshScaleSets } from './scale-sets';
export type { MeshScaleSetListing, ScaleSetLookup, SkippedScaleSet, VmScaleSetLookup } from './scale-sets';
export { confirmInstancesGone, listInstances } from './instances';
export { NicGroupReads } from './flexible-nics';
export type { NicReadStrategy } from './flexible-nics';
export type { ListInstancesOptions } from './instances';
export { toInstance } from './instance-mapping';
export { createAzureInventory } from './azure-inventory';
export type { AzureInventory } from './azure-inventory';
