/**
 * What `vmss-mesh reconcile` prints: each scale set's plan as items (register / update /
 * deregister / skip, each with a reason), as one JSON document or as a short list per scale set.
 * The items come from the plan the reconcile made (`ReconcileReport.plan`), so a dry run and a
 * real run print the same items for the same state.
 */
import type { PlanAction, PlanSkip } from '../shared/model';
import { skipCode } from '../shared/planner/skip-reasons';
import type { RunFailure, SweepReport } from '../shared/reconcile/reconcile-run';
import type { ReconcileReport } from '../shared/reconcile/reconcile-scale-set';
import { compareStrings } from '../shared/compare-strings';

/** Exit codes of `reconcile`: EXIT's (0, 1, 2) plus 3 for "something changed / would change". */
export const RECONCILE_EXIT = { nothingToChange: 0, failure: 1, usage: 2, changes: 3 } as const;

export type PlanItemAction = 'register' | 'update' | 'deregister' | 'skip';

/** Stable codes of the reasons of register, update and deregister items (skips carry the planner's SKIP codes). */
export const ACTION_CODE = {
  /** ARM lists the instance; Consul holds no node of ours for it. */
  absentFromConsul: 'absent-from-consul',
  /** The node Consul holds differs from what ARM says (`changes` lists what). */
  changed: 'changed',
  /** The instance (or the whole scale set) is gone from ARM. */
  gone: 'gone',
  /** The scale set's tags no longer put the instance in the mesh. */
  outOfScope: 'out-of-scope',
} as const;

export interface PlanItem {
  readonly action: PlanItemAction;
  /** Consul node name; `*` for a skip that concerns the whole scale set. */
  readonly node: string;
  /** ACTION_CODE for actions, the planner's SKIP code for skips. */
  readonly code: string;
  /** `<code>: <detail>` for people. */
  readonly reason: string;
  readonly instanceResourceId?: string;
  readonly address?: string;
  /** `name:port` of each service the node carries (registered or updated). */
  readonly services?: readonly string[];
  /** Update only: what differs (planner/node-diff.ts names). */
  readonly changes?: readonly string[];
}

export interface ScaleSetResult {
  readonly scaleSetId: string;
  /** ReconcileOutcome, or `failed` when the reconcile threw (ARM or Consul unreachable, …). */
  readonly outcome: ReconcileReport['outcome'] | 'failed';
  readonly detail?: string;
  readonly counts: { readonly register: number; readonly update: number; readonly deregister: number; readonly skip: number };
  readonly items: readonly PlanItem[];
  readonly instances?: number;
  readonly armCalls?: number;
  readonly durationMs?: number;
  /** Real runs only. */
  readonly committedIndex?: number;
  readonly changedServices?: readonly string[];
  readonly failedPushes?: ReadonlyArray<{ readonly target: string; readonly error?: string }>;
  /** Failed reconciles: whether running again may help (ARM or Consul trouble) or a setting must change first. */
  readonly retryable?: boolean;
}

export interface ReconcileOutput {
  readonly dryRun: boolean;
  readonly scope: 'all' | 'ids';
  readonly exitCode: number;
  /** True when a scale set had (or, in a dry run, would have) registrations, updates or deregistrations. */
  readonly changes: boolean;
  readonly totals: { readonly scaleSets: number; readonly register: number; readonly update: number; readonly deregister: number; readonly skip: number; readonly failed: number };
  readonly scaleSets: readonly ScaleSetResult[];
  /** `--all`: scale sets in scope whose mesh tags are invalid (left alone, as the timer leaves them). */
  readonly skippedScaleSets?: ReadonlyArray<{ readonly id: string; readonly reason: string }>;
  /** `--all` without `--dry-run`: the sweep's cleanup of expired tombstones and markers of deleted scale sets. */
  readonly kvCleanup?: SweepReport['kvCleanup'];
}

