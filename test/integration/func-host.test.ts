/**
 * The `func start` path of the local world, with a stand-in `func` executable (Core Tools cannot
 * be installed here): it checks our side of the contract — the staged app folder (host.json,
 * package.json, dist, node_modules, a generated local.settings.json with every app setting), the
 * `start --port N` command line, readiness on /admin/host/status, and the routes used afterwards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';

const ROOT = path.resolve(__dirname, '../..');

test('local world under func start: staged app, generated local.settings.json, same routes', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-fake-func-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fakeFunc = path.join(dir, 'func');
  // Stands in for Core Tools: checks the staged folder, then serves it with the project's local host.
  writeFileSync(
    fakeFunc,
    `#!${process.execPath}
const fs = require('fs'); const path = require('path'); const { spawn } = require('child_process');
const args = process.argv.slice(2);
if (args[0] !== 'start' || args[1] !== '--port') { console.error('unexpected arguments ' + args.join(' ')); process.exit(3); }
for (const f of ['host.json', 'package.json', 'dist/src/functions/index.js', 'node_modules/@azure/functions/package.json']) {
  if (!fs.existsSync(path.join(process.cwd(), f))) { console.error('missing ' + f); process.exit(4); }
}
const values = JSON.parse(fs.readFileSync('local.settings.json', 'utf8')).Values;
if (values.FUNCTIONS_WORKER_RUNTIME !== 'node') process.exit(5);
fs.writeFileSync(${JSON.stringify(path.join(dir, 'seen-settings.json'))}, JSON.stringify(values));
const child = spawn(process.execPath, [${JSON.stringify(path.join(ROOT, 'bin/vmss-mesh.js'))}, 'host', '--port', args[2], '--no-timers'], { env: { ...process.env, ...values }, stdio: 'inherit' });
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
`,
  );
  chmodSync(fakeFunc, 0o755);

  const world = await startLocalWorld({ funcBinary: fakeFunc });
  t.after(() => world.close());
  const seen = JSON.parse(require('fs').readFileSync(path.join(dir, 'seen-settings.json'), 'utf8')) as Record<string, string>;
  assert.equal(seen.VMSS_MESH_ARM_ENDPOINT, world.arm.url);
  assert.equal(seen.CONSUL_HTTP_ADDR, world.consulUrl);

  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web', capacity: 2, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  const status = (await (await fetch(`${world.host.url}/api/status`)).json()) as { totals: { instances: number } };
  assert.equal(status.totals.instances, 2);
});
