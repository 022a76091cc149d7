/**
 * The ARM emulator: a real HTTPS server that the real `@azure/arm-compute` and `@azure/arm-network`
 * clients talk to, over an in-memory world that tests and the sandbox drive.
 *
 *   const arm = await startArmEmulator({ pageSize: 2, world: { lifecycle: { createDelayMs: 2000, drainMs: 5000 } } });
 *   const web = arm.world.createScaleSet({ subscriptionId, resourceGroup: 'rg', name: 'web', capacity: 3,
 *     zones: ['1', '2'], tags: meshTagsFor([{ name: 'web', port: 8080, protocol: 'http' }]) });
 *   // clients: endpoint arm.url, any bearer token (or options.token), trust arm.caPem
 *   arm.world.scale(web.id, 5);                  // records Microsoft.Compute/virtualMachineScaleSets/write
 *   arm.world.deleteInstances(web.id, ['0']);    // …/delete/action; instance 0 drains (Deleting) for drainMs
 *   arm.world.setHealth(web.id, '1', 'Unhealthy');
 *   await arm.world.settled();                   // every Creating/Deleting transition done (or world.flush())
 *   arm.world.on('operation', (op) => …);        // what Event Grid would carry, for REST and world writes
 *   arm.faults.throttle(2, { route: 'vmssVm.list', retryAfterSeconds: 1 });
 *   arm.requests.countsByRoute();                // { 'vmssVm.list': 3, … }
 *   arm.concurrency.max('vmssVm.list');         // most VM listings in flight at once (arm.concurrency.reset())
 *   // every answer reports x-ms-ratelimit-remaining-subscription-{reads,…} and …-global-…; with
 *   // startArmEmulator({ resourcePolicies: COMPUTE_READ_POLICIES }) also x-ms-ratelimit-remaining-resource
 *   await arm.close();                           // server stopped, the world's timers cleared
 *
 * Served routes (names as in the request log): vmss.listAll / list / get / createOrUpdate / update /
 * delete / deleteInstances, vmssVm.list / get / instanceView / delete, vmssNic.list,
 * vmssVmNic.list / get, vm.listAll / list / get / instanceView / delete, nic.listAll / list / get.
 */
export { startArmEmulator } from './server';
export type { ArmEmulator, ArmEmulatorOptions } from './server';
export { ArmWorld } from './world';
export type { WorldOptions } from './world';
export { ArmEmulatorError } from './arm-error';
export { RequestLog } from './request-log';
export type { RequestFilter, RequestRecord } from './request-log';
export { COMPUTE_READ_POLICIES, ConcurrencyCounter, DEFAULT_RATE_LIMITS, FaultInjector, GLOBAL_LIMIT_FACTOR } from './throttling';
export type { BucketSettings, FaultMatch, InjectedFault, OperationKind, PageFaultKind, ResourcePolicy } from './throttling';
export { sequentialIpv4Allocator } from './ip-allocator';
export { createTestPki } from './tls';
export type { TestPki, TestPkiOptions } from './tls';
export type * from './world-types';