export function actionItem(action: PlanAction): PlanItem {
  if (action.kind === 'register') {
    const d = action.desired;
    return {
      action: 'register',
      node: d.node,
      code: ACTION_CODE.absentFromConsul,
      reason: `${ACTION_CODE.absentFromConsul}: ARM lists the instance (check ${d.azureCheck.status}), Consul holds no node for it`,
      instanceResourceId: d.instanceResourceId,
      address: d.address,
      services: d.services.map((s) => `${s.name}:${s.port}`),
    };
  }
  if (action.kind === 'update') {
    const { desired: d, actual: a } = action;
    const described = action.changes.map((change) => {
      if (change === 'address') return `address ${a.address} → ${d.address}`;
      if (change === 'check-status') return `check ${a.azureCheck.status} → ${d.azureCheck.status}`;
      if (change === 'draining') return d.draining ? 'draining (Deleting)' : 'no longer draining';
      return change;
    });
    return {
      action: 'update',
      node: d.node,
      code: ACTION_CODE.changed,
      reason: `${ACTION_CODE.changed}: ${described.join(', ')}`,
      instanceResourceId: d.instanceResourceId,
      address: d.address,
      services: d.services.map((s) => `${s.name}:${s.port}`),
      changes: action.changes,
    };
  }
  const a = action.actual;
  const why =
    action.because === 'gone'
      ? `the instance is no longer in ARM${a.draining ? ' (it was draining)' : ''}`
      : "the scale set's tags no longer put the instance in the mesh";
  return { action: 'deregister', node: a.node, code: action.because, reason: `${action.because}: ${why}`, instanceResourceId: a.instanceResourceId, address: a.address };
}

export function skipItem(entry: PlanSkip): PlanItem {
  return { action: 'skip', node: entry.node, code: skipCode(entry), reason: entry.reason };
}

export function scaleSetResult(report: ReconcileReport): ScaleSetResult {
  const actions = (report.plan?.actions ?? []).map(actionItem);
  const skips = (report.plan?.skipped ?? report.skipped).map(skipItem);
  const failedPushes = report.pushes.filter((p) => !p.ok).map((p) => ({ target: p.target, ...(p.error ? { error: p.error } : {}) }));
  return {
    scaleSetId: report.scaleSetId,
    outcome: report.outcome,
    ...(report.detail ? { detail: report.detail } : {}),
    counts: { register: report.registered, update: report.updated, deregister: report.deregistered, skip: skips.length },
    items: [...actions, ...skips],
    ...(report.instances !== undefined ? { instances: report.instances } : {}),
    armCalls: report.armCalls,
    durationMs: report.durationMs,
    ...(report.committedIndex !== undefined ? { committedIndex: report.committedIndex } : {}),
    ...(report.changedServices.length > 0 ? { changedServices: report.changedServices } : {}),
    ...(failedPushes.length > 0 ? { failedPushes } : {}),
  };
}

export function failedResult(failure: RunFailure): ScaleSetResult {
  return { scaleSetId: failure.scaleSetId, outcome: 'failed', detail: failure.error, counts: { register: 0, update: 0, deregister: 0, skip: 0 }, items: [], retryable: failure.retryTrigger };
}

/** What changed (or would change) decides 3, a scale set that could not be reconciled decides 1 (and wins). */
export function exitCodeOf(results: readonly ScaleSetResult[]): number {
  if (results.some((r) => r.outcome === 'failed' || r.outcome === 'unknown')) return RECONCILE_EXIT.failure;
  return results.some(hasChanges) ? RECONCILE_EXIT.changes : RECONCILE_EXIT.nothingToChange;
}

function hasChanges(result: ScaleSetResult): boolean {
  return (result.outcome === 'applied' || result.outcome === 'planned') && result.counts.register + result.counts.update + result.counts.deregister > 0;
}

