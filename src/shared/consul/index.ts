/**
 * The Consul registry (the only writer to Consul), the read-only catalog reader it reads through
 * (the relay holds only that) and their transport. See registry.ts for the concurrency protocol
 * and session.ts for how a plan becomes fenced transactions.
 */
export { ConsulRegistry, registryOptionsFrom } from './registry';
export type { BeginOptions, ConsulRegistryOptions } from './registry';
export { CatalogReader } from './catalog-reader';
export type { ConsulReadTransport, OwnedServiceNames, WatchIndex } from './catalog-reader';
export { ConsulReconcileSession, REGISTRY_SKIP, packBatches } from './session';
export type { ApplyCounts, ApplyResult, ReconcileHooks, ReconcileStep } from './session';
export type { MarkerRecord, MarkerValue, ReconcileSummary } from './marker';
export type { TombstoneValue } from './plan-units';
export { ConsulTransport, encodePath } from './transport';
export type { ConsulRequest, ConsulResponse } from './transport';
export { endpointSetFrom, healthOf } from './endpoint-sets';
