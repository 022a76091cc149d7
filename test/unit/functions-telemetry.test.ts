/**
 * The Functions app's metrics (src/functions/telemetry): what a reconcile with registrations,
 * deregistrations and skips records, under which names and attributes, collected by a test reader
 * of the OpenTelemetry SDK; one run counted once however many hints shared it; event-to-push
 * latency per hint, queued hints included; and the Prometheus text the local host renders from it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { AppMetrics } from '../../src/functions/telemetry/app-metrics';
import { METRICS } from '../../src/functions/telemetry/metric-names';
import { PullMetricReader } from '../../src/sandbox/functions-host/local-metrics';
import { prometheusText } from '../../src/sandbox/functions-host/prometheus-text';
import type { ReconcileHint, ScaleSetRef } from '../../src/shared/model';
import type { RelayPushResult } from '../../src/shared/endpoints';
import type { ReconcileReport } from '../../src/shared/reconcile/reconcile-scale-set';
import { scaleSetRefFromId } from '../../src/shared/resource-id';

const SET_ID = '/subscriptions/sub-1/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/web';
const ref: ScaleSetRef = scaleSetRefFromId(SET_ID);
const EVENT_AT = Date.parse('2026-01-01T00:00:00.000Z');

function hint(eventTime: string, eventId = 'e1'): ReconcileHint {
  return { target: { kind: 'scale-set', ref }, reason: 'event:write', eventTime, eventId };
}

function report(overrides: Partial<ReconcileReport> = {}): ReconcileReport {
  return {
    scaleSetId: SET_ID,
    outcome: 'applied',
    registered: 2,
    updated: 1,
    deregistered: 1,
    skipped: [
      { node: 'web-1', reason: 'tombstoned' },
      { node: 'web-2', reason: 'removal-cap: 1 of 2 removals need confirming' },
      { node: 'web-3', reason: 'removal-cap: 1 of 2 removals need confirming' },
      { node: 'web-4', reason: 'something new: not a known code' },
    ],
    armCalls: 3,
    changedServices: ['web'],
    pushes: [{ target: 'relay-a:50051', ok: true }, { target: 'relay-b:50051', ok: false, error: 'unavailable' }],
    durationMs: 1500,
    ...overrides,
  };
}

function harness() {
  const reader = new PullMetricReader();
  const provider = new MeterProvider({ readers: [reader] });
  const arm = { totals: { requests: 10, throttled: 2, failed: 1 } };
  const pushedAt = new WeakMap<readonly RelayPushResult[], number>();
  let now = EVENT_AT + 5_000;
  const armBudget = { snapshot: () => [{ subscriptionId: 'sub-1', latestRemaining: 11_990 }, { subscriptionId: 'sub-2', latestRemaining: 40 }] };
  const metrics = new AppMetrics({ meter: provider.getMeter('test'), arm, armBudget, pushDoneAt: (p) => pushedAt.get(p), now: () => now });
  return {
    metrics,
    pushedAt,
    setNow: (ms: number) => void (now = ms),
    async collect(): Promise<ResourceMetrics> {
      const { resourceMetrics, errors } = await reader.collect();
      assert.deepEqual(errors, []);
      return resourceMetrics;
    },
    close: () => provider.shutdown(),
  };
}

function metricOf(collected: ResourceMetrics, name: string): MetricData | undefined {
  return collected.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === name);
}

/** name → sorted "attr=value,… → value" lines (histograms: count and sum). */
function points(collected: ResourceMetrics, name: string): string[] {
  const metric = metricOf(collected, name);
  if (!metric) return [];
  const label = (attributes: Record<string, unknown>) => Object.entries(attributes).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${String(v)}`).join(',');
  if (metric.dataPointType === DataPointType.HISTOGRAM) return metric.dataPoints.map((p) => `${label(p.attributes)} → count ${p.value.count} sum ${p.value.sum}`).sort();
  if (metric.dataPointType === DataPointType.SUM || metric.dataPointType === DataPointType.GAUGE) return metric.dataPoints.map((p) => `${label(p.attributes)} → ${p.value}`).sort();
  return [];
}

test('a reconcile with registrations, deregistrations and skips: names, attributes and values', async (t) => {
  const h = harness();
  t.after(() => h.close());
  const applied = report();
  h.pushedAt.set(applied.pushes, EVENT_AT + 2_500);
  h.metrics.hintDone('event', hint('2026-01-01T00:00:00.000Z'), { kind: 'reconciled', ref, result: applied, via: 'ran' });
  // A second hint served by the same run (same report object): the run is not counted again, its latency is.
  h.metrics.hintDone('event', hint('2026-01-01T00:00:01.000Z', 'e2'), { kind: 'reconciled', ref, result: applied, via: 'joined' });
  h.metrics.hintFailed('autoscale');
  h.metrics.ignored('event', 'no-instance-change');
  h.metrics.ignored('autoscale', 'malformed');

  const collected = await h.collect();
  assert.deepEqual(points(collected, METRICS.reconciles), ['outcome=applied,trigger=event → 1', 'outcome=failed,trigger=autoscale → 1']);
  assert.deepEqual(points(collected, METRICS.registrations), ['trigger=event → 2']);
  assert.deepEqual(points(collected, METRICS.updates), ['trigger=event → 1']);
  assert.deepEqual(points(collected, METRICS.deregistrations), ['trigger=event → 1']);
  assert.deepEqual(points(collected, METRICS.skips), ['reason=other,trigger=event → 1', 'reason=removal-cap,trigger=event → 2', 'reason=tombstoned,trigger=event → 1']);
  assert.deepEqual(points(collected, METRICS.pushes), ['result=failed → 1', 'result=ok → 1']);
  assert.deepEqual(points(collected, METRICS.reconcileDuration), ['outcome=applied,trigger=event → count 1 sum 1.5']);
  // Push done 2.5 s after the first event, 1.5 s after the second.
  assert.deepEqual(points(collected, METRICS.eventToPush), ['trigger=event → count 2 sum 4']);
  assert.deepEqual(points(collected, METRICS.eventsIgnored), ['reason=malformed,trigger=autoscale → 1', 'reason=no-instance-change,trigger=event → 1']);
  assert.deepEqual(points(collected, METRICS.armRequests), ['result=failed → 1', 'result=ok → 7', 'result=throttled → 2']);
  assert.deepEqual(points(collected, METRICS.armReadsRemaining), ['subscription=sub-1 → 11990', 'subscription=sub-2 → 40']);
  assert.equal(metricOf(collected, METRICS.armReadsRemaining)?.dataPointType, DataPointType.GAUGE);
  assert.equal(metricOf(collected, METRICS.reconcileDuration)?.descriptor.unit, 's');
});

test('the sweep counts every scale set once, failures as outcome failed; no push, no latency', async (t) => {
  const h = harness();
  t.after(() => h.close());
  const unchanged = report({ outcome: 'unchanged', registered: 0, updated: 0, deregistered: 0, skipped: [], pushes: [], changedServices: [], durationMs: 200 });
  const gone = report({ scaleSetId: `${SET_ID}-2`, outcome: 'applied', registered: 0, updated: 0, deregistered: 3, skipped: [{ node: '*', reason: 'listing-unknown' }], pushes: [], durationMs: 800 });
  h.metrics.sweepDone({ reports: [unchanged, gone], failures: [{ scaleSetId: `${SET_ID}-3`, error: 'ARM 503', retryTrigger: true }] });
  // A hint whose run changed nothing pushes nothing: no latency sample.
  h.metrics.hintDone('event', hint('2026-01-01T00:00:00.000Z'), { kind: 'reconciled', ref, result: report({ outcome: 'unchanged', pushes: [] }), via: 'ran' });

  const collected = await h.collect();
  assert.deepEqual(points(collected, METRICS.reconciles), ['outcome=applied,trigger=sweep → 1', 'outcome=failed,trigger=sweep → 1', 'outcome=unchanged,trigger=event → 1', 'outcome=unchanged,trigger=sweep → 1']);
  assert.deepEqual(points(collected, METRICS.deregistrations), ['trigger=event → 1', 'trigger=sweep → 3']);
  assert.deepEqual(points(collected, METRICS.skips).filter((l) => l.includes('sweep')), ['reason=listing-unknown,trigger=sweep → 1']);
  assert.deepEqual(points(collected, METRICS.eventToPush), []);
});

test('hints acknowledged before their run ended: the run counted once when it ends, latency for each', async (t) => {
  const h = harness();
  t.after(() => h.close());
  h.metrics.hintDone('autoscale', hint('2026-01-01T00:00:00.000Z', 'a'), { kind: 'queued', ref, waitedMs: 20_000, busySince: EVENT_AT });
  h.metrics.hintDone('autoscale', hint('2026-01-01T00:00:02.000Z', 'b'), { kind: 'queued', ref, waitedMs: 20_000, busySince: EVENT_AT });
  let collected = await h.collect();
  assert.deepEqual(points(collected, METRICS.reconciles), []);
  const late = report({ skipped: [], durationMs: 30_000 });
  h.pushedAt.set(late.pushes, EVENT_AT + 32_000);
  h.metrics.queuedDone({ scaleSetId: SET_ID, ok: true, report: late });
  // The same report coming back to another hint later is not a second run.
  h.metrics.hintDone('event', hint('2026-01-01T00:00:03.000Z', 'c'), { kind: 'reconciled', ref, result: late, via: 'covered' });
  h.metrics.queuedDone({ scaleSetId: SET_ID, ok: false, error: 'Consul unreachable' });
  collected = await h.collect();
  assert.deepEqual(points(collected, METRICS.reconciles), ['outcome=applied,trigger=autoscale → 1', 'outcome=failed,trigger=event → 1']);
  assert.deepEqual(points(collected, METRICS.eventToPush), ['trigger=autoscale → count 2 sum 62', 'trigger=event → count 1 sum 29']);
});

test('a run shared by the sweep and hints counts once, under the trigger of the request that started it, whoever reports it first', async (t) => {
  const h = harness();
  t.after(() => h.close());
  const quiet = { registered: 0, updated: 0, deregistered: 0, skipped: [], pushes: [], changedServices: [] };
  // The sweep started this run; an event hint joined it and came back first.
  const bySweep = report({ ...quiet, source: 'timer (past due)', outcome: 'unchanged', deregistered: 2 });
  h.metrics.hintDone('event', hint('2026-01-01T00:00:00.000Z'), { kind: 'reconciled', ref, result: bySweep, via: 'joined' });
  // An event started this one; the sweep joined it and is the only one to report it.
  const byEvent = report({ ...quiet, source: 'event:Microsoft.Compute/virtualMachineScaleSets/write', scaleSetId: `${SET_ID}-2` });
  h.metrics.sweepDone({ reports: [bySweep, byEvent], failures: [] });
  // An autoscale notification started this one; event hints acknowledged early got it first.
  const byAutoscale = report({ ...quiet, source: 'autoscale:scale-out', outcome: 'superseded' });
  h.metrics.hintDone('event', hint('2026-01-01T00:00:01.000Z', 'q'), { kind: 'queued', ref, waitedMs: 20_000, busySince: EVENT_AT });
  h.metrics.queuedDone({ scaleSetId: SET_ID, ok: true, report: byAutoscale });
  h.metrics.hintDone('autoscale', hint('2026-01-01T00:00:02.000Z', 'a'), { kind: 'reconciled', ref, result: byAutoscale, via: 'joined' });
  // A source that tells none (here a CLI's): the trigger of whoever reported it.
  h.metrics.hintDone('autoscale', hint('2026-01-01T00:00:03.000Z', 'c'), { kind: 'reconciled', ref, result: report({ ...quiet, source: 'cli', outcome: 'not-in-mesh' }), via: 'ran' });

  const collected = await h.collect();
  assert.deepEqual(points(collected, METRICS.reconciles), [
    'outcome=applied,trigger=event → 1',
    'outcome=not-in-mesh,trigger=autoscale → 1',
    'outcome=superseded,trigger=autoscale → 1',
    'outcome=unchanged,trigger=sweep → 1',
  ]);
  assert.deepEqual(points(collected, METRICS.deregistrations), ['trigger=sweep → 2']);
});

test('an event time after the push (clock skew) records 0, not a negative duration; a bad time records nothing', async (t) => {
  const h = harness();
  t.after(() => h.close());
  const r = report();
  h.pushedAt.set(r.pushes, EVENT_AT - 1_000);
  h.metrics.hintDone('event', hint('2026-01-01T00:00:00.000Z'), { kind: 'reconciled', ref, result: r, via: 'ran' });
  h.metrics.hintDone('event', hint('not a time', 'x'), { kind: 'reconciled', ref, result: report(), via: 'ran' });
  assert.deepEqual(points(await h.collect(), METRICS.eventToPush), ['trigger=event → count 1 sum 0']);
});

test('Prometheus text of the recorded metrics: counters _total, seconds histograms with cumulative buckets', async (t) => {
  const h = harness();
  t.after(() => h.close());
  const r = report();
  h.pushedAt.set(r.pushes, EVENT_AT + 2_500);
  h.metrics.hintDone('event', hint('2026-01-01T00:00:00.000Z'), { kind: 'reconciled', ref, result: r, via: 'ran' });
  const text = prometheusText(await h.collect());
  const lines = text.split('\n');
  for (const expected of [
    '# TYPE vmss_mesh_reconciles_total counter',
    'vmss_mesh_reconciles_total{outcome="applied",trigger="event"} 1',
    'vmss_mesh_registrations_total{trigger="event"} 2',
    'vmss_mesh_deregistrations_total{trigger="event"} 1',
    'vmss_mesh_skips_total{reason="removal-cap",trigger="event"} 2',
    'vmss_mesh_arm_requests_total{result="throttled"} 2',
    '# TYPE vmss_mesh_arm_reads_remaining gauge',
    'vmss_mesh_arm_reads_remaining{subscription="sub-2"} 40',
    '# TYPE vmss_mesh_reconcile_duration_seconds histogram',
    'vmss_mesh_reconcile_duration_seconds_bucket{le="1",outcome="applied",trigger="event"} 0',
    'vmss_mesh_reconcile_duration_seconds_bucket{le="2.5",outcome="applied",trigger="event"} 1',
    'vmss_mesh_reconcile_duration_seconds_bucket{le="+Inf",outcome="applied",trigger="event"} 1',
    'vmss_mesh_reconcile_duration_seconds_sum{outcome="applied",trigger="event"} 1.5',
    'vmss_mesh_reconcile_duration_seconds_count{outcome="applied",trigger="event"} 1',
    'vmss_mesh_event_to_push_duration_seconds_bucket{le="2.5",trigger="event"} 1',
  ]) {
    assert.ok(lines.includes(expected), `missing ${JSON.stringify(expected)} in:\n${text}`);
  }
  assert.ok(text.endsWith('\n'));
});

test('Prometheus text: label values escaped, up-down sums and gauges as gauges, units as suffixes', async (t) => {
  const reader = new PullMetricReader();
  const provider = new MeterProvider({ readers: [reader] });
  t.after(() => provider.shutdown());
  const meter = provider.getMeter('test');
  meter.createCounter('odd.name-total', { description: 'line one\nline \\ two' }).add(3, { reason: 'say "hi"\\\n' });
  meter.createUpDownCounter('queue_depth').add(-2);
  meter.createObservableGauge('ratio').addCallback((r) => r.observe(Number.NaN));
  meter.createHistogram('payload', { unit: 'By', advice: { explicitBucketBoundaries: [10] } }).record(25);
  const { resourceMetrics } = await reader.collect();
  assert.equal(
    prometheusText(resourceMetrics),
    [
      '# HELP odd_name_total line one\\nline \\\\ two',
      '# TYPE odd_name_total counter',
      'odd_name_total{reason="say \\"hi\\"\\\\\\n"} 3',
      '# TYPE payload_bytes histogram',
      'payload_bytes_bucket{le="10"} 0',
      'payload_bytes_bucket{le="+Inf"} 1',
      'payload_bytes_sum 25',
      'payload_bytes_count 1',
      '# TYPE queue_depth gauge',
      'queue_depth -2',
      '# TYPE ratio gauge',
      'ratio NaN',
      '',
    ].join('\n'),
  );
});
