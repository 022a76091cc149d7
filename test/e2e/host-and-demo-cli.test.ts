/** `vmss-mesh demo` (what `npm start` runs: the sandbox) and `vmss-mesh host`, as a user runs them: real processes. */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startConsulDouble } from '../../src/sandbox/consul-double';
import { startSandbox } from '../../src/sandbox/sandbox';
import { deferrer } from '../helpers/defer';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'vmss-mesh.js');

function start(args: string[], env: Record<string, string>, cwd = ROOT): { child: ChildProcessWithoutNullStreams; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/**
 * `vmss-mesh demo` as `npm start` runs it, in a folder of its own (its discovery file), with fast
 * timings, free ports and no autoscale (its first look, 5 s in, would undo a test's scale-out);
 * stopped, then its folder removed, by `defer`.
 */
function startDemo(defer: (cleanup: () => unknown) => void): { proc: ReturnType<typeof start>; cwd: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'vmss-mesh-demo-'));
  defer(() => rmSync(cwd, { recursive: true, force: true }));
  const proc = start(['demo', '--fast', '--free-ports', '--port', '0', '--no-autoscale'], {}, cwd);
  defer(() => stop(proc));
  return { proc, cwd };
}

/** Stops a child the way a user does (SIGTERM: it closes what it started), and kills it if it will not. */
async function stop(proc: ReturnType<typeof start>, graceMs = 15_000): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => (timer = setTimeout(() => resolve(void proc.child.kill('SIGKILL')), graceMs)));
  await Promise.race([proc.exited, killed]);
  clearTimeout(timer);
  await proc.exited;
}

