/** `vmss-mesh sandbox …` as a user runs it: real processes against a control server with a fake world. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';
import { startControlServer } from '../../src/sandbox/control/control-server';
import type { SandboxState } from '../../src/sandbox/sandbox-state';
import { FakeSandboxWorld } from '../helpers/fake-sandbox-world';
import { BIN, runCliInProcess, spawnCli, type CliRun } from '../helpers/cli-run';

const NO_SANDBOX = 'vmss-mesh sandbox: error: no running sandbox found (start one with npm start)\n';

/** The environment of the test without any sandbox pointer, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const { VMSS_MESH_SANDBOX_URL: _ignored, NO_COLOR: _noColor, ...rest } = process.env;
  return { ...rest, ...env };
}

/** Spawns asynchronously: the control server answering the CLI lives in this process. */
function cli(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return spawnCli(['sandbox', ...args], { cwd: options.cwd, env: cleanEnv(options.env ?? {}) });
}

/** The same command in this process (for the many argument cases; spawning each costs ~0.3 s). */
function cliInProcess(args: string[], options: { cwd: string; env?: Record<string, string> }): Promise<CliRun> {
  return runCliInProcess(['sandbox', ...args], { env: options.env ?? {}, cwd: options.cwd });
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vmss-mesh-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A running fake sandbox whose discovery file sits in its own temporary directory. */
async function sandbox(t: TestContext) {
  const dir = await tempDir(t);
  const world = new FakeSandboxWorld();
  t.after(() => world.close());
  const server = await startControlServer({ port: 0, discoveryDir: dir, state: world.state, act: world.act, onChange: world.onChange });
  t.after(() => server.close());
  return { dir, world, url: server.url };
}

const withoutTime = (s: SandboxState) => ({ ...s, generatedAt: '' });

describe('vmss-mesh sandbox status', () => {
  test('--json prints the whole state for scripts (found through the discovery file)', async (t) => {
    const { dir, world } = await sandbox(t);
    const run = await cli(['status', '--json'], { cwd: dir });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(withoutTime(JSON.parse(run.stdout) as SandboxState), withoutTime(world.state()));
  });

  test('without --json: the table, plain when not a terminal (URL from VMSS_MESH_SANDBOX_URL)', async (t) => {
    const { url } = await sandbox(t);
    const run = await cli(['status'], { cwd: await tempDir(t), env: { VMSS_MESH_SANDBOX_URL: url } });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^vmss-mesh sandbox {2}\d\d:\d\d:\d\d\.\d{3} {2}consul: double/);
    assert.match(run.stdout, /\n {2}web_0 +127\.0\.1\.10 +1 +Succeeded\/running +Healthy +passing +███░░░░░░░ +33% +200\n/);
    assert.match(run.stdout, /\nTIMELINE\n\d\d:\d\d:\d\d\.\d{3} sandbox +fake world started\n/);
    assert.doesNotMatch(run.stdout, /\x1b\[/);
  });

  test('no sandbox anywhere: exit 1 with the hint to start one', async (t) => {
    const run = await cli(['status'], { cwd: await tempDir(t) });
    assert.deepEqual(run, { code: 1, stdout: '', stderr: NO_SANDBOX });
  });

  test('--url where nothing listens: exit 1 naming the URL and the socket error', async (t) => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const run = await cli(['status', '--url', `http://127.0.0.1:${port}`], { cwd: await tempDir(t) });
    assert.deepEqual(run, { code: 1, stdout: '', stderr: `vmss-mesh sandbox: error: no running sandbox found at http://127.0.0.1:${port}: ECONNREFUSED (start one with npm start)\n` });
  });

  test('--url at something that is not a sandbox: exit 1, says what answered', async (t) => {
    const other = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<h1>hello</h1>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const run = await cli(['status', '--url', url], { cwd: await tempDir(t) });
    assert.deepEqual(run, { code: 1, stdout: '', stderr: `vmss-mesh sandbox: error: no running sandbox found at ${url}: GET /api/state answered HTTP 200 text/html, not a sandbox's JSON (start one with npm start)\n` });
  });

  test('--watch: the table, then change lines as the sandbox changes, until SIGTERM (exit 0)', async (t) => {
    const { dir, world } = await sandbox(t);
    const child = spawn(process.execPath, [BIN, 'sandbox', 'status', '--watch'], { cwd: dir, env: cleanEnv({}), stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => child.kill('SIGKILL'));
    let output = '';
    const seen = (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${pattern} in:\n${output}`)), 10_000);
        const check = () => {
          if (pattern.test(output)) {
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve();
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    await seen(/web_1 +127\.0\.1\.11/);
    await world.act({ action: 'event-chaos', enabled: true });
    await seen(/\d\d:\d\d:\d\d\.\d{3} event chaos on\n/);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.doesNotMatch(output, /\x1b\[/);
  });
  test('--watch ends with exit 1 when the sandbox goes away', async (t) => {
    const dir = await tempDir(t);
    const world = new FakeSandboxWorld();
    t.after(() => world.close());
    const server = await startControlServer({ port: 0, discoveryDir: null, state: world.state, act: world.act, onChange: world.onChange });
    t.after(() => server.close());
    const stdout = new PassThrough();
    let output = '';
    const firstState = new Promise<void>((resolve) => stdout.setEncoding('utf8').on('data', (c: string) => ((output += c), resolve())));
    const running = runCli(['sandbox', 'status', '--watch', '--url', server.url], { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {}, cwd: dir });
    await firstState;
    await server.close();
    assert.equal(await running, 1);
    assert.match(output, new RegExp(`the sandbox at ${server.url} stopped answering \\(the sandbox closed its event stream\\)\n$`));
  });
});

describe('vmss-mesh sandbox actions', () => {
  test('scale and event-chaos (spawned), fail and heal reach the sandbox and print its answer', async (t) => {
    const { dir, world } = await sandbox(t);
    assert.deepEqual(await cli(['scale', 'web', '3'], { cwd: dir }), { code: 0, stdout: 'web: capacity 2 → 3\n', stderr: '' });
    assert.deepEqual(await cli(['event-chaos', 'on'], { cwd: dir }), { code: 0, stdout: 'event chaos on\n', stderr: '' });
    assert.deepEqual(await cliInProcess(['fail', 'web_0'], { cwd: dir }), { code: 0, stdout: 'web_0 now fails its health probe\n', stderr: '' });
    assert.deepEqual(await cliInProcess(['heal', 'web_0'], { cwd: dir }), { code: 0, stdout: 'web_0 healthy again\n', stderr: '' });
    assert.deepEqual(world.actions, [
      { action: 'scale', scaleSet: 'web', capacity: 3 },
      { action: 'event-chaos', enabled: true },
      { action: 'fail', instance: 'web_0' },
      { action: 'heal', instance: 'web_0' },
    ]);
  });

  test('a refusal (unknown scale set or instance) exits 1 with the sandbox message', async (t) => {
    const { dir } = await sandbox(t);
    assert.deepEqual(await cli(['scale', 'nope', '1'], { cwd: dir }), { code: 1, stdout: '', stderr: 'vmss-mesh sandbox scale: refused: unknown scale set "nope" (known: web, api)\n' });
    assert.deepEqual(await cliInProcess(['heal', 'web_7'], { cwd: dir }), { code: 1, stdout: '', stderr: 'vmss-mesh sandbox heal: refused: unknown instance "web_7"\n' });
    assert.deepEqual(await cliInProcess(['scale', 'web', '3'], { cwd: await tempDir(t) }), { code: 1, stdout: '', stderr: NO_SANDBOX });
  });

  test('usage errors exit 2 and point to --help (no sandbox needed to find them)', async (t) => {
    const cwd = await tempDir(t);
    const usage = (message: string) => ({ code: 2, stdout: '', stderr: `vmss-mesh sandbox: ${message}\nRun \`vmss-mesh sandbox --help\` for usage.\n` });
    assert.deepEqual(await cli(['scale', 'web', 'many'], { cwd }), usage('<n> must be a whole number 0–1000, got "many"'));
    assert.deepEqual(await cli([], { cwd }), usage('missing command (status, scale, fail, fail-half, heal, event-chaos or rollout)'));
    const cases: Array<[string[], string]> = [
      [['reboot', 'web_0'], 'unknown command "reboot" (status, scale, fail, fail-half, heal, event-chaos or rollout)'],
      [['scale', 'web'], 'expected sandbox scale <set> <n>, got 1 argument'],
      [['scale', 'web', '1001'], 'capacity: must be at most 1000'],
      [['fail'], 'expected sandbox fail <instance>, got 0 arguments'],
      [['event-chaos', 'maybe'], 'event-chaos takes on or off, got "maybe"'],
      [['heal', 'web_0', '--json'], '--json and --watch belong to `sandbox status`'],
      [['status', 'extra'], 'expected sandbox status, got 1 argument'],
      [['status', '--json', '--watch'], '--json and --watch cannot be combined'],
    ];
    for (const [args, message] of cases) assert.deepEqual(await cliInProcess(args, { cwd }), usage(message), args.join(' '));
    const unknownFlag = await cliInProcess(['status', '--frobnicate'], { cwd });
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /^vmss-mesh sandbox: Unknown option '--frobnicate'/);
  });

  test('--help prints the usage and exits 0', async (t) => {
    const run = await cli(['--help'], { cwd: await tempDir(t) });
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^Usage: vmss-mesh sandbox <command> \[options\]/);
    assert.match(run.stdout, /event-chaos on\|off/);
  });
});
