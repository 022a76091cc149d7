/**
 * The ARM emulator: a real HTTPS server that the real `@azure/arm-compute` and `@azure/arm-network`
 * clients talk to, over an in-memory world that tests and the sandbox drive.
 *
 *   const arm = await startArmEmulator({ pageSize: 2 });
 *   arm.world.createScaleSet({ subscriptionId, resourceGroup: 'rg', name: 'web', capacity: 3, tags: {...} });
 *   // point clients at arm.url and trust arm.caPem; …
 *   await arm.close();
 */
export { startArmEmulator } from './server';
export type { ArmEmulator, ArmEmulatorOptions } from './server';
export { ArmWorld } from './world';
export type { WorldOptions } from './world';
export { ArmEmulatorError } from './arm-error';
export { RequestLog } from './request-log';
export type { RequestFilter, RequestRecord } from './request-log';
export { DEFAULT_RATE_LIMITS, FaultInjector } from './throttling';
export type { BucketSettings, FaultMatch, InjectedFault, OperationKind } from './throttling';
export { sequentialIpv4Allocator } from './ip-allocator';
export { createTestPki } from './tls';
export type { TestPki, TestPkiOptions } from './tls';
export type * from './world-types';
