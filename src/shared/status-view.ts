/**
 * What the `status` function shows: the mesh as Consul holds it (our nodes only) plus the last
 * reconcile of each scale set, from the per-scale-set markers. Pure: the caller reads Consul.
 */
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

export interface StatusView {
  readonly generatedAt: string;
  /** Highest Consul index a reconcile committed: the version of the mesh the relays serve. */
  readonly snapshotVersion: number;
  readonly totals: { readonly scaleSets: number; readonly instances: number } & Readonly<Record<InstanceState, number>>;
  readonly scaleSets: ReadonlyArray<{
    readonly id: string;
    readonly instances: number;
    readonly lastReconcile: (ScaleSetMarkerSummary['lastReconcile'] & { readonly finishedAtIso: string }) | null;
  }>;
  readonly instances: readonly StatusInstance[];
}

export function buildStatusView(nodes: readonly OwnedNode[], markers: readonly ScaleSetMarkerSummary[], now: number): StatusView {
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

  return {
    generatedAt: new Date(now).toISOString(),
    snapshotVersion: Math.max(0, ...markers.map((m) => m.lastReconcile?.committedIndex ?? 0)),
    totals,
    scaleSets: ids.map((id) => {
      const last = markerById.get(id)?.lastReconcile;
      return { id, instances: perScaleSet.get(id) ?? 0, lastReconcile: last ? { ...last, finishedAtIso: new Date(last.finishedAt).toISOString() } : null };
    }),
    instances,
  };
}
