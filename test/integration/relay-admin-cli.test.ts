/**
 * `vmss-mesh relay` as a process: flags, readiness over the admin port, a push, and a graceful
 * stop on SIGTERM (exit 0); configuration errors exit 2 before anything listens.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import { startDouble } from '../helpers/consul-fixtures';
import { endpoint, endpointSet } from '../helpers/relay-inputs';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'vmss-mesh.js');

interface Started {
  readonly child: ChildProcessWithoutNullStreams;
  readonly xds: string;
  readonly admin: string;
  stderr(): string;
}

/** Starts the relay and resolves with the addresses it prints. */
async function startRelayProcess(t: TestContext, args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'relay', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`relay exited with ${code} before listening: ${stderr}`)));
  });
  const m = /^vmss-mesh relay: xDS and push API on (\S+), admin on (\S+)$/.exec(line);
  assert.ok(m, line);
  return { child, xds: m[1]!, admin: m[2]!, stderr: () => stderr };
}

/** Polls another process's /readyz (there is nothing to subscribe to across processes). */
async function waitReady(admin: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${admin}/readyz`);
    if (res.status === 200) return;
    if (Date.now() > deadline) throw new Error(`not ready within ${timeoutMs} ms: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('vmss-mesh relay (process)', { concurrency: true, timeout: 30_000 }, () => {
  test('starts from flags, becomes ready from Consul, takes pushes, stops gracefully on SIGTERM', async (t) => {
    const consul = await startDouble(t);
    const relay = await startRelayProcess(t, ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--token', 'cli-token', '--consul-addr', consul.url, '--coalesce-ms', '5', '--log-level', 'info']);
    await waitReady(relay.admin);
    const push = new GrpcPushClient({ targets: [relay.xds], token: 'cli-token' });
    t.after(() => push.close());
    const [result] = await push.publish([endpointSet('web', 42, [endpoint('10.0.0.1')])], 'cli-test');
    assert.deepEqual(result?.services, [{ service: 'web', outcome: 'created', currentIndex: 42 }]);

    relay.child.kill('SIGTERM');
    const [code] = (await once(relay.child, 'exit')) as [number | null];
    assert.equal(code, 0, relay.stderr());
    const logs = relay.stderr().trim().split('\n').map((l) => JSON.parse(l) as { msg: string });
    assert.ok(logs.some((l) => l.msg === 'ready: serving the mesh loaded from Consul'), relay.stderr());
    assert.equal(logs.at(-1)?.msg, 'relay stopped');
  });

  test('environment settings work too, and flags win over them', async (t) => {
    const consul = await startDouble(t);
    const relay = await startRelayProcess(t, ['--admin-listen', '127.0.0.1:0'], {
      VMSS_MESH_RELAY_LISTEN: '127.0.0.1:0',
      VMSS_MESH_RELAY_ADMIN_LISTEN: '127.0.0.1:1', // overridden by the flag
      VMSS_MESH_RELAY_PUSH_DISABLED: 'true',
      CONSUL_HTTP_ADDR: consul.url,
      VMSS_MESH_LOG_LEVEL: 'warn',
    });
    await waitReady(relay.admin);
    assert.notEqual(relay.admin, 'http://127.0.0.1:1');
    relay.child.kill('SIGINT');
    const [code] = (await once(relay.child, 'exit')) as [number | null];
    assert.equal(code, 0);
  });

  test('configuration errors exit 2 with the setting named', async () => {
    const child = spawn(process.execPath, [BIN, 'relay', '--gateway-routes', 'api.example.com'], { cwd: ROOT, env: { ...process.env, VMSS_MESH_RELAY_TOKEN: 'x' } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 2);
    assert.equal(stderr, 'vmss-mesh relay: configuration error: VMSS_MESH_GATEWAY_ROUTES: rule 1 ("api.example.com"): expected [HOST]/PATH=SERVICE or HOST=SERVICE\n');
  });
});
