/**
 * The deployable Functions app (build/functions-app.mjs, `npm run package`), built into temporary
 * folders: exactly the expected files, a package.json whose main is the bundle, a zip with the
 * same bytes and host.json at its root within the size budget, the same bytes from a second build,
 * nothing required from outside the package but Node's built-ins and `@azure/functions-core`, the
 * four functions registered by a fresh process, and vendor.js left unread until the first
 * invocation builds the runtime.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { unzipSync } from 'fflate';

const ROOT = path.resolve(__dirname, '../..');
const BUILD = path.join(ROOT, 'build/functions-app.mjs');
/** The `@azure/functions-core` stand-in the fresh processes load the app with (shared with bench/cold-load.js). */
const CORE_STUB = path.join(ROOT, 'bench/functions-core-stub.js');
const EXPECTED_FILES = ['azure-monitor.js', 'azure-monitor.js.map', 'host.json', 'main.js', 'main.js.map', 'package.json', 'proto/vmss_mesh/relay/v1/push.proto', 'vendor.js', 'vendor.js.map'];
const FUNCTIONS = ['vmssEvents', 'autoscaleWebhook', 'reconcileTimer', 'status'];
const MAX_ZIP_BYTES = 5 * 1024 * 1024;
const run = promisify(execFile);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/'))
    .sort();
}

/** Builds into `out`; resolves with what the build printed (its status lines go to stderr). */
async function buildInto(out: string, ...flags: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(process.execPath, [BUILD, '--out', out, ...flags], { cwd: ROOT, timeout: 240_000 });
}

/**
 * A fresh process that loads the app as the Functions worker does: `@azure/functions-core` is a
 * minimal stand-in recording registrations (bench/functions-core-stub.js), and any other module
 * that is neither a Node built-in nor a file of the package folder fails to resolve (and is
 * reported). With `invoke`, the status function is then called once: it builds the runtime from the settings below (Consul unreachable
 * on purpose, so it answers 503).
 */
const CHILD = `
const Module = require('node:module');
const path = require('node:path');
const { CORE, installFunctionsCoreStub, invokeStatus } = require(${JSON.stringify(CORE_STUB)});
const [appDir, invoke] = process.argv.slice(1);
const registered = installFunctionsCoreStub();
const outside = [];
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (request === CORE || Module.isBuiltin(request)) return resolve.call(this, request, parent, ...rest);
  const inPackage = (request.startsWith('./') || request.startsWith('../') || path.isAbsolute(request)) &&
    path.resolve(parent && parent.filename ? path.dirname(parent.filename) : process.cwd(), request).startsWith(appDir + path.sep);
  if (!inPackage) {
    outside.push(request + ' (from ' + (parent && parent.filename ? path.relative(appDir, parent.filename) : '?') + ')');
    throw Object.assign(new Error('outside the package: ' + request), { code: 'MODULE_NOT_FOUND' });
  }
  return resolve.call(this, request, parent, ...rest);
};
const loaded = () => Object.keys(require.cache).filter((f) => f.startsWith(appDir + path.sep)).map((f) => path.relative(appDir, f)).sort();
(async () => {
  require(path.join(appDir, 'main.js'));
  const report = { functions: registered.map((f) => f.name), loadedAtRegistration: loaded() };
  if (invoke === 'invoke') {
    const { response, errors } = await invokeStatus(registered, 'test');
    Object.assign(report, { status: response.status, errors, loadedAfterInvocation: loaded() });
  }
  report.outside = outside;
  process.stdout.write(JSON.stringify(report));
  process.exit(0);
})().catch((error) => { console.error(error); process.exit(1); });
`;

interface ChildReport {
  readonly functions: string[];
  readonly loadedAtRegistration: string[];
  readonly loadedAfterInvocation?: string[];
  readonly status?: number;
  readonly errors?: Array<{ msg?: string }>;
  readonly outside: string[];
}

async function loadInFreshProcess(appDir: string, invoke: boolean, env: Record<string, string> = {}): Promise<ChildReport> {
  const { stdout } = await run(process.execPath, ['-e', CHILD, appDir, invoke ? 'invoke' : ''], {
    cwd: tmpdir(),
    timeout: 120_000,
    env: {
      PATH: process.env['PATH'] ?? '',
      VMSS_MESH_SUBSCRIPTIONS: '00000000-0000-0000-0000-000000000001',
      CONSUL_HTTP_ADDR: 'http://127.0.0.1:9',
      VMSS_MESH_RELAY_ADDRESSES: '127.0.0.1:9',
      VMSS_MESH_RELAY_TOKEN: 'test',
      ...env,
    },
  });
  return JSON.parse(stdout) as ChildReport;
}

