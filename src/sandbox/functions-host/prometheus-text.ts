/**
 * OpenTelemetry's collected metrics as Prometheus text (exposition format 0.0.4), for the local
 * host's GET /metrics. Follows the OpenTelemetry → Prometheus naming rules the Prometheus exporter
 * uses: monotonic sums are counters named `<name>_total`, a histogram recorded in seconds gets
 * `_seconds` (`_bucket{le}` cumulative, `_sum`, `_count`), other sums and gauges are gauges.
 * Exponential histograms (the app records none) are left out.
 */
import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Attributes } from '@opentelemetry/api';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const UNIT_SUFFIXES: Readonly<Record<string, string>> = { s: 'seconds', ms: 'milliseconds', By: 'bytes' };

export function prometheusText(collected: ResourceMetrics): string {
  const all = collected.scopeMetrics.flatMap((scope) => scope.metrics);
  const lines: string[] = [];
  for (const metric of [...all].sort((a, b) => a.descriptor.name.localeCompare(b.descriptor.name))) lines.push(...render(metric));
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

function render(metric: MetricData): string[] {
  const base = metricName(metric.descriptor.name, metric.descriptor.unit);
  const help = metric.descriptor.description;
  switch (metric.dataPointType) {
    case DataPointType.SUM: {
      const counter = metric.isMonotonic;
      const name = counter && !base.endsWith('_total') ? `${base}_total` : base;
      return [...header(name, counter ? 'counter' : 'gauge', help), ...metric.dataPoints.map((p) => sample(name, p.attributes, p.value))];
    }
    case DataPointType.GAUGE:
      return [...header(base, 'gauge', help), ...metric.dataPoints.map((p) => sample(base, p.attributes, p.value))];
    case DataPointType.HISTOGRAM: {
      const lines = header(base, 'histogram', help);
      for (const point of metric.dataPoints) {
        const { boundaries, counts } = point.value.buckets;
        let cumulative = 0;
        boundaries.forEach((bound, i) => {
          cumulative += counts[i] ?? 0;
          lines.push(sample(`${base}_bucket`, { ...point.attributes, le: formatNumber(bound) }, cumulative));
        });
        lines.push(sample(`${base}_bucket`, { ...point.attributes, le: '+Inf' }, point.value.count));
        lines.push(sample(`${base}_sum`, point.attributes, point.value.sum ?? 0));
        lines.push(sample(`${base}_count`, point.attributes, point.value.count));
      }
      return lines;
    }
    default:
      return [];
  }
}

function metricName(name: string, unit: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/^([0-9])/, '_$1');
  const suffix = UNIT_SUFFIXES[unit];
  return suffix && !clean.endsWith(`_${suffix}`) ? `${clean}_${suffix}` : clean;
}

function header(name: string, type: string, help: string): string[] {
  return [...(help ? [`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`] : []), `# TYPE ${name} ${type}`];
}

function sample(name: string, attributes: Attributes, value: number): string {
  const labels = Object.entries(attributes)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k.replace(/[^a-zA-Z0-9_]/g, '_')}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `${name}${labels.length > 0 ? `{${labels.join(',')}}` : ''} ${formatNumber(value)}`;
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
