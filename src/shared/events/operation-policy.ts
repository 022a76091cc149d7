/**
 * Which ARM operations produce a reconcile hint. This table is the whole policy; README.md in this
 * folder documents it (keep the two in step).
 *
 * An operation hints when it can change which instances of a scale set exist, their power or
 * provisioning state, or their health (the Application Health extension lives in `extensions`).
 * Everything else on a scale set or VM — run commands, boot diagnostics, patch assessment,
 * listing — is ignored as `read-only-operation` or `no-instance-change`. Nothing is lost by a
 * missed hint: the timer reconciles every scale set anyway; hints only make it fast.
 *
 * Operation names are matched case-insensitively on `{namespace}/{type path}/{verb}[/action]`, e.g.
 * `Microsoft.Compute/virtualMachineScaleSets/virtualMachines/restart/action`.
 */

const WRITE_DELETE = ['write', 'delete'] as const;

/** Power and rebuild actions that a scale set, one of its instances and a plain VM all take. */
const INSTANCE_ACTIONS = [
  'start/action',
  'poweroff/action',
  'restart/action',
  'deallocate/action',
  'reimage/action',
  'redeploy/action',
  'performmaintenance/action',
] as const;

/** Lower-case type path below `microsoft.compute` → verbs that hint (`write`, `delete`, or an action verb). */
export const HINTING_OPERATIONS: Readonly<Record<string, readonly string[]>> = {
  // The scale set: create/update (capacity changes by autoscale or users), delete, and its instance actions.
  // `delete/action` deletes chosen instances; `scale/action` changes capacity.
  virtualmachinescalesets: [
    ...WRITE_DELETE,
    ...INSTANCE_ACTIONS,
    'reimageall/action',
    'delete/action',
    'manualupgrade/action',
    'scale/action',
    'osrollingupgrade/action',
    'extensionrollingupgrade/action',
    'approverollingupgrade/action',
  ],
  // One Uniform instance (`…/virtualMachines/{instanceId}`).
  'virtualmachinescalesets/virtualmachines': [...WRITE_DELETE, ...INSTANCE_ACTIONS, 'reimageall/action', 'simulateeviction/action', 'approverollingupgrade/action'],
  // Extensions carry the Application Health extension: adding or removing one changes health.
  'virtualmachinescalesets/extensions': WRITE_DELETE,
  'virtualmachinescalesets/virtualmachines/extensions': WRITE_DELETE,
  // A plain VM: a Flexible-mode instance, or a standalone VM the reconciler will find to be no one's.
  virtualmachines: [...WRITE_DELETE, ...INSTANCE_ACTIONS, 'simulateeviction/action'],
  'virtualmachines/extensions': WRITE_DELETE,
};

/** `{type path}/{verb}` below `microsoft.compute/`, e.g. `virtualmachinescalesets/restart/action`. */
const HINTING = new Set(Object.entries(HINTING_OPERATIONS).flatMap(([typePath, verbs]) => verbs.map((verb) => `${typePath}/${verb}`)));
const COMPUTE_PREFIX = 'microsoft.compute/';

// Action verbs that only read, e.g. listKeys, retrieveBootDiagnosticsData, getRollingUpgradeStatus.
const READ_ONLY_ACTION = /\/(list|get|retrieve|read|check|validate|generate|export|assess|vmsizes)[^/]*\/action$/;

export type OperationDecision = 'hint' | 'read-only-operation' | 'no-instance-change';

/** Decides on the operation name alone (the resource it targets is checked separately). */
export function decideOperation(operationName: string): OperationDecision {
  const lower = operationName.toLowerCase();
  if (lower.startsWith(COMPUTE_PREFIX) && HINTING.has(lower.slice(COMPUTE_PREFIX.length))) return 'hint';
  return READ_ONLY_ACTION.test(lower) ? 'read-only-operation' : 'no-instance-change';
}
