/** The steps of a reconcile as the Functions app takes them, for tests that drive Consul (and the relay watching it) directly. */
import { startConsulDouble, type ConsulDouble } from '../../src/sandbox/consul-double';
import { loadConfig } from '../../src/shared/config';
import { ConsulRegistry, registryOptionsFrom } from '../../src/shared/consul/registry';
import type { EndpointPublisher, ServiceEndpointSet } from '../../src/shared/endpoints';
import type { Instance, MeshScaleSet, ReconcilePlan, ScaleSetRef } from '../../src/shared/model';
import { planReconcile, type ScaleSetState } from '../../src/shared/planner/plan';

/** A Consul double and the app's registry on it (scope: `subscription`); `defer` closes the registry, then the double. */
export async function startConsulWithRegistry(defer: (cleanup: () => unknown) => void, subscription: string): Promise<{ consul: ConsulDouble; registry: ConsulRegistry }> {
  const consul = await startConsulDouble();
  defer(() => consul.close());
  const registry = new ConsulRegistry(registryOptionsFrom(loadConfig({ VMSS_MESH_SUBSCRIPTIONS: subscription, CONSUL_HTTP_ADDR: consul.url })));
  defer(() => registry.close());
  return { consul, registry };
}

/** What the Functions app does after listing ARM (a complete listing of `instances`): claim, plan, apply. Returns the plan applied. */
export async function applyReconcile(
  registry: ConsulRegistry,
  input: { ref: ScaleSetRef; state: ScaleSetState; scaleSet?: MeshScaleSet; instances: readonly Instance[]; maxRemovalShare: number },
): Promise<ReconcilePlan> {
  const listedAt = Date.now();
  const session = await registry.beginReconcile(input.ref.id, listedAt);
  const plan = planReconcile({
    scaleSetId: input.ref.id,
    scaleSetState: input.state,
    ...(input.scaleSet ? { scaleSet: input.scaleSet } : {}),
    listing: { status: 'complete', listedAt, instances: input.instances },
    actual: session.actual,
    tombstones: session.tombstones,
    confirmedGone: new Set(),
    maxRemovalShare: input.maxRemovalShare,
  });
  await session.apply(plan);
  return plan;
}

/** A publisher that keeps every push (the sets as published) and reports each as delivered to one relay. */
export function recordingPublisher(): { publisher: EndpointPublisher; pushed: ServiceEndpointSet[][] } {
  const pushed: ServiceEndpointSet[][] = [];
  const publisher: EndpointPublisher = {
    publish: async (sets) => {
      pushed.push([...sets]);
      return [{ target: 'relay', ok: true }];
    },
    close: () => undefined,
  };
  return { publisher, pushed };
}
