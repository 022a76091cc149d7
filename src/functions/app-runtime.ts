/**
 * Builds everything the functions use from the app settings: ARM clients (one per subscription
 * in scope), the inventory, the Consul registry, the relay push client, the reconciler and the
 * telemetry (metrics through OpenTelemetry; Azure Monitor's distro only with
 * APPLICATIONINSIGHTS_CONNECTION_STRING).
 */
import type { AppConfig } from '../shared/config';
import { processArmReadBudget } from '../shared/azure/arm-budget';
import { createArmClients } from '../shared/azure/arm-clients';
import { createAzureInventory } from '../shared/azure/azure-inventory';
import { ConsulRegistry, registryOptionsFrom } from '../shared/consul/registry';
import { noRelayPublisher, type EndpointPublisher } from '../shared/endpoints';
import { scopeMatcher, type ScopeMatcher } from '../shared/events/scope';
import { Reconciler, type QueuedOutcome } from '../shared/reconcile/reconciler';
import { buildStatusView, type StatusView } from '../shared/status-view';
import { GrpcPushClient } from '../relay/push/push-client';
import { createAppTelemetry, type AppTelemetry } from './telemetry';

export interface AppRuntime {
  readonly config: AppConfig;
  readonly scopeMatcher: ScopeMatcher;
  readonly reconciler: Reconciler;
  /** The app's metrics (src/functions/telemetry); handlers record what their reconciles returned. */
  readonly telemetry: AppTelemetry;
  status(): Promise<StatusView>;
  /**
   * Closes the Consul and relay connections at once; resolves when the telemetry is flushed
   * (Azure Monitor's last export), which a worker's shutdown should wait for.
   */
  close(): Promise<void>;
}

/** `env`: the process's, where the platform settings are (APPLICATIONINSIGHTS_CONNECTION_STRING). */
export function createAppRuntime(config: AppConfig, env: Readonly<Record<string, string | undefined>> = process.env): AppRuntime {
  const [firstSubscription] = config.scope.subscriptions;
  if (!firstSubscription) throw new TypeError('createAppRuntime needs at least one subscription in scope');
  const clients = createArmClients({ ...config.arm, subscriptionId: firstSubscription });
  const inventory = createAzureInventory(clients, config.scope);
  const registry = new ConsulRegistry(registryOptionsFrom(config));
  // The clients record ARM's budget headers into the process's record (createArmClients' default).
  const telemetry = createAppTelemetry({ env, arm: clients.meter, armBudget: processArmReadBudget });
  // noRelayPublisher stays itself: the reconcile skips reading endpoint sets when it is the publisher.
  const publisher: EndpointPublisher =
    config.relay.targets.length > 0
      ? telemetry.timed(new GrpcPushClient({ targets: config.relay.targets.map((t) => t.address), token: config.relay.token, tls: config.relay.tls, timeoutMs: config.relay.timeoutMs }))
      : noRelayPublisher;
  const reconciler = new Reconciler(
    { inventory, registry, publisher, maxRemovalShare: config.maxRemovalShare },
    {
      hintDeadlineMs: config.hintDeadlineMs,
      onQueuedOutcome: (outcome) => {
        logQueuedOutcome(outcome);
        telemetry.metrics.queuedDone(outcome);
      },
    },
  );
  return {
    config,
    scopeMatcher: scopeMatcher(config.scope),
    reconciler,
    telemetry,
    async status() {
      const [nodes, markers] = await Promise.all([registry.listOwned(), registry.listMarkers()]);
      const summaries = markers.flatMap((m) => (m.value ? [{ scaleSetId: m.value.scaleSetId, lastReconcile: m.value.lastReconcile }] : []));
      return buildStatusView(nodes, summaries, Date.now());
    },
    close() {
      publisher.close();
      registry.close();
      return telemetry.close();
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
    console.info(JSON.stringify({ msg: `${r.scaleSetId}: queued reconcile ${r.outcome} +${r.registered} ~${r.updated} -${r.deregistered}`, event: 'queued-reconcile', ...r, pushes: undefined, armReadings: undefined }));
  } else {
    console.error(JSON.stringify({ msg: `${outcome.scaleSetId}: queued reconcile failed (the timer sweep will reconcile it): ${outcome.error}`, event: 'queued-reconcile-failed', scaleSetId: outcome.scaleSetId }));
  }
}
