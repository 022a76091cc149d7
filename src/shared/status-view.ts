/**
 * What the `status` function shows: the mesh as Consul holds it (our nodes only) plus the last
 * reconcile of each scale set, from the per-scale-set markers. Pure: the caller reads Consul.
 *
 * The operator's part (`withOperatorView`): each scale set's last *successful* reconcile (the
 * marker's summary is written only by a reconcile that committed or found nothing to change) and
 * whether it is stale — older than twice the timer period, or never — and ARM's read budget: the
 * lowest remaining-reads value of each subscription this process saw recently (azure/arm-budget.ts).
 *
 * Only scale sets the timer's sweep is expected to visit are judged: the sweep visits every mesh
 * scale set in scope and every scale set we still hold nodes for (reconcile-run.ts). A marker
 * outlives both — kept for ever when its scale set left the mesh or the scope, ≥ 24 h when it was
 * deleted (consul/kv-garbage-rules.ts) — so a scale set with no node left whose last reconcile
 * recorded ARM's answer `left-mesh` or `not-found`, or that is now outside the scope (when the caller
 * says, `inScope`), is not judged (`stale: null`): nothing will
 * reconcile it again, so it would stay flagged for ever. Judged still: a scale set with
 * nodes, one whose last reconcile found it in the mesh, one never reconciled, and a summary that
 * predates the recorded state (the next sweep records it, if it still visits the scale set). The
 * price: a scale set that rejoined the mesh and whose reconciles now fail keeps its old
 * `left-mesh` summary and is not flagged (its failures are in the sweep's log and alert).
 */
import type { RecordedScaleSetState } from './consul/marker';
import type { BudgetLevel, SubscriptionBudget } from './azure/arm-budget';
import type { OwnedNode } from './model';
import { NODE_META, SERVICE_META } from './ownership';

export interface ScaleSetMarkerSummary {
  readonly scaleSetId: string;
  readonly lastReconcile?: {
    readonly finishedAt: number;
    readonly listedAt: number;
    readonly registered: number;
    readonly updated: number;
    readonly deregistered: number;
    readonly instanceCount: number;
    readonly committedIndex: number;
    /** ARM's answer in that reconcile (absent in summaries written before it was recorded). */
    readonly scaleSetState?: RecordedScaleSetState;
  };
}

export type InstanceState = 'passing' | 'warning' | 'critical' | 'draining';

export interface StatusInstance {
  readonly name: string;
  readonly node: string;
  readonly scaleSetId: string;
  readonly privateIp: string;
  readonly zone: string;
  readonly state: InstanceState;
  readonly azureState: string;
  readonly services: readonly string[];
}

/** A scale set is stale when its last successful reconcile is older than this many timer periods. */
export const STALE_AFTER_PERIODS = 2;

export interface StatusScaleSet {
  readonly id: string;
  readonly instances: number;
  readonly lastReconcile: (ScaleSetMarkerSummary['lastReconcile'] & { readonly finishedAtIso: string }) | null;
  /** When the last successful reconcile finished (null: none recorded). */
  readonly lastSuccessAt?: string | null;
  readonly lastSuccessAgeSeconds?: number | null;
  /**
   * No successful reconcile within `staleness.thresholdSeconds`; null when the timer period is
   * unknown or the sweep no longer visits the scale set (`expectedInSweep` false).
   */
  readonly stale?: boolean | null;
  /** Will the timer's sweep visit it: false for one with no node whose last reconcile found it out of the mesh or gone. */
  readonly expectedInSweep?: boolean;
}

export interface StatusStaleness {
  readonly timerPeriodSeconds: number;
  readonly thresholdSeconds: number;
  /** IDs of the stale scale sets. */
  readonly staleScaleSets: readonly string[];
}

export interface StatusArmReadBudget {
  /** Lowest remaining-reads value of any subscription within the window (null: no ARM answer seen yet). */
  readonly lowestRemaining: number | null;
  /** What the timer sweep would do at that value (see arm-budget.ts). */
  readonly level: BudgetLevel;
  readonly windowSeconds: number;
  /** Seen by this Functions instance only: each instance keeps its own record. */
  readonly subscriptions: readonly SubscriptionBudget[];
}

export interface StatusView {
  readonly generatedAt: string;
  /** Highest Consul index a reconcile committed: the version of the mesh the relays serve. */
  readonly snapshotVersion: number;
  readonly totals: { readonly scaleSets: number; readonly instances: number } & Readonly<Record<InstanceState, number>>;
  readonly scaleSets: readonly StatusScaleSet[];
  readonly instances: readonly StatusInstance[];
  /** Present when the timer period is known (`withOperatorView`). */
  readonly staleness?: StatusStaleness | null;
  readonly armReadBudget?: StatusArmReadBudget;
}

