/**
 * The app's telemetry as the runtime builds it (src/functions/app-runtime.ts, at the first
 * invocation): with APPLICATIONINSIGHTS_CONNECTION_STRING set, Azure Monitor's distro is started
 * first (it registers the global MeterProvider); then the app's meter comes from the global
 * OpenTelemetry API — Azure Monitor's, a provider the local host registered (its /metrics), or
 * none (no-op instruments).
 *
 * Telemetry never stops the app: a connection string the distro rejects is logged once and the app
 * runs without export (./azure-monitor); the flush at shutdown is bounded
 * (SHUTDOWN_FLUSH_TIMEOUT_MS) so an ingestion endpoint that never answers does not hold the
 * worker's appTerminate hook.
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

/** How long close() waits for Azure Monitor's flush before giving up (what is unsent is lost). */
export const SHUTDOWN_FLUSH_TIMEOUT_MS = 5_000;

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
  /** Tests: instead of the distro (./azure-monitor, required only when the setting is set). */
  readonly startAzureMonitor?: (connectionString: string) => AzureMonitorHandle | undefined;
  /** Tests: the bound on the flush at close(); SHUTDOWN_FLUSH_TIMEOUT_MS by default. */
  readonly shutdownTimeoutMs?: number;
}

export function createAppTelemetry(options: AppTelemetryOptions): AppTelemetry {
  const connectionString = options.env[CONNECTION_STRING_SETTING]?.trim();
  let azureMonitor: AzureMonitorHandle | undefined;
  if (connectionString) {
    // Required only here: without the setting the distro's chunk is never read (cold start).
    const start = options.startAzureMonitor ?? (require('./azure-monitor') as typeof import('./azure-monitor')).startAzureMonitor;
    // No handle when the distro rejected the setting (logged there): the meter is then the global
    // no-op one, and the runtime is still built (every invocation builds it through here).
    azureMonitor = start(connectionString);
  }
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SHUTDOWN_FLUSH_TIMEOUT_MS;
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
        if (azureMonitor) await bounded(azureMonitor.shutdown(), shutdownTimeoutMs);
      })();
      return closed;
    },
  };
}

/** Waits for the flush at most `ms`; past that logs and resolves (the flush goes on unawaited). */
async function bounded(flush: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<'timeout'>((resolve) => {
    // Not unref'd: while a flush is pending the bound must fire (and log); cleared when it ends.
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    if ((await Promise.race([flush.then(() => 'flushed' as const), gaveUp])) === 'timeout') {
      console.warn(JSON.stringify({ msg: `Azure Monitor telemetry flush did not finish within ${ms} ms; shutting down without it (recent metrics may be lost)`, event: 'telemetry-shutdown-timeout', timeoutMs: ms }));
    }
  } finally {
    clearTimeout(timer);
  }
}
