/**
 * `vmss-mesh reconcile` against the ARM emulator and the Consul double: a dry run prints the plan a
 * real run then applies (item for item, and Consul changes exactly as the items say), the dry run
 * writes nothing (the double's index and world stay the same, and it saw only GETs), exit codes and
 * messages for bad input, `--settings`, and the command from the compiled bundle.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { runCli } from '../../src/cli/main';
import type { ReconcileOutput } from '../../src/cli/reconcile-report';
import { startArmEmulator, type ArmEmulator } from '../../src/sandbox/arm-emulator';
import { startConsulDouble, type ConsulDouble } from '../../src/sandbox/consul-double';
import { ROOT, runCliInProcess, spawnCli as spawnLauncher, type CliRun } from '../helpers/cli-run';
import { startFakeRelay } from '../helpers/fake-relay';

const SUBSCRIPTION = '00000000-0000-4000-8000-0000000000c1';
const GROUP = 'rg-cli';
const TOKEN = 'cli-token';
const TAGS = { 'vmss-mesh-service': 'api', 'vmss-mesh-port': '9090', 'vmss-mesh-protocol': 'grpc' };

const cli = (args: readonly string[], env: Record<string, string>, cwd = ROOT): Promise<CliRun> => runCliInProcess(['reconcile', ...args], { env, cwd });

function parsed(run: CliRun): ReconcileOutput {
  assert.equal(run.stderr, '', `stderr: ${run.stderr}`);
  return JSON.parse(run.stdout) as ReconcileOutput;
}

interface World {
  readonly arm: ArmEmulator;
  readonly consul: ConsulDouble;
  readonly env: Record<string, string>;
  readonly dir: string;
  id(name: string): string;
}

async function startWorld(t: TestContext): Promise<World> {
  const dir = await mkdtemp(path.join(tmpdir(), 'vmss-mesh-reconcile-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const arm = await startArmEmulator({ token: TOKEN });
  t.after(() => arm.close());
  const consul = await startConsulDouble();
  t.after(() => consul.close());
  const caFile = path.join(dir, 'arm-ca.pem');
  await writeFile(caFile, arm.caPem);
  arm.world.createResourceGroup(SUBSCRIPTION, GROUP);
  return {
    arm,
    consul,
    dir,
    env: {
      VMSS_MESH_SUBSCRIPTIONS: SUBSCRIPTION,
      VMSS_MESH_RESOURCE_GROUPS: GROUP,
      VMSS_MESH_ARM_ENDPOINT: arm.url,
      VMSS_MESH_ARM_TOKEN: TOKEN,
      VMSS_MESH_ARM_CA_FILE: caFile,
      CONSUL_HTTP_ADDR: consul.url,
    },
    id: (name) => `/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.Compute/virtualMachineScaleSets/${name}`,
  };
}

const selector = (name: string) => ({ subscriptionId: SUBSCRIPTION, resourceGroup: GROUP, name });

/** What a plan says per scale set, without timings and ARM call counts. */
function plans(output: ReconcileOutput) {
  return output.scaleSets.map((s) => ({ scaleSetId: s.scaleSetId, counts: s.counts, items: s.items }));
}

/** The X-Consul-Index Consul answers a read with. */
async function consulIndex(url: string): Promise<number> {
  const res = await fetch(`${url}/v1/catalog/nodes`);
  await res.arrayBuffer();
  return Number(res.headers.get('x-consul-index'));
}