export interface OperatorViewOptions {
  /** The timer's period (schedule-period.ts); undefined: staleness is not judged. */
  readonly timerPeriodMs?: number;
  /**
   * Is the scale set in the app's scope (subscriptions, resource groups)? A scale set with no node
   * outside it is not visited by the sweep whatever its last reconcile recorded. Undefined: not known.
   */
  readonly inScope?: (scaleSetId: string) => boolean;
  readonly armReadBudget?: { readonly subscriptions: readonly SubscriptionBudget[]; readonly windowMs: number; readonly levelOf: (remaining: number | undefined) => BudgetLevel };
}

/** Adds the last successful reconcile and staleness of each scale set, and ARM's read budget. */
export function withOperatorView(view: StatusView, options: OperatorViewOptions, now: number): StatusView {
  const period = options.timerPeriodMs;
  const threshold = period === undefined ? undefined : STALE_AFTER_PERIODS * period;
  const scaleSets = view.scaleSets.map((s) => {
    const finishedAt = s.lastReconcile?.finishedAt;
    const age = finishedAt === undefined ? null : Math.max(0, Math.round((now - finishedAt) / 1000));
    const expectedInSweep = isExpectedInSweep(s, options.inScope);
    return {
      ...s,
      lastSuccessAt: finishedAt === undefined ? null : new Date(finishedAt).toISOString(),
      lastSuccessAgeSeconds: age,
      stale: threshold === undefined || !expectedInSweep ? null : finishedAt === undefined || now - finishedAt > threshold,
      expectedInSweep,
    };
  });
  const staleness =
    period === undefined || threshold === undefined
      ? null
      : { timerPeriodSeconds: period / 1000, thresholdSeconds: threshold / 1000, staleScaleSets: scaleSets.filter((s) => s.stale).map((s) => s.id) };
  const budget = options.armReadBudget;
  const lowest = budget && budget.subscriptions.length > 0 ? Math.min(...budget.subscriptions.map((b) => b.lowestRemaining)) : null;
  return {
    ...view,
    scaleSets,
    staleness,
    ...(budget ? { armReadBudget: { lowestRemaining: lowest, level: budget.levelOf(lowest ?? undefined), windowSeconds: budget.windowMs / 1000, subscriptions: budget.subscriptions } } : {}),
  };
}

/** The sweep visits the mesh scale sets ARM lists and those we hold nodes for (see the header). */
function isExpectedInSweep(s: Pick<StatusScaleSet, 'id' | 'instances' | 'lastReconcile'>, inScope: OperatorViewOptions['inScope']): boolean {
  if (s.instances > 0) return true;
  if (inScope && !inScope(s.id)) return false;
  const state = s.lastReconcile?.scaleSetState;
  return state !== 'left-mesh' && state !== 'not-found';
}

export function buildStatusView(nodes: readonly OwnedNode[], markers: readonly ScaleSetMarkerSummary[], now: number, operator?: OperatorViewOptions): StatusView {
  const instances: StatusInstance[] = nodes
    .map((n) => ({
      name: n.services[0]?.meta[SERVICE_META.instanceName] ?? n.node,
      node: n.node,
      scaleSetId: n.nodeMeta[NODE_META.scaleSetId] ?? '',
      privateIp: n.address,
      zone: n.nodeMeta[NODE_META.zone] ?? '',
      state: n.draining ? ('draining' as const) : n.azureCheck.status,
      azureState: n.azureCheck.output,
      services: n.services.map((s) => `${s.name}:${s.port}`),
    }))
    .sort((a, b) => a.scaleSetId.localeCompare(b.scaleSetId) || a.name.localeCompare(b.name));

  const perScaleSet = new Map<string, number>();
  for (const i of instances) perScaleSet.set(i.scaleSetId, (perScaleSet.get(i.scaleSetId) ?? 0) + 1);
  const markerById = new Map(markers.map((m) => [m.scaleSetId, m]));
  const ids = [...new Set([...perScaleSet.keys(), ...markerById.keys()])].sort();

  const totals = { scaleSets: ids.length, instances: instances.length, passing: 0, warning: 0, critical: 0, draining: 0 };
  for (const i of instances) totals[i.state] += 1;

  const view: StatusView = {
    generatedAt: new Date(now).toISOString(),
    snapshotVersion: Math.max(0, ...markers.map((m) => m.lastReconcile?.committedIndex ?? 0)),
    totals,
    scaleSets: ids.map((id) => {
      const last = markerById.get(id)?.lastReconcile;
      return { id, instances: perScaleSet.get(id) ?? 0, lastReconcile: last ? { ...last, finishedAtIso: new Date(last.finishedAt).toISOString() } : null };
    }),
    instances,
  };
  return operator ? withOperatorView(view, operator, now) : view;
}
