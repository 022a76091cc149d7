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
 *
 * A connection string the distro rejects (e.g. a malformed instrumentation key: `useAzureMonitor`
 * throws before it registers anything) is logged once and answered with no handle: the app runs
 * without export rather than failing every invocation. A missing distro (a package without its
 * chunk) still throws: that is a build defect, not a setting.
 */
import { errorMessage } from '../../shared/errors';

export interface AzureMonitorHandle {
  /** Flushes what was recorded and stops the SDK (the worker is shutting down). */
  shutdown(): Promise<void>;
}

const OFF = { enabled: false } as const;

/** The setting's name as logged (index.ts's CONNECTION_STRING_SETTING; not imported: cycle). */
const SETTING = 'APPLICATIONINSIGHTS_CONNECTION_STRING';

export function startAzureMonitor(connectionString: string): AzureMonitorHandle | undefined {
  const distro = require('@azure/monitor-opentelemetry') as typeof import('@azure/monitor-opentelemetry');
  try {
    start(distro, connectionString);
  } catch (error) {
    const reason = redact(errorMessage(error), connectionString);
    console.warn(JSON.stringify({ msg: `${SETTING} was rejected by Azure Monitor; running without telemetry export: ${reason}`, event: 'telemetry-start-failed', setting: SETTING }));
    return undefined;
  }
  return {
    shutdown: () =>
      distro.shutdownAzureMonitor().catch((error: unknown) => {
        console.warn(JSON.stringify({ msg: `Azure Monitor telemetry shutdown failed (recent metrics may be lost): ${errorMessage(error)}`, event: 'telemetry-shutdown-failed' }));
      }),
  };
}

function start(distro: typeof import('@azure/monitor-opentelemetry'), connectionString: string): void {
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
}

/** The error's message without any value of the connection string (its key, endpoints). */
function redact(message: string, connectionString: string): string {
  const values = connectionString.split(';').map((part) => part.slice(part.indexOf('=') + 1).trim()).filter((v) => v.length >= 4);
  return values.reduce((text, value) => text.split(value).join('<redacted>'), message.split(connectionString).join('<redacted>'));
}