test('reconcile --dry-run prints the plan a real run then applies, and writes nothing', async (t) => {
  const world = await startWorld(t);
  const { arm } = world;
  const relay = await startFakeRelay('relay-token');
  t.after(() => relay.close());
  const env = { ...world.env, VMSS_MESH_RELAY_ADDRESSES: relay.address, VMSS_MESH_RELAY_TOKEN: 'relay-token' };
  arm.world.createScaleSet({ ...selector('api'), capacity: 3, tags: TAGS });
  arm.world.createScaleSet({ ...selector('web'), capacity: 2, tags: { ...TAGS, 'vmss-mesh-service': 'web' }, lifecycle: { drainMs: 3_600_000 } });
  arm.world.createScaleSet({ ...selector('idle'), capacity: 1, tags: { ...TAGS, 'vmss-mesh-service': 'idle' } });
  // Two Flexible scale sets of one resource group: the sweep lists them together (one NIC listing).
  for (const name of ['flex-a', 'flex-b']) arm.world.createScaleSet({ ...selector(name), capacity: 1, orchestrationMode: 'Flexible', tags: { ...TAGS, 'vmss-mesh-service': 'flex' } });
  arm.world.flush();

  const first = parsed(await cli(['--all', '--json'], env));
  assert.equal(first.exitCode, 3);
  assert.deepEqual(first.totals, { scaleSets: 5, register: 8, update: 0, deregister: 0, skip: 0, failed: 0 });

  // ARM moves on: api gains an instance, loses one, and one stops; flex-a gains one; web gains one
  // that is deleted before anyone registered it (it stays Deleting for an hour); idle and flex-b
  // do not change.
  arm.world.scale(selector('flex-a'), 2);
  const apiBefore = arm.world.listInstances(selector('api')).map((i) => i.instanceId);
  arm.world.scale(selector('api'), 4);
  arm.world.flush();
  arm.world.deleteInstances(selector('api'), [apiBefore[1]!]);
  arm.world.setPowerState(selector('api'), apiBefore[0]!, 'stopped');
  arm.world.flush();
  const webBefore = new Set(arm.world.listInstances(selector('web')).map((i) => i.instanceId));
  arm.world.scale(selector('web'), 3);
  arm.world.flush();
  const webNew = arm.world.listInstances(selector('web')).find((i) => !webBefore.has(i.instanceId))!;
  arm.world.deleteInstances(selector('web'), [webNew.instanceId]); // no flush: it stays Deleting

  const worldBefore = world.consul.state.snapshot();
  const indexBefore = world.consul.state.index;
  const headerIndexBefore = await consulIndex(world.consul.url);
  world.consul.state.clearRequests();
  const pushesBefore = relay.requests.length;

  const dryText = await cli(['--all', '--dry-run'], env);
  const dryRun = await cli(['--all', '--dry-run', '--json'], env);
  const dry = parsed(dryRun);

  // (b) Nothing was written: not a claim, not a marker, not a catalog entry.
  const requests = world.consul.state.requests;
  assert.ok(requests.length > 0, 'the dry runs read Consul');
  assert.deepEqual(requests.filter((r) => r.method !== 'GET'), [], 'the dry runs sent only GETs');
  assert.equal(world.consul.state.index, indexBefore);
  assert.equal(await consulIndex(world.consul.url), headerIndexBefore);
  assert.deepEqual(world.consul.state.snapshot(), worldBefore);
  assert.equal(relay.requests.length, pushesBefore, 'the dry runs pushed nothing to the relay');

  // The document's field names are its contract.
  assert.deepEqual(Object.keys(dry).sort(), ['changes', 'dryRun', 'exitCode', 'scaleSets', 'scope', 'skippedScaleSets', 'totals']);
  assert.deepEqual(Object.keys(dry.scaleSets[0]!).sort(), ['armCalls', 'counts', 'durationMs', 'instances', 'items', 'outcome', 'scaleSetId']);
  assert.deepEqual(
    dry.scaleSets[0]!.items.map((i) => Object.keys(i).sort().join()),
    ['action,address,code,instanceResourceId,node,reason,services', 'action,address,changes,code,instanceResourceId,node,reason,services', 'action,address,code,instanceResourceId,node,reason'],
  );
  assert.equal(dry.dryRun, true);
  assert.equal(dry.exitCode, 3);
  assert.equal(dryRun.code, 3);
  assert.equal(dry.changes, true);
  const api = dry.scaleSets.find((s) => s.scaleSetId.endsWith('/api'))!;
  assert.equal(api.outcome, 'planned');
  assert.deepEqual(api.counts, { register: 1, update: 1, deregister: 1, skip: 0 });
  assert.deepEqual(api.items.map((i) => [i.action, i.code]), [['register', 'absent-from-consul'], ['update', 'changed'], ['deregister', 'gone']]);
  assert.match(api.items[1]!.reason, /^changed: .*check passing → critical/);
  const web = dry.scaleSets.find((s) => s.scaleSetId.endsWith('/web'))!;
  assert.equal(web.outcome, 'unchanged');
  assert.deepEqual(web.items.map((i) => [i.action, i.code]), [['skip', 'deleting']]);
  assert.equal(dry.scaleSets.find((s) => s.scaleSetId.endsWith('/idle'))?.outcome, 'unchanged');
  assert.deepEqual(dry.scaleSets.find((s) => s.scaleSetId.endsWith('/flex-a'))?.items.map((i) => [i.action, i.code]), [['register', 'absent-from-consul']]);
  assert.equal(dry.scaleSets.find((s) => s.scaleSetId.endsWith('/flex-b'))?.outcome, 'unchanged');
  assert.equal(dry.kvCleanup, undefined, 'a dry run runs no KV cleanup');

  assert.equal(dryText.code, 3);
  assert.match(dryText.stdout, /^Dry run: the plan only; nothing was written/);
  assert.match(dryText.stdout, /\n {2}planned: \+1 register, ~1 update, -1 deregister, 0 skipped \(3 instances listed, \d+ ARM calls\)\n/);
  for (const action of ['register', 'update', 'deregister', 'skip']) assert.match(dryText.stdout, new RegExp(`\\n {2}${action} +\\S+ `), `a ${action} line`);
  assert.match(dryText.stdout, /\nTotal: 5 scale sets: \+2 ~1 -1, 1 skipped, 0 failed; changes planned \(exit 3\)\n$/);

  // (a) The real run applies exactly that plan…
  const real = parsed(await cli(['--all', '--json'], env));
  assert.equal(real.exitCode, 3);
  assert.equal(real.dryRun, false);
  assert.deepEqual(plans(real), plans(dry));
  assert.deepEqual(real.scaleSets.map((s) => s.outcome), dry.scaleSets.map((s) => (s.outcome === 'planned' ? 'applied' : s.outcome)));
  assert.equal(real.kvCleanup?.ok, true);
  // The real run pushed what changed: api and flex (web, idle and flex-b did not change).
  assert.deepEqual(relay.requests.slice(pushesBefore).flatMap((r) => r.services.map((set) => set.service)).sort(), ['api', 'flex']);
  assert.deepEqual(real.scaleSets.map((set) => set.changedServices ?? []), [['api'], ['flex'], [], [], []]);

  // …and Consul changed as the items say: registered nodes appeared, deregistered ones left, the
  // updated one's check moved; no other node was touched.
  const after = world.consul.state.snapshot();
  const names = (snapshot: typeof after) => new Set(snapshot.nodes.map((n) => n.node));
  const [beforeNames, afterNames] = [names(worldBefore), names(after)];
  const items = dry.scaleSets.flatMap((s) => s.items);
  const nodesOf = (action: string) => items.filter((i) => i.action === action).map((i) => i.node).sort();
  assert.deepEqual([...afterNames].filter((n) => !beforeNames.has(n)).sort(), nodesOf('register'));
  assert.deepEqual([...beforeNames].filter((n) => !afterNames.has(n)).sort(), nodesOf('deregister'));
  const checkIndex = (snapshot: typeof after, node: string) => snapshot.checks.filter((c) => c.node === node).map((c) => `${c.checkId}@${c.modifyIndex}`).join();
  const touched = [...beforeNames].filter((n) => afterNames.has(n) && checkIndex(worldBefore, n) !== checkIndex(after, n)).sort();
  assert.deepEqual(touched, nodesOf('update'));
  assert.equal(after.checks.find((c) => c.node === nodesOf('update')[0] && c.status === 'critical')?.node, nodesOf('update')[0]);

  // Planned again: nothing to change (the deleting instance stays skipped).
  const again = await cli(['--all', '--dry-run'], env);
  assert.equal(again.code, 0, again.stdout + again.stderr);
  assert.match(again.stdout, /; nothing to change \(exit 0\)\n$/);
  const one = parsed(await cli([world.id('API'), '--dry-run', '--json'], env));
  assert.equal(one.exitCode, 0);
  assert.deepEqual(one.scaleSets.map((s) => [s.scaleSetId, s.outcome]), [[world.id('api').toLowerCase(), 'unchanged']]);
});