describe('the Functions package', () => {
  let workDir: string;
  let appDir: string;
  let zipFile: string;

  before(async () => {
    workDir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-package-'));
    await buildInto(path.join(workDir, 'a'));
    appDir = path.join(workDir, 'a', 'functions-app');
    zipFile = path.join(workDir, 'a', 'functions-app.zip');
  });
  after(() => rmSync(workDir, { recursive: true, force: true }));

  test('the folder holds exactly host.json, package.json, the two bundles with their maps and the push proto', () => {
    assert.deepEqual(filesUnder(appDir), EXPECTED_FILES);
    assert.deepEqual(readFileSync(path.join(appDir, 'host.json')), readFileSync(path.join(ROOT, 'host.json')));
    assert.deepEqual(readFileSync(path.join(appDir, 'proto/vmss_mesh/relay/v1/push.proto')), readFileSync(path.join(ROOT, 'proto/vmss_mesh/relay/v1/push.proto')));
  });

  test('package.json: main is the bundle, CommonJS, nothing to install', () => {
    const manifest = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(manifest['main'], 'main.js');
    assert.equal(manifest['type'], 'commonjs');
    assert.equal(manifest['version'], root.version);
    for (const key of ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'scripts']) assert.equal(manifest[key], undefined, key);
    assert.match(readFileSync(path.join(appDir, 'main.js'), 'utf8'), /\n\/\/# sourceMappingURL=main\.js\.map\n?$/);
  });

  test('the zip holds the same files with the same bytes, host.json at its root, within 5 MB', () => {
    const zipped = readFileSync(zipFile);
    assert.ok(zipped.length <= MAX_ZIP_BYTES, `zip is ${zipped.length} bytes`);
    const entries = unzipSync(zipped);
    assert.deepEqual(Object.keys(entries).sort(), EXPECTED_FILES);
    assert.ok('host.json' in entries, 'host.json is not at the root of the zip');
    for (const name of EXPECTED_FILES) assert.deepEqual(Buffer.from(entries[name]!), readFileSync(path.join(appDir, name)), name);
  });

  test('a second build gives the same bytes; an unchanged one is not rebuilt', async () => {
    // Same depth as 'a', so the maps' relative source paths are the same too.
    await buildInto(path.join(workDir, 'b'));
    assert.deepEqual(readFileSync(path.join(workDir, 'b', 'functions-app.zip')), readFileSync(zipFile));
    const before = statSync(path.join(appDir, 'main.js')).mtimeMs;
    const { stdout, stderr } = await buildInto(path.join(workDir, 'a'));
    assert.match(stderr, /up to date/);
    assert.equal(stdout, '', 'the build prints its status on stderr only');
    assert.equal(statSync(path.join(appDir, 'main.js')).mtimeMs, before);
  });

  test('two builds started at once into the same folder both succeed, one building and the other waiting for it', async () => {
    const out = path.join(workDir, 'c');
    const runs = await Promise.all([buildInto(out), buildInto(out)]);
    const built = runs.filter((r) => /source files in \d+ ms/.test(r.stderr));
    const waited = runs.filter((r) => /up to date/.test(r.stderr));
    assert.equal(built.length, 1, `exactly one build should run: ${runs.map((r) => r.stderr).join(' | ')}`);
    assert.equal(waited.length, 1, runs.map((r) => r.stderr).join(' | '));
    assert.deepEqual(filesUnder(path.join(out, 'functions-app')), EXPECTED_FILES);
    assert.deepEqual(readFileSync(path.join(out, 'functions-app.zip')), readFileSync(zipFile));
    for (const name of EXPECTED_FILES) assert.deepEqual(readFileSync(path.join(out, 'functions-app', name)), readFileSync(path.join(appDir, name)), name);
    assert.deepEqual(readdirSync(out).sort(), ['functions-app', 'functions-app.inputs.json', 'functions-app.zip'], 'no lock or temporary file is left');
  });

  test('an input saved while the build runs is not recorded as built: the next build runs again', async (t) => {
    const out = path.join(workDir, 'd');
    // The build script is one of the inputs. Its mtime is set to now while the build runs (the
    // lock file shows it has started) and put back afterwards, so the repository's own stamp holds.
    const original = statSync(BUILD);
    t.after(() => utimesSync(BUILD, original.atime, original.mtime));
    const building = buildInto(out);
    const lock = path.join(out, 'functions-app.lock');
    while (!existsSync(lock)) await new Promise((resolve) => setTimeout(resolve, 10));
    const now = new Date();
    utimesSync(BUILD, now, now);
    const first = await building;
    assert.match(first.stderr, /changed while building.*build\/functions-app\.mjs/);
    assert.equal(existsSync(path.join(out, 'functions-app.inputs.json')), false, 'a stamp was written for an input that changed during the build');
    const second = await buildInto(out);
    assert.doesNotMatch(second.stderr, /up to date/);
    assert.deepEqual(readFileSync(path.join(out, 'functions-app.zip')), readFileSync(zipFile));
  });

  test('a local.settings.json the user put in the folder stays there and never goes into the zip', async () => {
    const out = path.join(workDir, 'e');
    await buildInto(out);
    const settings = path.join(out, 'functions-app', 'local.settings.json');
    const text = JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', SECRET: 'kept-local' } });
    writeFileSync(settings, text);
    const unchanged = await buildInto(out);
    assert.match(unchanged.stderr, /up to date/, 'local.settings.json made the package look out of date');
    const forced = await buildInto(out, '--force');
    assert.doesNotMatch(forced.stderr, /up to date/);
    assert.equal(readFileSync(settings, 'utf8'), text);
    assert.deepEqual(filesUnder(path.join(out, 'functions-app')), [...EXPECTED_FILES, 'local.settings.json'].sort());
    assert.deepEqual(Object.keys(unzipSync(readFileSync(path.join(out, 'functions-app.zip')))).sort(), EXPECTED_FILES);
    assert.match((await buildInto(out)).stderr, /up to date/);
  });

  test('the bundles require nothing but Node built-ins, @azure/functions-core, ./vendor.js and ./azure-monitor.js', () => {
    const required = (file: string) => [...readFileSync(path.join(appDir, file), 'utf8').matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
    const foreign = (file: string, allowed: string[]) => [...new Set(required(file))].filter((r) => !isBuiltin(r) && !allowed.includes(r));
    assert.deepEqual(foreign('main.js', ['@azure/functions-core', './vendor.js', './azure-monitor.js']), []);
    assert.deepEqual(foreign('vendor.js', []), []);
    // Azure Monitor's distro takes the packages it shares with vendor.js (same version) from there;
    // it registers a preInvocation hook with the worker's module (trace context for invocations).
    assert.deepEqual(foreign('azure-monitor.js', ['@azure/functions-core', './vendor.js']), []);
    assert.ok(required('main.js').includes('./vendor.js'), 'main.js never requires vendor.js: is the runtime still deferred?');
  });

  test('a fresh process registers the four functions without reading vendor.js, and the first invocation builds the runtime from it', async () => {
    const settings: Array<Record<string, string>> = [{}, { VMSS_MESH_RECONCILE_SCHEDULE: '0 */5 * * * *' }];
    for (const env of settings) {
      const report = await loadInFreshProcess(appDir, true, env);
      assert.deepEqual(report.functions, FUNCTIONS);
      assert.deepEqual(report.loadedAtRegistration, ['main.js']);
      // 503: the runtime was built (ARM clients, Consul registry, push client from vendor.js) and Consul refused.
      assert.equal(report.status, 503, JSON.stringify(report.errors));
      assert.deepEqual(report.loadedAfterInvocation, ['main.js', 'vendor.js']);
      assert.deepEqual(report.outside, []);
    }
  });

  test('vendor.js hands main.js every export of each package it holds', () => {
    const vendor = require(path.join(appDir, 'vendor.js')) as { packages: Record<string, Record<string, unknown>> };
    assert.ok(Object.keys(vendor.packages).length > 0);
    for (const [specifier, exported] of Object.entries(vendor.packages)) {
      assert.equal(exported['__esModule'], true, specifier);
      const original = require(require.resolve(specifier, { paths: [ROOT] })) as Record<string, unknown>;
      const missing = Object.keys(original).filter((name) => name !== '__esModule' && !(name in exported));
      assert.deepEqual(missing, [], `${specifier}: exports missing from vendor.js`);
      if (typeof original === 'function') assert.equal(typeof exported['default'], 'function', `${specifier}: default export`);
    }
  });
});
