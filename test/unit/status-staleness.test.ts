/**
 * `status`'s operator part: the timer period read from the NCRONTAB schedule, each scale set's last
 * successful reconcile and whether it is stale (older than twice the period, or never), and ARM's
 * read budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PACING, budgetLevel } from '../../src/shared/azure/arm-budget';
import type { SubscriptionBudget } from '../../src/shared/azure/arm-budget';
import { schedulePeriodMs } from '../../src/shared/schedule-period';
import { STALE_AFTER_PERIODS, buildStatusView } from '../../src/shared/status-view';
import type { ScaleSetMarkerSummary } from '../../src/shared/status-view';
import type { OwnedNode } from '../../src/shared/model';
import { NODE_META } from '../../src/shared/ownership';

const MIN = 60_000;

test('the timer period is the longest gap between two runs of the schedule', () => {
  assert.equal(schedulePeriodMs('0 */5 * * * *'), 5 * MIN);
  assert.equal(schedulePeriodMs('*/3 * * * * *'), 3000);
  assert.equal(schedulePeriodMs('0 0,10,45 * * * *'), 35 * MIN);
  assert.equal(schedulePeriodMs('30 15 9-17 * * *'), 16 * 60 * MIN, 'from 17:15:30 to 09:15:30 the next day');
  assert.equal(schedulePeriodMs('0 0 0 * * Mon'), 7 * 24 * 60 * MIN);
  assert.equal(schedulePeriodMs('0 0 0 * * 1-5'), 3 * 24 * 60 * MIN, 'Friday to Monday');
  assert.equal(schedulePeriodMs('0 0 12 1 Jan,Jul *'), 184 * 24 * 60 * MIN, 'July 1st to January 1st');
  assert.equal(schedulePeriodMs('0 5-59/20 * * * *'), 20 * MIN, 'runs at :05, :25, :45, then :05');
  for (const bad of ['0 */5 * * *', '0 */0 * * * *', '0 61 * * * *', '0 5-1 * * * *', 'x * * * * *', '0 0 0 31 Feb *']) assert.equal(schedulePeriodMs(bad), undefined, bad);
});

const scaleSet = (name: string) => `/subscriptions/s/resourcegroups/rg/providers/microsoft.compute/virtualmachinescalesets/${name}`;
const summary = (name: string, finishedAt: number): ScaleSetMarkerSummary => ({
  scaleSetId: scaleSet(name),
  lastReconcile: { finishedAt, listedAt: finishedAt - 100, registered: 0, updated: 0, deregistered: 0, instanceCount: 0, committedIndex: 7 },
});

test('scale sets whose last successful reconcile is older than twice the period, or missing, are stale', () => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0);
  const period = 5 * MIN;
  const budget: SubscriptionBudget[] = [
    { subscriptionId: 'a', lowestRemaining: 180, lowestSource: 'x-ms-ratelimit-remaining-subscription-reads', lowestAt: '2026-12-03T11:55:00.000Z', latestRemaining: 240, latestAt: '2026-12-03T11:59:00.000Z' },
    { subscriptionId: 'b', lowestRemaining: 12, lowestSource: 'x-ms-ratelimit-remaining-resource Microsoft.Compute/HighCostGet3Min', lowestAt: '2026-12-03T11:58:00.000Z', latestRemaining: 40, latestAt: '2026-12-03T11:59:30.000Z' },
  ];
  const view = buildStatusView(
    [],
    [summary('fresh', now - 4 * MIN), summary('edge', now - STALE_AFTER_PERIODS * period), summary('old', now - STALE_AFTER_PERIODS * period - 1000), { scaleSetId: scaleSet('never') }],
    now,
    { timerPeriodMs: period, armReadBudget: { subscriptions: budget, windowMs: 15 * MIN, levelOf: (r) => budgetLevel(r, DEFAULT_PACING) } },
  );
  assert.deepEqual(
    view.scaleSets.map((s) => [s.id.split('/').at(-1), s.lastSuccessAt, s.lastSuccessAgeSeconds, s.stale]),
    [
      ['edge', '2026-12-03T11:50:00.000Z', 600, false],
      ['fresh', '2026-12-03T11:56:00.000Z', 240, false],
      ['never', null, null, true],
      ['old', '2026-12-03T11:49:59.000Z', 601, true],
    ],
  );
  assert.deepEqual(view.staleness, { timerPeriodSeconds: 300, thresholdSeconds: 600, staleScaleSets: [scaleSet('never'), scaleSet('old')] });
  assert.deepEqual(view.armReadBudget, { lowestRemaining: 12, level: 'critical', windowSeconds: 900, subscriptions: budget });

  // Unknown period: nothing is judged; no ARM answer yet: no lowest value.
  const unjudged = buildStatusView([], [summary('fresh', now)], now, { armReadBudget: { subscriptions: [], windowMs: 15 * MIN, levelOf: (r) => budgetLevel(r, DEFAULT_PACING) } });
  assert.equal(unjudged.staleness, null);
  assert.equal(unjudged.scaleSets[0]?.stale, null);
  assert.deepEqual(unjudged.armReadBudget, { lowestRemaining: null, level: 'normal', windowSeconds: 900, subscriptions: [] });
});