export function reconcileOutput(
  flags: { readonly dryRun: boolean; readonly all: boolean },
  results: readonly ScaleSetResult[],
  sweep?: Pick<SweepReport, 'skippedScaleSets' | 'kvCleanup'>,
): ReconcileOutput {
  const sorted = [...results].sort((a, b) => compareStrings(a.scaleSetId, b.scaleSetId));
  const sum = (pick: (r: ScaleSetResult) => number) => sorted.reduce((n, r) => n + pick(r), 0);
  return {
    dryRun: flags.dryRun,
    scope: flags.all ? 'all' : 'ids',
    exitCode: exitCodeOf(sorted),
    changes: sorted.some(hasChanges),
    totals: {
      scaleSets: sorted.length,
      register: sum((r) => r.counts.register),
      update: sum((r) => r.counts.update),
      deregister: sum((r) => r.counts.deregister),
      skip: sum((r) => r.counts.skip),
      failed: sorted.filter((r) => r.outcome === 'failed').length,
    },
    scaleSets: sorted,
    ...(sweep ? { skippedScaleSets: sweep.skippedScaleSets } : {}),
    ...(sweep && !flags.dryRun ? { kvCleanup: sweep.kvCleanup } : {}),
  };
}

const ACTION_WIDTH = 'deregister'.length;

/** The human format: a header, a short list per scale set with its counts, and a total line. */
export function formatText(output: ReconcileOutput): string {
  const lines: string[] = [output.dryRun ? 'Dry run: the plan only; nothing was written to Consul and nothing was pushed.' : 'Reconciled: the plan was applied.'];
  for (const r of output.scaleSets) {
    const c = r.counts;
    const facts = [
      r.instances !== undefined ? `${r.instances} instance${r.instances === 1 ? '' : 's'} listed` : undefined,
      r.armCalls !== undefined ? `${r.armCalls} ARM call${r.armCalls === 1 ? '' : 's'}` : undefined,
      r.committedIndex ? `Consul index ${r.committedIndex}` : undefined,
    ].filter((f): f is string => f !== undefined);
    lines.push('', r.scaleSetId);
    lines.push(`  ${r.outcome}: +${c.register} register, ~${c.update} update, -${c.deregister} deregister, ${c.skip} skipped${facts.length > 0 ? ` (${facts.join(', ')})` : ''}`);
    if (r.detail) lines.push(`  ${r.outcome === 'failed' ? 'error' : r.outcome === 'unknown' ? 'not reconciled' : 'note'}: ${r.detail}`);
    const width = Math.max(0, ...r.items.map((i) => i.node.length));
    for (const item of r.items) lines.push(`  ${item.action.padEnd(ACTION_WIDTH)}  ${item.node.padEnd(width)}  ${item.address ? `${item.address}  ` : ''}${item.reason}`);
    for (const p of r.failedPushes ?? []) lines.push(`  warning: push to relay ${p.target} failed: ${p.error ?? 'unknown error'} (relays catch up through their Consul watch)`);
  }
  for (const s of output.skippedScaleSets ?? []) lines.push('', `${s.id}`, `  left alone: ${s.reason}`);
  if (output.kvCleanup) {
    const k = output.kvCleanup;
    lines.push('', k.ok ? `KV cleanup: -${k.tombstonesRemoved} expired tombstones, -${k.markersRemoved} markers of deleted scale sets` : `KV cleanup: ${k.error}`);
  }
  const t = output.totals;
  const verdict = t.failed > 0 || output.exitCode === RECONCILE_EXIT.failure ? 'not everything could be reconciled' : output.changes ? (output.dryRun ? 'changes planned' : 'changes applied') : 'nothing to change';
  lines.push(
    '',
    `Total: ${t.scaleSets} scale set${t.scaleSets === 1 ? '' : 's'}: +${t.register} ~${t.update} -${t.deregister}, ${t.skip} skipped, ${t.failed} failed; ${verdict} (exit ${output.exitCode})`,
  );
  return `${lines.join('\n')}\n`;
}
