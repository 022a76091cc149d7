/**
 * The ARM clients record ARM's remaining-reads headers per subscription, and a garbled header is
 * logged and ignored — the call it came with succeeds. The ARM emulator reports the principal's,
 * the global and (when given) Compute's read budgets, counting each down, and counts requests in flight.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ArmReadBudget, observeArmBudget } from '../../src/shared/azure/arm-budget';
import type { BudgetReading, IgnoredBudgetHeader } from '../../src/shared/azure/arm-budget';
import { createArmClients } from '../../src/shared/azure/arm-clients';
import { COMPUTE_READ_POLICIES, GLOBAL_LIMIT_FACTOR, createTestPki } from '../../src/sandbox/arm-emulator';
import { SUBSCRIPTION, TOKEN, scaleSetInput, startArmFixture } from '../helpers/arm-fixture';
import { armRequest, vmssPath } from '../helpers/arm-http';

const SCALE_SET_BODY = JSON.stringify({
  id: `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web`,
  name: 'web',
  location: 'westeurope',
  properties: {},
});

/** An HTTPS "ARM" that answers every request with the given budget headers. */
async function armAnswering(t: { after(fn: () => unknown): void }, budgetHeaders: Record<string, string>) {
  const pki = await createTestPki();
  const server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json', ...budgetHeaders });
    res.end(SCALE_SET_BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', (s) => t.after(() => s.destroy()));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, caPem: pki.caPem };
}

test('garbled budget headers are ignored and reported; the call succeeds and the readable ones are recorded', async (t) => {
  const arm = await armAnswering(t, {
    'x-ms-ratelimit-remaining-subscription-reads': 'lots',
    'x-ms-ratelimit-remaining-subscription-global-reads': '1200',
    'x-ms-ratelimit-remaining-resource': 'Microsoft.Compute/GetVMScaleSet3Min;-1,Microsoft.Compute/GetVMScaleSet30Min;17',
  });
  const budget = new ArmReadBudget();
  const ignored: IgnoredBudgetHeader[] = [];
  const clients = createArmClients({ endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION }, { caPem: arm.caPem, budget, onIgnoredBudgetHeader: (i) => ignored.push(i) });
  const seen: BudgetReading[] = [];
  const scaleSet = await observeArmBudget({ onReading: (r) => seen.push(r) }, () => clients.compute.virtualMachineScaleSets.get('rg', 'web'));
  assert.equal(scaleSet.name, 'web');
  assert.deepEqual(ignored.map((i) => [i.header, i.value]), [
    ['x-ms-ratelimit-remaining-subscription-reads', 'lots'],
    ['x-ms-ratelimit-remaining-resource', 'Microsoft.Compute/GetVMScaleSet3Min;-1'],
  ]);
  assert.deepEqual(seen.map((r) => [r.source, r.remaining]), [
    ['x-ms-ratelimit-remaining-subscription-global-reads', 1200],
    ['x-ms-ratelimit-remaining-resource Microsoft.Compute/GetVMScaleSet30Min', 17],
  ]);
  assert.deepEqual(budget.snapshot().map((s) => [s.subscriptionId, s.lowestRemaining, s.lowestSource]), [[SUBSCRIPTION, 17, 'x-ms-ratelimit-remaining-resource Microsoft.Compute/GetVMScaleSet30Min']]);
});

test('by default a garbled header is one warn line per header and minute on the console, never an exception', async (t) => {
  const arm = await armAnswering(t, { 'x-ms-ratelimit-remaining-subscription-reads': '1e3' });
  const warn = t.mock.method(console, 'warn', () => undefined);
  const clients = createArmClients({ endpoint: arm.url, staticToken: TOKEN, subscriptionId: SUBSCRIPTION }, { caPem: arm.caPem, budget: new ArmReadBudget() });
  for (let i = 0; i < 3; i += 1) assert.equal((await clients.compute.virtualMachineScaleSets.get('rg', 'web')).name, 'web');
  assert.equal(warn.mock.callCount(), 1);
  const line = JSON.parse(String(warn.mock.calls[0]!.arguments[0])) as Record<string, unknown>;
  assert.deepEqual(line, {
    msg: 'ignored ARM budget header x-ms-ratelimit-remaining-subscription-reads: "1e3" (expected a non-negative integer)',
    event: 'arm-budget-header-ignored',
    subscriptionId: SUBSCRIPTION,
    header: 'x-ms-ratelimit-remaining-subscription-reads',
    value: '1e3',
    reason: 'expected a non-negative integer',
  });
});

test('the emulator counts down the principal, global and Compute read budgets and reports each', async (t) => {
  // Compute's policies as the sandbox names them, refilling slowly enough to count exactly.
  const policies = COMPUTE_READ_POLICIES.map((p) => ({ ...p, refillPerSecond: 0.001 }));
  assert.deepEqual(policies.map((p) => [p.name, p.capacity]), [['Microsoft.Compute/HighCostGet3Min', 200], ['Microsoft.Compute/HighCostGet30Min', 1300]]);
  const { arm } = await startArmFixture(t, { rateLimits: { reads: { capacity: 10, refillPerSecond: 0.001 } }, resourcePolicies: policies });
  arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
  const path = vmssPath(SUBSCRIPTION, 'rg-mesh', 'web');
  const first = await armRequest(arm, 'GET', path);
  const second = await armRequest(arm, 'GET', path);
  assert.equal(first.headers['x-ms-ratelimit-remaining-subscription-reads'], '9');
  assert.equal(second.headers['x-ms-ratelimit-remaining-subscription-reads'], '8');
  assert.equal(first.headers['x-ms-ratelimit-remaining-subscription-global-reads'], String(10 * GLOBAL_LIMIT_FACTOR - 1));
  assert.equal(second.headers['x-ms-ratelimit-remaining-subscription-global-reads'], String(10 * GLOBAL_LIMIT_FACTOR - 2));
  assert.equal(first.headers['x-ms-ratelimit-remaining-resource'], 'Microsoft.Compute/HighCostGet3Min;199,Microsoft.Compute/HighCostGet30Min;1299');
  assert.equal(second.headers['x-ms-ratelimit-remaining-resource'], 'Microsoft.Compute/HighCostGet3Min;198,Microsoft.Compute/HighCostGet30Min;1298');
  // Network reads are not charged to Compute's policies.
  const nics = await armRequest(arm, 'GET', `/subscriptions/${SUBSCRIPTION}/resourceGroups/rg-mesh/providers/Microsoft.Network/networkInterfaces`);
  assert.equal(nics.headers['x-ms-ratelimit-remaining-resource'], undefined);
  assert.equal(nics.headers['x-ms-ratelimit-remaining-subscription-reads'], '7');
  // A write charges the writes buckets only.
  const write = await armRequest(arm, 'PATCH', path, { body: { tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } } });
  assert.equal(write.headers['x-ms-ratelimit-remaining-subscription-writes'], '199');
  assert.equal(write.headers['x-ms-ratelimit-remaining-subscription-global-writes'], String(200 * GLOBAL_LIMIT_FACTOR - 1));
  assert.equal(write.headers['x-ms-ratelimit-remaining-resource'], undefined);
  // The principal's bucket empties first: 429, and the headers still say where each bucket stands.
  for (let i = 0; i < 7; i += 1) await armRequest(arm, 'GET', path);
  const throttled = await armRequest(arm, 'GET', path);
  assert.equal(throttled.status, 429);
  assert.equal(throttled.headers['x-ms-ratelimit-remaining-subscription-reads'], '0');
  assert.equal(throttled.headers['x-ms-ratelimit-remaining-resource'], 'Microsoft.Compute/HighCostGet3Min;191,Microsoft.Compute/HighCostGet30Min;1291');
  assert.ok(Number(throttled.headers['retry-after']) >= 1);
});

test('the emulator counts requests in flight, overall and per route', async (t) => {
  const { arm } = await startArmFixture(t, { rateLimits: false });
  arm.world.createScaleSet(scaleSetInput({ name: 'web' }));
  const path = vmssPath(SUBSCRIPTION, 'rg-mesh', 'web');
  arm.faults.delay(3, { route: 'vmss.get', delayMs: 100 });
  await Promise.all([armRequest(arm, 'GET', path), armRequest(arm, 'GET', path), armRequest(arm, 'GET', path)]);
  assert.equal(arm.concurrency.max('vmss.get'), 3);
  assert.equal(arm.concurrency.max('vmssVm.list'), 0);
  assert.equal(arm.concurrency.inFlight, 0);
  arm.concurrency.reset();
  await armRequest(arm, 'GET', path);
  assert.equal(arm.concurrency.max(), 1);
});
