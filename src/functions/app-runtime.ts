/**
 * Builds everything the functions use from the app settings: ARM clients (one per subscription
 * in scope), the inventory, the Consul registry, the relay push client and the reconciler.
 */
import type { AppConfig } from '../shared/config';
import { createArmClients } from '../shared/azure/arm-clients';
import { createAzureInventory } from '../shared/azure/azure-inventory';
import { ConsulRegistry, registryOptionsFrom } from '../shared/consul/registry';
import { noRelayPublisher, type EndpointPublisher } from '../shared/endpoints';
import { scopeMatcher, type ScopeMatcher } from '../shared/events/scope';
import { Reconciler, type QueuedOutcome } from '../shared/reconcile/reconciler';
import { buildStatusView, type StatusView } from '../shared/status-view';
import { GrpcPushClient } from '../relay/push/push-client';

export interface AppRuntime {
  readonly config: AppConfig;
  readonly scopeMatcher: ScopeMatcher;
  readonly reconciler: Reconciler;
  status(): Promise<StatusView>;
  close(): void;
}

export function createAppRuntime(config: AppConfig): AppRuntime {
  const [firstSubscription] = config.scope.subscriptions;
  if (!firstSubscription) throw new TypeError('createAppRuntime needs at least one subscription in scope');
  const clients = createArmClients({ ...config.arm, subscriptionId: firstSubscription });
  const inventory = createAzureInventory(clients, config.scope);
  const registry = new ConsulRegistry(registryOptionsFrom(config));
  const publisher: EndpointPublisher =
    config.relay.targets.length > 0
      ? new GrpcPushClient({ targets: config.relay.targets.map((t) => t.address), token: config.relay.token, tls: config.relay.tls, timeoutMs: config.relay.timeoutMs })
      : noRelayPublisher;
  const reconciler = new Reconciler(
    { inventory, registry, publisher, maxRemovalShare: config.maxRemovalShare },
    { hintDeadlineMs: config.hintDeadlineMs, onQueuedOutcome: logQueuedOutcome },
  );
  return {
    config,
    scopeMatcher: scopeMatcher(config.scope),
    reconciler,
    async status() {
      const [nodes, markers] = await Promise.all([registry.listOwned(), registry.listMarkers()]);
      const summaries = markers.flatMap((m) => (m.value ? [{ scaleSetId: m.value.scaleSetId, lastReconcile: m.value.lastReconcile }] : []));
      return buildStatusView(nodes, summaries, Date.now());
    },
    close() {
      publisher.close();
      registry.close();
    },
  };
}

/**
 * A run that hints were acknowledged for without waiting ends after their invocations did, so it
 * is logged by the worker, not by an invocation.
 */
function logQueuedOutcome(outcome: QueuedOutcome): void {
  if (outcome.ok) {
    const r = outcome.report;
    console.info(JSON.stringify({ msg: `${r.scaleSetId}: queued reconcile ${r.outcome} +${r.registered} ~${r.updated} -${r.deregistered}`, event: 'queued-reconcile', ...r, pushes: undefined }));
  } else {
    console.error(JSON.stringify({ msg: `${outcome.scaleSetId}: queued reconcile failed (the timer sweep will reconcile it): ${outcome.error}`, event: 'queued-reconcile-failed', scaleSetId: outcome.scaleSetId }));
  }
}