test('reconcile --dry-run of a deleted scale set, one that left the mesh and one ARM cannot list: the plan the real run applies, exit 1', async (t) => {
  const world = await startWorld(t);
  const { arm } = world;
  arm.world.createScaleSet({ ...selector('old'), capacity: 2, tags: TAGS });
  arm.world.createScaleSet({ ...selector('left'), capacity: 2, tags: { ...TAGS, 'vmss-mesh-service': 'left' } });
  arm.world.createScaleSet({ ...selector('flaky'), capacity: 1, tags: { ...TAGS, 'vmss-mesh-service': 'flaky' } });
  arm.world.flush();
  assert.equal(parsed(await cli(['--all', '--json'], world.env)).totals.register, 5);

  arm.world.deleteScaleSet(selector('old'));
  arm.world.flush();
  arm.world.setTags(selector('left'), { owner: 'someone-else' });
  // Listing flaky's instances is throttled past the retry budget: its listing is unknown.
  arm.faults.throttle(1000, { retryAfterSeconds: 600, pathIncludes: '/flaky/virtualMachines' });

  const before = world.consul.state.snapshot();
  world.consul.state.clearRequests();
  const dryRun = await cli(['--all', '--dry-run', '--json'], world.env);
  assert.equal(dryRun.code, 1, dryRun.stdout);
  const dry = parsed(dryRun);
  assert.deepEqual(world.consul.state.requests.filter((r) => r.method !== 'GET'), []);
  assert.deepEqual(world.consul.state.snapshot(), before);
  const byName = (output: ReconcileOutput, name: string) => output.scaleSets.find((s) => s.scaleSetId.endsWith(`/${name}`))!;
  assert.equal(byName(dry, 'old').outcome, 'planned');
  assert.deepEqual(byName(dry, 'old').items.map((i) => [i.action, i.code]), [['deregister', 'gone'], ['deregister', 'gone']]);
  assert.deepEqual(byName(dry, 'left').items.map((i) => [i.action, i.code]), [['deregister', 'out-of-scope'], ['deregister', 'out-of-scope']]);
  assert.equal(byName(dry, 'flaky').outcome, 'unknown');
  assert.match(byName(dry, 'flaky').detail ?? '', /flaky/);

  const real = parsed(await cli(['--all', '--json'], world.env));
  assert.equal(real.exitCode, 1);
  assert.deepEqual(plans(real), plans(dry));
  const left = new Set(world.consul.state.snapshot().nodes.map((n) => n.node));
  for (const item of [...byName(dry, 'old').items, ...byName(dry, 'left').items]) assert.equal(left.has(item.node), false, `${item.node} was deregistered`);
  assert.equal(world.consul.state.snapshot().nodes.length, 1, "flaky's node stays (unknown is not empty)");

  arm.faults.clear();
  const healed = await cli(['--all', '--dry-run'], world.env);
  assert.equal(healed.code, 0, healed.stdout);
});

