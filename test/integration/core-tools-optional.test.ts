/**
 * Core Tools as an optional dependency: `npm ci` installs `func` where its download works and
 * carries on where it does not. The project's optional dependency (the version its lockfile pins)
 * and its allowScripts go into an empty folder and are installed the way `npm ci` installs them;
 * the install must succeed either way, and must really have tried: either the package is there
 * with its downloaded binary (and the sandbox would pick it), or its install script ran and
 * failed (here: no network beyond the npm registry) and npm dropped the package. An optional
 * dependency npm skips without trying (engines that exclude this Node, or an install script
 * that is not allowed to run) fails the test, because then nobody ever gets `func` from it.
 *
 * Where the project's own `npm ci` already downloaded them (node_modules/azure-functions-core-tools
 * with its binary), that is the proof: the test checks the sandbox picks that `func` and does not
 * download them again. Otherwise the probe install may take long on a slow link (the download is
 * about 200 MB where it works): it is bounded at INSTALL_TIMEOUT_MS and says so when it runs out.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { findFuncBinary } from '../../src/sandbox/find-binary';

const ROOT = path.resolve(__dirname, '../..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const CORE_TOOLS = 'azure-functions-core-tools';
const FUNC = process.platform === 'win32' ? 'func.exe' : 'func';
/** The probe install's bound: Core Tools' download where it works is large. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

interface Manifest {
  readonly optionalDependencies?: Record<string, string>;
  readonly allowScripts?: Record<string, boolean>;
}
interface LockEntry {
  readonly version: string;
  readonly engines?: Record<string, string>;
}

function npm(args: readonly string[], cwd: string, timeoutMs: number): Promise<{ code: number; output: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    execFile(NPM, args, { cwd, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}\n${stderr}`, timedOut: error?.killed === true });
    });
  });
}

test('the project\'s own Core Tools, where npm ci downloaded them, are the func the sandbox picks', (t) => {
  const binary = path.join(ROOT, 'node_modules', CORE_TOOLS, 'bin', FUNC);
  if (!existsSync(binary)) {
    t.skip(`${CORE_TOOLS} has no downloaded binary in this checkout (the install test below covers it)`);
    return;
  }
  const choice = findFuncBinary({ from: path.join(ROOT, 'src', 'sandbox'), env: { PATH: '' } });
  assert.equal(choice.binary, path.join(ROOT, 'node_modules', '.bin', 'func'), choice.says);
});

test('npm installs the optional Core Tools where their download works and still succeeds where it fails', { timeout: INSTALL_TIMEOUT_MS + 60_000 }, async (t) => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
  assert.ok(manifest.optionalDependencies?.[CORE_TOOLS], `${CORE_TOOLS} is not an optional dependency`);
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const locked = lock.packages[`node_modules/${CORE_TOOLS}`];
  assert.ok(locked, `package-lock.json has no ${CORE_TOOLS}`);
  if (existsSync(path.join(ROOT, 'node_modules', CORE_TOOLS, 'bin', FUNC))) {
    // npm ci downloaded them for this checkout already (the test above checks they are picked): no second download.
    t.skip(`${CORE_TOOLS} is installed with its binary in this checkout`);
    return;
  }

  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-core-tools-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'core-tools-probe', version: '1.0.0', private: true, optionalDependencies: { [CORE_TOOLS]: locked.version }, ...(manifest.allowScripts ? { allowScripts: manifest.allowScripts } : {}) }, null, 2),
  );
  const started = Date.now();
  const install = await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=verbose'], dir, INSTALL_TIMEOUT_MS);
  t.diagnostic(`npm install of ${CORE_TOOLS}@${locked.version}: exit ${install.code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(
    install.timedOut,
    false,
    `npm install of ${CORE_TOOLS}@${locked.version} did not finish within ${INSTALL_TIMEOUT_MS / 60_000} min (a slow link for the Core Tools download?): ` +
      `this says nothing about whether the optional dependency works; run npm ci in the checkout to get them once. Last output:\n${install.output.slice(-2000)}`,
  );
  assert.equal(install.code, 0, install.output.slice(-4000));

  const packageDir = path.join(dir, 'node_modules', CORE_TOOLS);
  const binary = path.join(packageDir, 'bin', FUNC);
  const scriptRan = new RegExp(`run ${CORE_TOOLS}@${locked.version.replace(/\./g, '\\.')} postinstall \\{ code: (\\d+)`).exec(install.output);
  if (existsSync(binary)) {
    // The download worked: func is there and the sandbox prefers it over the PATH.
    const choice = findFuncBinary({ from: dir, env: { PATH: '' } });
    assert.equal(choice.binary, path.join(dir, 'node_modules', '.bin', 'func'), choice.says);
    return;
  }
  const nodeRange = locked.engines?.node;
  assert.ok(
    existsSync(packageDir) || scriptRan,
    `npm skipped ${CORE_TOOLS}@${locked.version} without trying to install it` +
      (nodeRange ? ` (its engines want node ${nodeRange}, this is ${process.version}: npm marks an optional dependency whose engines exclude the running Node as inert and says nothing)` : ''),
  );
  assert.ok(scriptRan, `${CORE_TOOLS}@${locked.version} was installed but its install script (the download of func) never ran: is it allowed by allowScripts?`);
  assert.notEqual(scriptRan[1], '0', 'the install script succeeded but left no binary');
  assert.match(install.output, new RegExp(`failed optional dependency .*node_modules[\\\\/]${CORE_TOOLS}`));
  assert.equal(existsSync(packageDir), false, 'npm keeps a failed optional dependency');
  assert.equal(findFuncBinary({ from: dir, env: { PATH: '' } }).binary, undefined);
});