function waitForOutput(proc: ReturnType<typeof start>, pattern: RegExp, timeoutMs = 20_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output:\n${proc.output()}`)), timeoutMs);
    const check = () => {
      const match = pattern.exec(proc.output());
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    proc.child.stdout.on('data', check);
    proc.child.stderr.on('data', check);
    check();
  });
}

test('demo (npm start): the sandbox comes up, answers `sandbox status --json` and `sandbox scale`, and stops on SIGTERM', async (t) => {
  const defer = deferrer(t);
  const { proc, cwd } = startDemo(defer);
  await waitForOutput(proc, /status page:\s+(http:\/\/127\.0\.0\.1:\d+)/, 30_000);
  assert.match(proc.output(), /Consul: the project's Consul API double at http:\/\/127\.0\.0\.1:\d+ \(no consul binary on the PATH\)/);
  assert.match(proc.output(), /ARM emulator:\s+https:\/\/127\.0\.0\.1:\d+/);
  const cli = (args: string[]) => {
    const p = start(args, {}, cwd);
    return p.exited.then((code) => ({ code, output: p.output() }));
  };
  const scaled = await cli(['sandbox', 'scale', 'orders', '3']);
  assert.equal(scaled.code, 0, scaled.output);
  let state: { scaleSets: Array<{ name: string; instances: Array<{ consul: string }> }> } | undefined;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const status = await cli(['sandbox', 'status', '--json']);
    assert.equal(status.code, 0, status.output);
    state = JSON.parse(status.output) as typeof state;
    if (state?.scaleSets.find((s) => s.name === 'orders')?.instances.filter((x) => x.consul === 'passing').length === 3) break;
    await new Promise((resolve) => setTimeout(resolve, 200)); // a CLI process per poll: do not flood the machine
  }
  assert.equal(state?.scaleSets.find((s) => s.name === 'orders')?.instances.filter((x) => x.consul === 'passing').length, 3);
  // The sandbox's app settings are published beside sandbox.json: the operator's reconcile runs against it.
  const settingsFile = join(cwd, '.vmss-mesh', 'local.settings.json');
  assert.match(proc.output(), /app settings:\s+\.vmss-mesh\/local\.settings\.json/);
  assert.equal(statSync(settingsFile).mode & 0o777, 0o600, 'the settings file (it holds the sandbox tokens) is the owner\'s only');
  const planned = await cli(['reconcile', '--all', '--dry-run', '--json', '--settings', '.vmss-mesh/local.settings.json']);
  assert.ok(planned.code === 0 || planned.code === 3, planned.output);
  const plan = JSON.parse(planned.output) as { dryRun: boolean; scaleSets: Array<{ scaleSetId: string; outcome: string }> };
  assert.equal(plan.dryRun, true);
  assert.ok(plan.scaleSets.some((s) => /\/virtualMachineScaleSets\/orders$/i.test(s.scaleSetId)), planned.output);
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0, proc.output());
  assert.equal(existsSync(settingsFile), false, 'the settings file goes with the sandbox');
});

test('host: refuses to start without a subscription in scope (exit 2, names the setting)', async () => {
  const proc = start(['host', '--port', '0'], { VMSS_MESH_SUBSCRIPTIONS: '' });
  assert.equal(await proc.exited, 2);
  assert.match(proc.output(), /configuration error: VMSS_MESH_SUBSCRIPTIONS: at least one subscription ID is required/);
});

test('host: serves the func-start routes with settings from the environment and stops on SIGTERM', async (t) => {
  const consul = await startConsulDouble();
  t.after(() => consul.close());
  const proc = start(['host', '--port', '0', '--no-timers'], {
    VMSS_MESH_SUBSCRIPTIONS: '00000000-0000-0000-0000-000000000001',
    CONSUL_HTTP_ADDR: consul.url,
    VMSS_MESH_ARM_TOKEN: 'unused',
  });
  t.after(() => proc.child.kill('SIGKILL'));
  const [, url] = await waitForOutput(proc, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const status = await fetch(`${url}/api/status`);
  assert.equal(status.status, 200);
  assert.equal(((await status.json()) as { totals: { instances: number } }).totals.instances, 0);
  const validation = await fetch(`${url}/runtime/webhooks/eventgrid?functionName=vmssEvents`, {
    method: 'POST',
    headers: { 'aeg-event-type': 'SubscriptionValidation' },
    body: JSON.stringify([{ id: '1', eventType: 'Microsoft.EventGrid.SubscriptionValidationEvent', data: { validationCode: 'code-1' } }]),
  });
  assert.deepEqual(await validation.json(), { validationResponse: 'code-1' });
  proc.child.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
});

test('two sandboxes on one machine (npm start and another): each takes its own loopback block, and every backend of both binds and serves', async (t) => {
  const defer = deferrer(t);
  const { proc } = startDemo(defer);
  await waitForOutput(proc, /status page:\s+http/, 30_000);
  const [, demoOctet] = await waitForOutput(proc, /instances: loopback addresses 127\.(\d+)\.x\.y/);

  const lines: string[] = [];
  const sandbox = await startSandbox({ azurite: false, createDelayMs: 100, drainMs: 200, hostPort: 0, relayPort: 0, relayAdminPort: 0, useConsulBinary: false, useFuncBinary: false, log: (line) => void lines.push(line) });
  defer(() => sandbox.close());
  const deadline = Date.now() + 30_000;
  let state = await sandbox.refreshed();
  while (!state.scaleSets.every((set) => set.instances.length === 2 && set.instances.every((i) => i.served > 0))) {
    assert.ok(Date.now() < deadline, `the instances never all served: ${JSON.stringify(state.scaleSets)}`);
    state = await sandbox.refreshed();
  }
  const octets = new Set(state.scaleSets.flatMap((set) => set.instances.map((i) => i.privateIp.split('.')[1])));
  assert.equal(octets.size, 1);
  assert.notEqual([...octets][0], demoOctet, 'the second sandbox took another block than the running one');
  // Both worlds name their instances alike, so a call answered by the other sandbox's backend
  // would look served: what tells is that every backend bound its own address and port.
  assert.deepEqual(lines.filter((l) => /^backend for /.test(l)), []);
  assert.doesNotMatch(proc.output(), /backend for /);
});
