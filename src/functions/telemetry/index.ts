/**
 * The app's telemetry as the runtime builds it (src/functions/app-runtime.ts, at the first
 * invocation): with APPLICATIONINSIGHTS_CONNECTION_STRING set, Azure Monitor's distro is started
 * first (it registers the global MeterProvider); then the app's meter comes from the global
 * OpenTelemetry API — Azure Monitor's, a provider the local host registered (its /metrics), or
 * none (no-op instruments).
 */
import { metrics } from '@opentelemetry/api';
import type { ArmCallStats } from '../../shared/azure/arm-call-meter';
import type { EndpointPublisher, RelayPushResult } from '../../shared/endpoints';
import { AppMetrics, type AppMetricsOptions } from './app-metrics';
import type { AzureMonitorHandle } from './azure-monitor';
import { METER_NAME } from './metric-names';

export { AppMetrics } from './app-metrics';
export type { Trigger } from './metric-names';

/** The platform setting that turns Azure Monitor export on (the Functions host reads it too). */
export const CONNECTION_STRING_SETTING = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

export interface AppTelemetry {
  readonly metrics: AppMetrics;
  /** Whether the app exports to Azure Monitor (the distro was started). */
  readonly azureMonitor: boolean;
  /** The relay publisher, stamping when each push ended (for event-to-push latency). */
  timed(publisher: EndpointPublisher): EndpointPublisher;
  /** Flushes and stops exporting (the worker is shutting down); idempotent. */
  close(): Promise<void>;
}

export interface AppTelemetryOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly arm?: { readonly totals: ArmCallStats };
  readonly armBudget?: AppMetricsOptions['armBudget'];
}

export function createAppTelemetry(options: AppTelemetryOptions): AppTelemetry {
  const connectionString = options.env[CONNECTION_STRING_SETTING]?.trim();
  let azureMonitor: AzureMonitorHandle | undefined;
  if (connectionString) {
    // Required only here: without the setting the distro's chunk is never read (cold start).
    const { startAzureMonitor } = require('./azure-monitor') as typeof import('./azure-monitor');
    azureMonitor = startAzureMonitor(connectionString);
  }
  const pushDoneAt = new WeakMap<readonly RelayPushResult[], number>();
  const appMetrics = new AppMetrics({ meter: metrics.getMeter(METER_NAME), arm: options.arm, armBudget: options.armBudget, pushDoneAt: (pushes) => pushDoneAt.get(pushes) });
  let closed: Promise<void> | undefined;
  return {
    metrics: appMetrics,
    azureMonitor: azureMonitor !== undefined,
    timed(publisher) {
      return {
        async publish(sets, source) {
          const results = await publisher.publish(sets, source);
          pushDoneAt.set(results, Date.now());
          return results;
        },
        close: () => publisher.close(),
      };
    },
    close() {
      closed ??= (async () => {
        appMetrics.close();
        await azureMonitor?.shutdown();
      })();
      return closed;
    },
  };
}
