/**
 * Where the local host's /metrics comes from: a MeterProvider of the OpenTelemetry SDK with a
 * reader collected on demand, registered as the process's global provider. The app records
 * through the OpenTelemetry API (src/functions/telemetry); its bundled copy of the API finds this
 * provider through the API's process-wide global (the same API version is bundled), as it finds
 * Azure Monitor's in Azure.
 *
 * One per process, installed before the app builds its runtime (an instrument made while no
 * provider is registered stays a no-op), and never removed: every local host of the process
 * records into it, counts accumulate over the process's life like a worker's. Not installed when
 * the app exports to Azure Monitor (the distro replaces the global provider with its own).
 */
import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { prometheusText } from './prometheus-text';

/** A reader that exports nothing by itself: `collect()` when asked. */
export class PullMetricReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

export interface LocalMetrics {
  /** False when another global MeterProvider was registered first: the app records into that one. */
  readonly registered: boolean;
  /** What the app recorded so far, as Prometheus text. */
  prometheus(): Promise<string>;
}

let installed: LocalMetrics | undefined;

export function installLocalMetrics(): LocalMetrics {
  if (installed) return installed;
  const reader = new PullMetricReader();
  const provider = new MeterProvider({ readers: [reader] });
  const registered = metrics.setGlobalMeterProvider(provider);
  installed = {
    registered,
    async prometheus() {
      const { resourceMetrics, errors } = await reader.collect();
      const notes = [
        ...(registered ? [] : ['# another MeterProvider was registered first in this process: the app records into that one, not here']),
        ...errors.map((e) => `# collection error: ${String(e).replace(/\n/g, ' ')}`),
      ]
        .map((line) => `${line}\n`)
        .join('');
      return notes + prometheusText(resourceMetrics);
    },
  };
  return installed;
}
