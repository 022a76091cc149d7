/** The reconcile planner: desired state from ARM, and the pure plan that makes Consul match it. */
export { planReconcile, type PlanInput, type ScaleSetState } from './plan';
export { desiredNodes, nodeNameOf, type DesiredState } from './desired-state';
export { azureViewOf, azureCheckOutput, type AzureView, type InstanceState } from './azure-check';
export { nodeChanges } from './node-diff';
export { applyRemovalCap, removalLimit, type CappedRemoval, type RemovalCapResult } from './removal-cap';
export { SKIP, WHOLE_SCALE_SET, skip, skipCode, type SkipCode } from './skip-reasons';
