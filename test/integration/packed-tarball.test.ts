/**
 * What `npm pack` ships, installed the way a gateway VM installs the relay: the tarball goes into
 * an empty folder with production dependencies only (no dev, no optional: Core Tools are for the
 * sandbox), and from there the compiled CLI runs `relay` (serves ADS, answers /readyz), `bootstrap
 * envoy`, `events explain` and `reconcile --dry-run` (against an ARM emulator and a Consul double). Nothing in the installed tree compiles TypeScript (no tsx, no
 * TypeScript sources), and the tarball holds only what runs (bin/, dist/cli/, proto/).
 *
 * The install may reach the npm registry (CI can); it prefers the local npm cache, so on a
 * machine that ran `npm ci` it takes about 20 s.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { envoyBootstrap } from '../../src/cli/bootstrap';
import { GrpcPushClient } from '../../src/relay/push/push-client';
import { startArmEmulator } from '../../src/sandbox/arm-emulator';
import { startDouble } from '../helpers/consul-fixtures';
import { nodeFor, RawAdsClient } from '../helpers/raw-ads-client';
import { endpoint, endpointSet } from '../helpers/relay-inputs';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
/** Packed size well above today's (about 210 KB) but far below a tarball that carries sources or tests. */
const MAX_PACKED_BYTES = 1024 * 1024;
const SHIPPED = [/^bin\/vmss-mesh\.js$/, /^dist\/cli\/[^/]+\.js$/, /^proto\/.+\.proto$/, /^package\.json$/, /^README\.md$/, /^LICENSE$/];

interface PackedFile {
  readonly path: string;
  readonly size: number;
}
interface PackResult {
  readonly filename: string;
  readonly size: number;
  readonly entryCount: number;
  readonly files: readonly PackedFile[];
}

/** npm pack --json's report: the JSON array at the end of stdout (lifecycle scripts may print before it). */
function packJson(stdout: string): PackResult[] {
  const start = stdout.search(/^\[/m);
  assert.ok(start >= 0, `no JSON array in npm pack's output: ${stdout.slice(0, 2000)}`);
  return JSON.parse(stdout.slice(start)) as PackResult[];
}

let work = '';
let packed: PackResult;
/** The folder the tarball is installed into; its CLI is node_modules/.bin/vmss-mesh. */
let app = '';
let cli = '';

/** Runs the installed CLI from the install folder with an environment that cannot reach the checkout. */
function installedCli(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [cli, ...args], { cwd: app, env: { ...cleanEnv(), ...env }, maxBuffer: 8 * 1024 * 1024 });
}

function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, LANG: 'C' };
  // No NODE_OPTIONS (the test runner's --import tsx must not reach the installed CLI).
  return env;
}