test('reconcile: usage and configuration errors exit 2 with a clear message', async (t) => {
  const world = await startWorld(t);
  const id = world.id('api');
  const cases: Array<{ args: string[]; env?: Record<string, string>; message: string | RegExp }> = [
    { args: [], message: 'vmss-mesh reconcile: name the scale sets to reconcile (their resource IDs), or --all for every one in scope\nRun `vmss-mesh reconcile --help` for usage.\n' },
    { args: ['--all', '--bogus'], message: /^vmss-mesh reconcile: Unknown option '--bogus'/ },
    { args: [id, '--all'], message: /^vmss-mesh reconcile: give scale set resource IDs or --all, not both\n/ },
    { args: ['vmss-api'], message: /^vmss-mesh reconcile: not a scale set resource ID: "vmss-api" \(.*\); expected \/subscriptions\/<id>\/resourceGroups\/<group>\/providers\/Microsoft.Compute\/virtualMachineScaleSets\/<name>\n/ },
    { args: [`/subscriptions/${SUBSCRIPTION}/resourceGroups/${GROUP}/providers/Microsoft.Network/loadBalancers/lb`], message: /^vmss-mesh reconcile: not a scale set resource ID: ".*loadBalancers\/lb" \(not a virtual machine scale set/ },
    { args: [`${id}/virtualMachines/3`], message: `vmss-mesh reconcile: not a scale set resource ID: "${id}/virtualMachines/3" names something inside scale set ${id.toLowerCase()}; pass the scale set's ID\nRun \`vmss-mesh reconcile --help\` for usage.\n` },
    { args: [id.replace(GROUP, 'rg-elsewhere')], message: /^vmss-mesh reconcile: \/subscriptions\/.*\/rg-elsewhere\/.*\/api is outside the app's scope \(subscriptions: .*; resource groups: rg-cli\): the app never reconciles it from an event\n/ },
    { args: [id], env: {}, message: 'vmss-mesh reconcile: configuration error: VMSS_MESH_SUBSCRIPTIONS: at least one subscription ID is required\n' },
    { args: [id, '--settings', 'missing.json'], message: /^vmss-mesh reconcile: --settings .*missing\.json: ENOENT/ },
  ];
  for (const c of cases) {
    const run = await cli(c.args, c.env ?? world.env, world.dir);
    assert.equal(run.code, 2, `${c.args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stdout, '');
    if (typeof c.message === 'string') assert.equal(run.stderr, c.message);
    else assert.match(run.stderr, c.message);
  }
  assert.deepEqual(world.consul.state.requests, [], 'bad input never reaches Consul');

  const help = await cli(['--help'], {});
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: vmss-mesh reconcile \(SCALE_SET_ID \.\.\. \| --all\) \[options\]/);
  assert.match(help.stdout, /\n {2}0 {2}nothing to change .*\n {2}1 {2}a scale set could not be reconciled .*\n {2}2 {2}usage or configuration error .*\n {2}3 {2}changes planned \(dry run\) \/ changes applied\n$/);
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  assert.match(readme, /\n\| `reconcile \(SCALE_SET_ID \.\.\. \\\| --all\) \[--dry-run\] \[--json\] \[--settings FILE\]` \| .*exit 0 nothing to change, 1 a scale set could not be reconciled, 2 usage or configuration error, 3 changes planned \/ applied \|\n/);
  const top = await runCliHelp();
  assert.match(top, /\n {2}reconcile +Reconcile the given scale sets \(or --all\)/);
});

async function runCliHelp(): Promise<string> {
  const stdout = new PassThrough();
  let out = '';
  stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  await runCli(['--help'], { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {}, cwd: ROOT });
  return out;
}

test('reconcile: settings from --settings, an unknown scale set exits 0, Consul unreachable exits 1', async (t) => {
  const world = await startWorld(t);
  world.arm.world.createScaleSet({ ...selector('api'), capacity: 2, tags: TAGS });
  world.arm.world.flush();
  // The file holds every setting; the environment's CONSUL_HTTP_ADDR wins over the file's (as with func start).
  const file = path.join(world.dir, 'local.settings.json');
  await writeFile(file, JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', ...world.env, CONSUL_HTTP_ADDR: 'http://127.0.0.1:1' } }));
  const viaFileRun = await cli([world.id('api'), '--dry-run', '--json', '--settings', 'local.settings.json'], { CONSUL_HTTP_ADDR: world.consul.url }, world.dir);
  assert.equal(viaFileRun.stderr, 'vmss-mesh reconcile: CONSUL_HTTP_ADDR is taken from the environment, not from local.settings.json\n');
  const viaFile = parsed({ ...viaFileRun, stderr: '' });
  assert.equal(viaFile.exitCode, 3);
  assert.deepEqual(viaFile.totals, { scaleSets: 1, register: 2, update: 0, deregister: 0, skip: 0, failed: 0 });

  const ghost = parsed(await cli([world.id('ghost'), '--dry-run', '--json'], world.env));
  assert.equal(ghost.exitCode, 0);
  assert.deepEqual(ghost.scaleSets.map((s) => [s.outcome, s.detail]), [['not-in-mesh', 'scale set not found in ARM']]);

  const index = world.consul.state.index;
  const closed = await startConsulDouble();
  await closed.close();
  const down = await cli([world.id('api')], { ...world.env, CONSUL_HTTP_ADDR: closed.url });
  assert.equal(down.code, 1, down.stdout + down.stderr);
  assert.match(down.stdout, /\n {2}failed: \+0 register, ~0 update, -0 deregister, 0 skipped\n {2}error: .*\n/);
  assert.match(down.stdout, /\nTotal: 1 scale set: \+0 ~0 -0, 0 skipped, 1 failed; not everything could be reconciled \(exit 1\)\n$/);
  assert.equal(world.consul.state.index, index, 'nothing was written');

  // A real run is refused when the environment overrides the file with another value: a shell
  // exporting another deployment's Consul (or ARM) must not mix with the file's ARM (or Consul).
  const requests = world.consul.state.requests.length;
  const refused = await cli(['--all', '--settings', 'local.settings.json'], { CONSUL_HTTP_ADDR: world.consul.url }, world.dir);
  assert.equal(refused.code, 2, refused.stdout + refused.stderr);
  assert.equal(refused.stdout, '');
  assert.equal(
    refused.stderr,
    'vmss-mesh reconcile: configuration error: CONSUL_HTTP_ADDR is set in the environment to another value than in local.settings.json; ' +
      'a real run with --settings refuses to mix the two (ARM or Consul of one deployment with the other\'s): unset it (or make it equal), or pass --dry-run\n',
  );
  const refusedTwo = await cli([world.id('api'), '--json', '--settings', 'local.settings.json'], { VMSS_MESH_ARM_TOKEN: 'other', CONSUL_HTTP_ADDR: world.consul.url, VMSS_MESH_SUBSCRIPTIONS: SUBSCRIPTION }, world.dir);
  assert.equal(refusedTwo.code, 2, refusedTwo.stdout + refusedTwo.stderr);
  assert.match(refusedTwo.stderr, /^vmss-mesh reconcile: configuration error: CONSUL_HTTP_ADDR, VMSS_MESH_ARM_TOKEN are set in the environment to another value than in local\.settings\.json; .*: unset them \(or make them equal\), or pass --dry-run\n$/);
  assert.equal(world.consul.state.requests.length, requests, 'a refused run never reaches Consul');
  assert.equal(world.consul.state.index, index);

  // Equal values are no conflict: the real run applies with the file's settings, silently.
  await writeFile(file, JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', ...world.env } }));
  const agreeing = await cli([world.id('api'), '--json', '--settings', 'local.settings.json'], { CONSUL_HTTP_ADDR: world.consul.url, VMSS_MESH_ARM_TOKEN: '' }, world.dir);
  const applied = parsed(agreeing);
  assert.equal(applied.exitCode, 3);
  assert.deepEqual(applied.totals, { scaleSets: 1, register: 2, update: 0, deregister: 0, skip: 0, failed: 0 });
  assert.ok(world.consul.state.index > index, 'the real run wrote');
});

test('reconcile from the compiled CLI (dist/cli/vmss-mesh.js through bin/vmss-mesh.js)', async (t) => {
  const world = await startWorld(t);
  world.arm.world.createScaleSet({ ...selector('api'), capacity: 2, tags: TAGS });
  world.arm.world.flush();
  await promisify(execFile)(process.execPath, [path.join(ROOT, 'build/cli.mjs')], { cwd: ROOT, env: { ...process.env, VMSS_MESH_BUILD_QUIET: '1' } });
  const index = world.consul.state.index;
  const bundled = await spawnCli(['reconcile', '--all', '--dry-run', '--json'], world.env);
  assert.equal(bundled.code, 3, bundled.stderr);
  assert.equal(world.consul.state.index, index);
  const fromSources = parsed(await cli(['--all', '--dry-run', '--json'], world.env));
  assert.deepEqual(plans(parsed(bundled)), plans(fromSources));
  const usage = await spawnCli(['reconcile', 'nope'], world.env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^vmss-mesh reconcile: not a scale set resource ID: "nope"/);
});

/** The installed command's way in, in another process (the emulator and the double live in this one). */
function spawnCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  return spawnLauncher(args, { env: { PATH: process.env.PATH ?? '', ...env } });
}
