/**
 * `vmss-mesh sandbox rollout` against a running sandbox, through its control server (what a user
 * does next to `npm start`): refusals are said plainly and write nothing; a rollout prints its
 * progress per step and ends with the new scale set alone, no request failed; a second rollout
 * while one runs is refused.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sendSandboxAction } from '../../src/sandbox/control/control-client';
import { startControlServer } from '../../src/sandbox/control/control-server';
import { selectorOf, startSandbox } from '../../src/sandbox/sandbox';
import { runCliInProcess } from '../helpers/cli-run';
import { deferrer } from '../helpers/defer';

function sandboxCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCliInProcess(['sandbox', ...args], { env: {}, cwd: process.cwd() });
}

test('sandbox rollout: refusals, then orders → orders-green in 50 % and 100 % with progress per step, the old scale set retired, no failed request', async (t) => {
  const defer = deferrer(t);
  const sandbox = await startSandbox({ azurite: false, createDelayMs: 300, drainMs: 1000, timerSchedule: '* * * * * *', hostPort: 0, relayPort: 0, relayAdminPort: 0 });
  defer(() => sandbox.close());
  const control = await startControlServer({ state: () => sandbox.state(), act: (action) => sandbox.act(action), onChange: (l) => sandbox.onChange(l), port: 0, discoveryDir: null });
  defer(() => control.close());
  const url = ['--url', control.url];
  const arm = sandbox.world.arm.world;
  const orders = sandbox.traffic.get('orders')!;
  await orders.waitFor((records) => records.filter((r) => r.instance?.startsWith('orders_')).length >= 20, 120_000, 'orders serves');

  // Refusals: nothing is created.
  const scaleSetsBefore = arm.listScaleSets().map((s) => s.name);
  assert.deepEqual(await sandboxCli(['rollout', 'payments', '--to', 'payments-2', '--steps', '100', ...url]), {
    code: 1,
    stdout: '',
    stderr: 'vmss-mesh sandbox rollout: refused: no service or scale set "payments" in the sandbox (there are orders, catalog)\n',
  });
  assert.deepEqual(await sandboxCli(['rollout', 'orders', '--to', 'catalog', '--steps', '100', ...url]), {
    code: 1,
    stdout: '',
    stderr: 'vmss-mesh sandbox rollout: refused: scale set catalog already exists: name a new one, or give an image reference\n',
  });
  assert.equal((await sandboxCli(['rollout', 'orders', '--to', 'orders-green', '--steps', '50,40,100', ...url])).code, 2);
  assert.deepEqual(
    arm.listScaleSets().map((s) => s.name),
    scaleSetsBefore,
  );

  // The rollout; a second one is refused while it runs.
  const running = sandboxCli(['rollout', 'orders', '--to', 'orders-green', '--steps', '50,100', '--hold-calls', '40', ...url]);
  await orders.waitFor(() => sandbox.state().rollout?.phase !== undefined, 30_000, 'the rollout started');
  const second = await sendSandboxAction(control.url, { action: 'rollout', service: 'catalog', to: 'catalog-2', steps: [100] });
  assert.equal(second.status, 422);
  assert.match(second.message, /^rollout 1 \(orders → orders-green\) is still running \(\w+\); wait for it to end$/);
  const run = await running;
  t.diagnostic(run.stdout);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.equal(lines[0], 'rollout 1 started: orders → orders-green (same image as orders), steps 50, 100 %');
  const progress = lines.slice(1).map((l) => l.trim());
  assert.match(progress[0]!, /^orders → orders-green, steps 50, 100 %, 40 calls counted per step$/);
  assert.equal(progress[1], 'created orders-green (same image as orders, 2 instances, vmss-mesh-weight=0) next to orders');
  assert.match(progress[2]!, /^orders-green: 2 instances registered, passing and serving after \d+ ms; no traffic yet \(weight 0\)$/);
  assert.match(progress[3]!, /^step 1\/2: orders 50 \/ orders-green 50 — clients had the new weights \d+ ms after the tag write, first call on orders-green at \d+ ms; \d+ calls: orders [\d.]+ % \(weight 50\), orders-green [\d.]+ % \(weight 50\); 0 failed$/);
  assert.match(progress[4]!, /^step 2\/2: orders 0 \/ orders-green 100 — clients had the new weights \d+ ms after the tag write.*; \d+ calls: orders [\d.]+ % \(weight 0\), orders-green [\d.]+ % \(weight 100\); 0 failed$/);
  assert.match(progress[5]!, /^orders gets no calls \(weight 0\); deleting it$/);
  assert.match(progress[6]!, /^orders deleted and deregistered \(\d+ ms\); orders-green serves orders alone; 0 failed calls/);
  assert.equal(progress[7], 'done: orders-green serves orders');

  // The world after it: only the new scale set, with weight 100, its instances serving; nothing failed.
  assert.equal(arm.getScaleSet(selectorOf('orders')), undefined);
  assert.equal(arm.getScaleSet(selectorOf('orders-green'))?.tags['vmss-mesh-weight'], '100');
  const after = Date.now();
  await orders.waitFor((records) => records.filter((r) => r.at >= after).length >= 20, 30_000, '20 calls after the rollout');
  assert.ok(orders.recordsSince(after).every((r) => r.instance?.startsWith('orders-green_')), 'every call after the rollout on orders-green');
  assert.equal(orders.totals().failed, 0);
  assert.equal(sandbox.state().rollout?.phase, 'done');
  assert.deepEqual(
    sandbox.state().scaleSets.map((s) => s.name),
    ['catalog', 'orders-green'],
  );
});