describe('the packed tarball, installed with production dependencies only', { timeout: 240_000 }, () => {
  before(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-tarball-'));
    // Compile the CLI from the current sources (npm test has done it already; a targeted run may not have).
    await run(process.execPath, [path.join(ROOT, 'build/cli.mjs')], { cwd: ROOT, env: { ...process.env, VMSS_MESH_BUILD_QUIET: '1' } });
    // npm pack runs `prepack` (build/cli.mjs), whose output shares npm's stdout: the build is told to
    // be quiet, and the JSON is read from its first '[' anyway, whatever a script prints before it.
    const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT, env: { ...process.env, VMSS_MESH_BUILD_QUIET: '1' }, maxBuffer: 8 * 1024 * 1024 });
    [packed] = packJson(stdout);
    assert.ok(packed, stdout);
    app = path.join(work, 'app');
    mkdirSync(app);
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'relay-host', private: true }));
    const started = Date.now();
    await run(NPM, ['install', '--omit=dev', '--omit=optional', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', path.join(work, packed.filename)], {
      cwd: app,
      timeout: 180_000,
      maxBuffer: 8 * 1024 * 1024,
    });
    process.stdout.write(`tarball ${packed.filename}: ${packed.entryCount} files, ${(packed.size / 1024).toFixed(0)} KB; installed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    cli = path.join(app, 'node_modules/.bin/vmss-mesh');
  });
  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('ships only what runs: the bin, the compiled CLI and the protos', () => {
    const names = packed.files.map((file) => file.path).sort();
    const unexpected = names.filter((name) => !SHIPPED.some((pattern) => pattern.test(name)));
    assert.deepEqual(unexpected, [], `files the tarball should not carry: ${unexpected.join(', ')}`);
    for (const needed of ['bin/vmss-mesh.js', 'dist/cli/vmss-mesh.js', 'proto/vmss_mesh/relay/v1/push.proto', 'proto/grpc/health/v1/health.proto']) assert.ok(names.includes(needed), `${needed} is missing from ${names.join(', ')}`);
    assert.ok(packed.size < MAX_PACKED_BYTES, `tarball is ${packed.size} bytes`);
  });

  test('nothing in the installed tree compiles TypeScript', () => {
    const modules = path.join(app, 'node_modules');
    for (const name of ['tsx', 'typescript', 'esbuild']) assert.equal(existsSync(path.join(modules, name)), false, `${name} was installed with the production dependencies`);
    assert.equal(existsSync(path.join(modules, 'vmss-mesh/src')), false);
    const manifest = JSON.parse(readFileSync(path.join(modules, 'vmss-mesh/package.json'), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(manifest.dependencies.tsx, undefined, 'tsx must be a devDependency');
  });

  test('events explain reads a fixture delivery', async () => {
    const { stdout } = await installedCli(['events', 'explain', path.join(ROOT, 'test/fixtures/events/eventgrid-scale-out-batch.json')]);
    const report = JSON.parse(stdout) as { input: string; events: Array<{ action: string; scaleSet?: string; reason: string }> };
    assert.equal(report.input, 'eventgrid');
    assert.equal(report.events[0]?.action, 'reconcile');
    assert.match(report.events[0]?.scaleSet ?? '', /virtualmachinescalesets\/vmss-web$/);
    assert.equal(report.events[2]?.reason, 'not-vmss');
  });

  // The sources' bootstrap is checked strictly against Envoy's protos in test/integration/bootstrap-cli.test.ts.
  test('bootstrap envoy prints the bootstrap the sources build', async () => {
    const { stdout } = await installedCli(['bootstrap', 'envoy', '--relay', '10.1.0.4:18000', '--node-id', 'gw-1', '--zone', '2']);
    const printed = JSON.parse(stdout) as Record<string, unknown>;
    assert.deepEqual(printed, envoyBootstrap({ relay: '10.1.0.4:18000', nodeId: 'gw-1', cluster: 'vmss-mesh-gateway', zone: '2' }));
    assert.equal((printed.dynamic_resources as { ads_config?: { api_type?: string } }).ads_config?.api_type, 'DELTA_GRPC');
  });

  test('reconcile --dry-run plans against ARM and Consul and writes nothing', async (t) => {
    const arm = await startArmEmulator({ token: 'tarball-token' });
    t.after(() => arm.close());
    const consul = await startDouble(t);
    const caFile = path.join(work, 'arm-ca.pem');
    writeFileSync(caFile, arm.caPem);
    const subscription = '00000000-0000-4000-8000-0000000000d1';
    arm.world.createResourceGroup(subscription, 'rg-tarball');
    arm.world.createScaleSet({ subscriptionId: subscription, resourceGroup: 'rg-tarball', name: 'api', capacity: 2, tags: { 'vmss-mesh-service': 'api', 'vmss-mesh-port': '9090' } });
    arm.world.flush();
    const index = consul.state.index;
    const env = { VMSS_MESH_SUBSCRIPTIONS: subscription, VMSS_MESH_ARM_ENDPOINT: arm.url, VMSS_MESH_ARM_TOKEN: 'tarball-token', VMSS_MESH_ARM_CA_FILE: caFile, CONSUL_HTTP_ADDR: consul.url };
    // Exit 3: changes planned (execFile rejects every exit code but 0).
    const failed = await installedCli(['reconcile', '--all', '--dry-run', '--json'], env).then(
      () => assert.fail('reconcile --dry-run exited 0 with two instances to register'),
      (error: { code?: number; stdout?: string; stderr?: string }) => error,
    );
    assert.equal(failed.code, 3, failed.stderr);
    const plan = JSON.parse(failed.stdout ?? '') as { dryRun: boolean; totals: { register: number }; scaleSets: Array<{ outcome: string }> };
    assert.equal(plan.dryRun, true);
    assert.equal(plan.totals.register, 2);
    assert.deepEqual(plan.scaleSets.map((s) => s.outcome), ['planned']);
    assert.equal(consul.state.index, index, 'the dry run wrote nothing');
    assert.deepEqual(consul.state.requests.filter((r) => r.method !== 'GET'), []);
  });

  test('relay: ready from Consul, takes a push and serves it over ADS', async (t) => {
    const consul = await startDouble(t);
    const relay = await startInstalledRelay(t, ['--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--token', 'tarball-token', '--consul-addr', consul.url, '--coalesce-ms', '5']);
    await waitReady(relay.admin);

    const push = new GrpcPushClient({ targets: [relay.xds], token: 'tarball-token' });
    t.after(() => push.close());
    const [result] = await push.publish([endpointSet('web', 7, [endpoint('10.0.0.9')])], 'tarball-test');
    assert.deepEqual(result?.services, [{ service: 'web', outcome: 'created', currentIndex: 7 }]);

    const client = new RawAdsClient(relay.xds);
    t.after(() => client.close());
    const stream = client.sotw(nodeFor('proxyless-grpc', 'tarball-client'));
    t.after(() => stream.cancel());
    stream.send({ kind: 'cluster', names: ['web'] });
    const clusters = await stream.next(10_000);
    assert.deepEqual(clusters.names, ['web']);
    stream.ack(clusters, ['web']);
    stream.send({ kind: 'endpoint', names: ['web'] });
    const endpoints = await stream.next(10_000);
    assert.deepEqual(endpoints.names, ['web']);

    relay.child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => relay.child.once('exit', (exitCode) => resolve(exitCode)));
    assert.equal(code, 0, relay.stderr());
  });
});

interface RunningRelay {
  readonly child: ChildProcessWithoutNullStreams;
  readonly xds: string;
  readonly admin: string;
  stderr(): string;
}

async function startInstalledRelay(t: TestContext, args: readonly string[]): Promise<RunningRelay> {
  const child = spawn(process.execPath, [cli, 'relay', ...args], { cwd: app, env: cleanEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0] ?? '');
    });
    child.once('exit', (code) => reject(new Error(`the installed relay exited with ${code} before listening: ${stderr}`)));
  });
  const match = /^vmss-mesh relay: xDS and push API on (\S+), admin on (\S+)$/.exec(line);
  assert.ok(match, line);
  return { child, xds: match[1] ?? '', admin: match[2] ?? '', stderr: () => stderr };
}

/** Polls the relay's /readyz (another process: nothing to subscribe to). */
async function waitReady(admin: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${admin}/readyz`);
    if (response.status === 200) return;
    if (Date.now() > deadline) throw new Error(`the installed relay was not ready within ${timeoutMs} ms: ${response.status} ${await response.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