test('only scale sets the sweep still visits are judged: not one with no node whose last reconcile found it out of the mesh or gone', () => {
  const now = Date.UTC(2026, 11, 3, 12, 0, 0);
  const period = 5 * MIN;
  const longAgo = now - 3 * 24 * 60 * MIN;
  const recorded = (name: string, scaleSetState: 'in-mesh' | 'left-mesh' | 'not-found' | undefined, instanceCount = 0): ScaleSetMarkerSummary => {
    const base = summary(name, longAgo).lastReconcile!;
    return { scaleSetId: scaleSet(name), lastReconcile: { ...base, instanceCount, ...(scaleSetState ? { scaleSetState } : {}) } };
  };
  // A node still held for 'left-with-nodes' (its deregistration was held back): the sweep visits it.
  const node: OwnedNode = {
    node: 'n1',
    address: '10.0.0.4',
    nodeMeta: { [NODE_META.scaleSetId]: scaleSet('left-with-nodes') },
    services: [],
    azureCheck: { status: 'passing', output: 'Succeeded' },
    draining: false,
    instanceResourceId: `${scaleSet('left-with-nodes')}/virtualmachines/1`,
    nodeModifyIndex: 3,
  };
  const view = buildStatusView(
    [node],
    [
      recorded('left', 'left-mesh'),
      recorded('deleted', 'not-found'),
      recorded('left-with-nodes', 'left-mesh', 1),
      recorded('scaled-to-zero', 'in-mesh'),
      recorded('legacy', undefined),
      { scaleSetId: scaleSet('never') },
    ],
    now,
    { timerPeriodMs: period },
  );
  assert.deepEqual(
    view.scaleSets.map((s) => [s.id.split('/').at(-1), s.instances, s.expectedInSweep, s.stale]),
    [
      ['deleted', 0, false, null],
      ['left', 0, false, null],
      ['left-with-nodes', 1, true, true],
      ['legacy', 0, true, true],
      ['never', 0, true, true],
      ['scaled-to-zero', 0, true, true],
    ],
  );
  assert.deepEqual(view.staleness?.staleScaleSets, [scaleSet('left-with-nodes'), scaleSet('legacy'), scaleSet('never'), scaleSet('scaled-to-zero')]);
  // Still shown with their last reconcile: only the judgement is left out.
  assert.equal(view.scaleSets.find((s) => s.id === scaleSet('left'))?.lastSuccessAt, new Date(longAgo).toISOString());

  // Out of the app's scope (its resource group no longer listed): not visited once it has no node.
  const scoped = buildStatusView([node], [recorded('scaled-to-zero', 'in-mesh'), recorded('left-with-nodes', 'left-mesh', 1)], now, { timerPeriodMs: period, inScope: () => false });
  assert.deepEqual(
    scoped.scaleSets.map((s) => [s.id.split('/').at(-1), s.expectedInSweep, s.stale]),
    [
      ['left-with-nodes', true, true],
      ['scaled-to-zero', false, null],
    ],
  );
});
