/**
 * Small builders for tests of the Consul double and the Consul registry: unique names, a registry
 * wired to a given Consul URL, desired nodes shaped like the planner's, and a tiny local planner
 * (register what is listed and absent, update what differs, deregister what is gone).
 */
import { randomBytes } from 'node:crypto';
import type { ConsulConfig } from '../../src/shared/config';
import type { AzureCheckStatus, DesiredNode, OwnedNode, PlanAction, ReconcilePlan } from '../../src/shared/model';
import { NODE_META, OWNED_NODE_META, SERVICE_META, SERVICE_TAG, nodeNameFor } from '../../src/shared/ownership';
import { ConsulRegistry } from '../../src/shared/consul';
import type { ConsulRegistryOptions } from '../../src/shared/consul';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import type { ConsulDouble, ConsulDoubleOptions } from '../../src/sandbox/consul-double';
import type { ReconcileSummary } from '../../src/shared/consul/marker';

/** Anything with `after` (node:test's TestContext and SuiteContext both qualify). */
export interface Cleanup {
  after(fn: () => unknown): void;
}

export function uniqueSuffix(): string {
  return randomBytes(4).toString('hex');
}

export function scaleSetId(name: string, resourceGroup = 'rg-test'): string {
  return `/subscriptions/00000000-0000-0000-0000-0000000000aa/resourcegroups/${resourceGroup}/providers/microsoft.compute/virtualmachinescalesets/${name}`.toLowerCase();
}

export function consulConfigFor(url: string, token?: string): ConsulConfig {
  return { url: new URL(url), insecureSkipVerify: false, ...(token ? { token } : {}) };
}

export async function startDouble(t: Cleanup, options: ConsulDoubleOptions = {}): Promise<ConsulDouble> {
  const double = await startConsulDouble(options);
  t.after(() => double.close());
  return double;
}

export function registryFor(t: Cleanup, url: string, options: Partial<ConsulRegistryOptions> & { token?: string } = {}): ConsulRegistry {
  const { token, ...rest } = options;
  const registry = new ConsulRegistry({
    consul: consulConfigFor(url, token),
    kvPrefix: `vmss-mesh-test-${uniqueSuffix()}`,
    txnBatchSize: 64,
    tombstoneTtlMs: 600_000,
    ...rest,
  });
  t.after(() => registry.close());
  return registry;
}

export interface VmSpec {
  readonly name: string;
  readonly ip: string;
  readonly zone?: string;
  readonly status?: AzureCheckStatus;
  readonly output?: string;
  readonly draining?: boolean;
  readonly services?: ReadonlyArray<{ readonly name: string; readonly port: number; readonly protocol?: string }>;
}

export function vmResourceId(scaleSet: string, vmName: string): string {
  return `${scaleSet}/virtualmachines/${vmName}`.toLowerCase();
}

/** A desired node shaped like the planner's (desired-state.ts). */
export function desiredNode(scaleSet: string, vm: VmSpec): DesiredNode {
  const resourceId = vmResourceId(scaleSet, vm.name);
  const nodeMeta: Record<string, string> = { ...OWNED_NODE_META, [NODE_META.scaleSetId]: scaleSet, [NODE_META.instanceId]: resourceId };
  if (vm.zone) nodeMeta[NODE_META.zone] = vm.zone;
  return {
    node: nodeNameFor(vm.name, resourceId),
    address: vm.ip,
    nodeMeta,
    services: (vm.services ?? [{ name: 'web', port: 8080 }]).map((s) => ({
      id: s.name,
      name: s.name,
      port: s.port,
      tags: [SERVICE_TAG, s.protocol ?? 'http'],
      meta: {
        [SERVICE_META.scaleSetId]: scaleSet,
        [SERVICE_META.instanceId]: resourceId,
        [SERVICE_META.instanceName]: vm.name,
        [SERVICE_META.protocol]: s.protocol ?? 'http',
        ...(vm.zone ? { [SERVICE_META.zone]: vm.zone } : {}),
      },
    })),
    azureCheck: { status: vm.status ?? 'passing', output: vm.output ?? 'provisioning=Succeeded power=running health=none' },
    draining: vm.draining ?? false,
    instanceResourceId: resourceId,
  };
}

/** What differs between two nodes, ignoring the read-back index (same rules as the planner). */
export function sameNode(a: DesiredNode, b: DesiredNode): boolean {
  const norm = (n: DesiredNode) =>
    JSON.stringify({
      node: n.node,
      address: n.address,
      nodeMeta: sortRecord(n.nodeMeta),
      services: [...n.services].sort((x, y) => (x.id < y.id ? -1 : 1)).map((s) => ({ ...s, tags: [...s.tags].sort(), meta: sortRecord(s.meta) })),
      azureCheck: n.azureCheck,
      draining: n.draining,
      instanceResourceId: n.instanceResourceId,
    });
  return norm(a) === norm(b);
}

function sortRecord(r: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The tiny local planner: desired nodes against what the session read. */
export function localPlan(scaleSet: string, desired: readonly DesiredNode[], session: { readonly actual: readonly OwnedNode[]; readonly tombstones: ReadonlySet<string> }): ReconcilePlan {
  const held = new Map(session.actual.map((n) => [n.node, n]));
  const wanted = new Map(desired.map((n) => [n.node, n]));
  const actions: PlanAction[] = [];
  for (const d of desired) {
    const a = held.get(d.node);
    if (!a) {
      if (!session.tombstones.has(d.node)) actions.push({ kind: 'register', desired: d });
    } else if (!sameNode(d, a)) {
      actions.push({ kind: 'update', desired: d, actual: a, changes: ['test'] });
    }
  }
  for (const a of session.actual) if (!wanted.has(a.node)) actions.push({ kind: 'deregister', actual: a, because: 'gone' });
  return { scaleSetId: scaleSet, actions, skipped: [] };
}

/** Raw HTTP against a Consul (double or real), returning status, index and parsed body. */
export async function consulHttp(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; raw?: string; token?: string } = {},
): Promise<{ status: number; index: number; body: unknown; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (options.token) headers['X-Consul-Token'] = options.token;
  const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('application/json') && text) parsed = JSON.parse(text);
  return { status: res.status, index: Number(res.headers.get('x-consul-index') ?? 0), body: parsed, text, headers: res.headers };
}

/** A marker's run summary with every count at 0; tests set only what they are about. */
export function reconcileSummary(overrides: Partial<ReconcileSummary> & Pick<ReconcileSummary, 'finishedAt'>): ReconcileSummary {
  return { runId: 'r', listedAt: 0, registered: 0, updated: 0, deregistered: 0, skipped: 0, tombstonesWritten: 0, tombstonesExpired: 0, instanceCount: 0, committedIndex: 0, batches: 0, ...overrides };
}
