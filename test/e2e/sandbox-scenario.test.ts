/**
 * The scenario of `npm run scenario`, with short timings: every step must end with Consul and the
 * relay equal to ARM, and no request may fail — above all during the scale-in with drain and the
 * whole blue/green rollout. With retries configured, an instance failing half its calls costs
 * fewer than 1 % of the calls.
 *
 * Shares: each call of the measuring client picks a scale set at random by weight (grpc-js's
 * weighted clusters), so a share over n calls is binomial. At 90/10 over 2,000 calls σ = √(0.1·0.9/2000)
 * = 0.67 points: ±5 points is 7.5 σ; at 50/50 over 2,000 calls σ = 1.1 points, ±5 is 4.5 σ (a
 * false failure about once in 150,000 runs). At 100 % the old scale set gets no new call; only
 * calls picked just before the clients ACKed can land there.
 *
 * No assertion depends on how fast this machine is: times are printed, counts and outcomes are
 * asserted (every wait inside the scenario is on a condition with a generous deadline).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FLAKY_CALLS, renderReport, ROLLOUT_CALLS, runScenario, stepPassed } from '../../src/sandbox/scenario';

test('scenario: scale-out, scale-in with drain, fail/heal, relay restart, event chaos, blue/green 10/50/100, retries over a flaky instance — all equal to ARM, no failed request', async (t) => {
  const reports = await runScenario({ azurite: false, createDelayMs: 300, drainMs: 1000, timerSchedule: '* * * * * *', hostPort: 0, relayPort: 0, relayAdminPort: 0, stepTimeoutMs: 30_000 });
  t.diagnostic(renderReport(reports));
  assert.deepEqual(
    reports.map((r) => r.step.replace(/catalog_\w+/, 'catalog_N')),
    [
      'start: 2 + 2 instances registered and serving',
      'scale-out orders 2 → 6',
      'scale-in orders 6 → 2 (drain before delete)',
      'catalog_N fails',
      'catalog_N heals',
      'relay restart',
      'duplicated and reordered events: catalog 2 → 3 → 2',
      'blue/green: create orders-v2 (weight 0)',
      'blue/green: shift 10 % to orders-v2',
      'blue/green: shift 50 % to orders-v2',
      'blue/green: shift 100 % to orders-v2',
      'blue/green: retire orders',
      'retries on (unavailable ×3), orders-v2_0 fails half its calls',
    ],
  );
  for (const r of reports) {
    assert.ok(r.consulEqualsArm, `${r.step}: Consul differs from ARM: ${r.problems.join('; ')}`);
    assert.ok(r.relayEqualsArm, `${r.step}: the relay differs from ARM: ${r.problems.join('; ')}`);
    assert.deepEqual(r.problems, [], r.step);
    assert.ok(r.requests > 0, `${r.step}: traffic flowed`);
    if (r.failureBudget === undefined) assert.equal(r.failedRequests, 0, `${r.step}: ${r.failedRequests} failed requests`);
    assert.ok(stepPassed(r), `${r.step}: the CLI would fail this step`);
  }
  const scaleIn = reports.find((r) => r.step.startsWith('scale-in'));
  // The removed instances were in rotation (they served before the scale-in), and no request failed
  // while they drained and went (checked above for every step).
  assert.ok(scaleIn?.trafficFollowedMs !== undefined, 'the removed instances had served traffic before they drained');
  const scaleOut = reports.find((r) => r.step.startsWith('scale-out'));
  assert.ok(scaleOut?.trafficFollowedMs !== undefined, 'new instances served traffic');

  // Blue/green: each step's measured shares within ±5 points of the weights, over enough calls.
  for (const percent of [10, 50, 100]) {
    const r = reports.find((x) => x.step === `blue/green: shift ${percent} % to orders-v2`)!;
    assert.ok(r.shiftMs !== undefined, `${r.step}: the time to the clients' ACK was measured`);
    const shares = Object.fromEntries((r.shares ?? []).map((s) => [s.scaleSet, s]));
    assert.deepEqual(Object.keys(shares).sort(), ['orders', 'orders-v2']);
    assert.equal(shares['orders-v2']!.weight, percent);
    assert.equal(shares.orders!.weight, 100 - percent);
    assert.ok(shares.orders!.calls >= ROLLOUT_CALLS[percent]!, `${r.step}: ${shares.orders!.calls} calls counted`);
    for (const s of r.shares!) assert.ok(Math.abs(100 * s.share - s.weight) <= 5, `${r.step}: ${s.scaleSet} served ${(100 * s.share).toFixed(1)} % at weight ${s.weight}`);
  }
  // Green's first call came after its weight rose from 0 (and was measured).
  assert.ok(reports.find((r) => r.step === 'blue/green: shift 10 % to orders-v2')?.trafficFollowedMs !== undefined, 'orders-v2 served once its weight rose');
  // Failed requests over the whole rollout, create to retire: none.
  const rollout = reports.filter((r) => r.step.startsWith('blue/green'));
  assert.equal(rollout.reduce((sum, r) => sum + r.failedRequests, 0), 0);

  // Retries: the instance kept failing (every other attempt), the clients saw fewer than 1 % failures.
  const flaky = reports[reports.length - 1]!;
  assert.equal(flaky.failureBudget, 0.01);
  assert.ok(flaky.failedRequests < 0.01 * flaky.requests, `${flaky.failedRequests} of ${flaky.requests} requests failed`);
  assert.ok((flaky.flakyInstance?.calls ?? 0) >= FLAKY_CALLS);
  // It gets about half of the calls and fails every other attempt: ~FLAKY_CALLS / 4 failed attempts; 1/8 is far below that.
  const failedAttempts = flaky.flakyInstance?.failedAttempts ?? 0;
  assert.ok(failedAttempts >= FLAKY_CALLS / 8, `the instance failed only ${failedAttempts} attempts: the retries were not tested`);
});
