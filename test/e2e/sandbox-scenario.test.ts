/**
 * The scenario of `npm run scenario`, with short timings: every step must end with Consul and the
 * relay equal to ARM, and no request may fail — above all during the scale-in with drain.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderReport, runScenario } from '../../src/sandbox/scenario';

test('scenario: scale-out, scale-in with drain, fail/heal, relay restart, event chaos — all equal to ARM, no failed request', async (t) => {
  const reports = await runScenario({ azurite: false, createDelayMs: 300, drainMs: 1000, timerSchedule: '* * * * * *', hostPort: 0, relayPort: 0, relayAdminPort: 0, stepTimeoutMs: 30_000 });
  t.diagnostic(renderReport(reports));
  assert.equal(reports.length, 7);
  for (const r of reports) {
    assert.ok(r.consulEqualsArm, `${r.step}: Consul differs from ARM: ${r.problems.join('; ')}`);
    assert.ok(r.relayEqualsArm, `${r.step}: the relay differs from ARM: ${r.problems.join('; ')}`);
    assert.equal(r.failedRequests, 0, `${r.step}: ${r.failedRequests} failed requests`);
    assert.ok(r.requests > 0, `${r.step}: traffic flowed`);
  }
  const scaleIn = reports.find((r) => r.step.startsWith('scale-in'));
  // The removed instances were in rotation (they served before the scale-in), and no request failed
  // while they drained and went (checked above for every step).
  assert.ok(scaleIn?.trafficFollowedMs !== undefined, 'the removed instances had served traffic before they drained');
  const scaleOut = reports.find((r) => r.step.startsWith('scale-out'));
  assert.ok(scaleOut?.trafficFollowedMs !== undefined, 'new instances served traffic');
});
