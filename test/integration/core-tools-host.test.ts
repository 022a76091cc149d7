/**
 * The `func start` path of the local world, with a stand-in `func` executable (Core Tools cannot
 * be downloaded here): it checks our side of the contract — the staged app folder is the packaged
 * app (host.json, a package.json whose main is the bundle, main.js, proto/; no node_modules, no
 * sources) plus a generated local.settings.json with every app setting, the `start --port N`
 * command line, readiness on /admin/host/status, and the routes used afterwards. And which `func`
 * the sandbox picks: the project's node_modules/.bin/func only with its downloaded binary, then
 * the PATH, then none.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { findFuncBinary } from '../../src/sandbox/find-binary';
import { startLocalWorld, SANDBOX_RESOURCE_GROUP, SANDBOX_SUBSCRIPTION } from '../../src/sandbox/local-world';

const ROOT = path.resolve(__dirname, '../..');
const run = promisify(execFile);

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
for (const f of ['host.json', 'package.json', 'main.js', 'proto/vmss_mesh/relay/v1/push.proto']) {
  if (!fs.existsSync(path.join(process.cwd(), f))) { console.error('missing ' + f); process.exit(4); }
}
for (const f of ['node_modules', 'dist', 'src']) {
  if (fs.existsSync(path.join(process.cwd(), f))) { console.error('unexpected ' + f); process.exit(6); }
}
if (JSON.parse(fs.readFileSync('package.json', 'utf8')).main !== 'main.js') { console.error('package.json main is not main.js'); process.exit(7); }
const values = JSON.parse(fs.readFileSync('local.settings.json', 'utf8')).Values;
if (values.FUNCTIONS_WORKER_RUNTIME !== 'node') process.exit(5);
fs.writeFileSync(${JSON.stringify(path.join(dir, 'seen-settings.json'))}, JSON.stringify(values));
// --app: serve the staged copy checked above, not the repository's dist/functions-app.
const child = spawn(process.execPath, [${JSON.stringify(path.join(ROOT, 'bin/vmss-mesh.js'))}, 'host', '--port', args[2], '--no-timers', '--app', process.cwd()], { env: { ...process.env, ...values }, stdio: ['ignore', 'pipe', 'inherit'] });
let out = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  out += chunk;
  const served = /listening on \\S+ \\(app: (.+)\\)\\n/.exec(out);
  if (served) { fs.writeFileSync(${JSON.stringify(path.join(dir, 'served.json'))}, JSON.stringify({ staged: fs.realpathSync(process.cwd()), app: served[1] })); out = ''; }
});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('exit', (code) => process.exit(code ?? 0));
`,
  );
  chmodSync(fakeFunc, 0o755);

  // The fake func runs the compiled CLI: build it from the current sources (npm test has; a targeted run may not have).
  await run(process.execPath, [path.join(ROOT, 'build/cli.mjs')], { cwd: ROOT, env: { ...process.env, VMSS_MESH_BUILD_QUIET: '1' } });
  const world = await startLocalWorld({ funcBinary: fakeFunc });
  t.after(() => world.close());
  const seen = JSON.parse(readFileSync(path.join(dir, 'seen-settings.json'), 'utf8')) as Record<string, string>;
  assert.equal(seen.VMSS_MESH_ARM_ENDPOINT, world.arm.url);
  assert.equal(seen.CONSUL_HTTP_ADDR, world.consulUrl);
  // The host serves the staged folder func was started in.
  const served = JSON.parse(readFileSync(path.join(dir, 'served.json'), 'utf8')) as { staged: string; app: string };
  assert.ok(realpathSync(served.app).startsWith(served.staged + path.sep), `the host served ${served.app}, not the staged app in ${served.staged}`);

  world.arm.world.createResourceGroup(SANDBOX_SUBSCRIPTION, SANDBOX_RESOURCE_GROUP);
  world.arm.world.createScaleSet({ subscriptionId: SANDBOX_SUBSCRIPTION, resourceGroup: SANDBOX_RESOURCE_GROUP, name: 'web', capacity: 2, tags: { 'vmss-mesh-service': 'web', 'vmss-mesh-port': '8080' } });
  for (const response of await world.deliverPending()) assert.equal(response.status, 202, response.body);
  const status = (await (await fetch(`${world.host.url}/api/status`)).json()) as { totals: { instances: number } };
  assert.equal(status.totals.instances, 2);
});

test('func: the project\'s Core Tools with their downloaded binary, then the PATH, then the local host', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-find-func-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const executable = (file: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, 0o755);
  };
  const project = path.join(dir, 'project');
  const from = path.join(project, 'src', 'sandbox');
  mkdirSync(from, { recursive: true });
  const onPath = path.join(dir, 'path-bin');
  executable(path.join(onPath, 'func'));
  const noPath = { PATH: path.join(dir, 'empty') };

  // Nothing installed, nothing on the PATH: the local host.
  let choice = findFuncBinary({ from, env: noPath });
  assert.equal(choice.binary, undefined);
  assert.match(choice.says, /^the local host .*node_modules\/\.bin\/func absent, no func on the PATH/);
  assert.equal(findFuncBinary({ from, env: { PATH: onPath } }).binary, path.join(onPath, 'func'));

  // The optional dependency is installed but its install script did not download the binary: passed over.
  const pkg = path.join(project, 'node_modules', 'azure-functions-core-tools');
  mkdirSync(path.join(pkg, 'lib'), { recursive: true });
  writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'azure-functions-core-tools', version: '4.13.2' }));
  executable(path.join(pkg, 'lib', 'main.js'));
  const link = path.join(project, 'node_modules', '.bin', 'func');
  mkdirSync(path.dirname(link), { recursive: true });
  symlinkSync('../azure-functions-core-tools/lib/main.js', link);
  choice = findFuncBinary({ from, env: { PATH: onPath } });
  assert.equal(choice.binary, path.join(onPath, 'func'));
  assert.match(choice.says, /on the PATH; .*passed over: azure-functions-core-tools 4\.13\.2 has no downloaded binary/);

  // With its binary it wins over the PATH.
  executable(path.join(pkg, 'bin', 'func'));
  choice = findFuncBinary({ from, env: { PATH: onPath } });
  assert.equal(choice.binary, link);
  assert.equal(choice.binary && 'source' in choice ? choice.source : undefined, 'node_modules');
  assert.match(choice.says, /Core Tools 4\.13\.2 from the optional dependency/);
});
