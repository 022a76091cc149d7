/**
 * Starts Microsoft's OpenTelemetry distro for Azure Monitor, only asked for when
 * APPLICATIONINSIGHTS_CONNECTION_STRING is set. The distro (with the OpenTelemetry SDK and its
 * exporters, about 3 MB of code) is required here, inside the function, never imported: the
 * packaged app keeps it in a chunk of its own (build/functions-app.mjs) that is read only then.
 *
 * The app wants its own metrics in Application Insights, nothing more: the Functions host already
 * sends requests, dependencies, logs and performance counters there. So every auto-instrumentation
 * (http, Azure SDK, databases, log libraries), the standard metrics (derived from those spans),
 * live metrics and performance counters are off; `useAzureMonitor` registers the global
 * MeterProvider the app's meter then comes from.
 */
import { errorMessage } from '../../shared/errors';

export interface AzureMonitorHandle {
  /** Flushes what was recorded and stops the SDK (the worker is shutting down). */
  shutdown(): Promise<void>;
}

const OFF = { enabled: false } as const;

export function startAzureMonitor(connectionString: string): AzureMonitorHandle {
  const distro = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  distro.useAzureMonitor({
    azureMonitorExporterOptions: { connectionString },
    enableLiveMetrics: false,
    enableStandardMetrics: false,
    enablePerformanceCounters: false,
    instrumentationOptions: {
      http: OFF,
      azureSdk: OFF,
      mongoDb: OFF,
      mySql: OFF,
      postgreSql: OFF,
      redis: OFF,
      redis4: OFF,
      bunyan: OFF,
      winston: OFF,
      console: OFF,
    },
  });
  return {
    shutdown: () =>
      distro.shutdownAzureMonitor().catch((error: unknown) => {
        console.warn(JSON.stringify({ msg: `Azure Monitor telemetry shutdown failed (recent metrics may be lost): ${errorMessage(error)}`, event: 'telemetry-shutdown-failed' }));
      }),
  };
}
