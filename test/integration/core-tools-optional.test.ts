/**
 * Core Tools as an optional dependency: `npm ci` installs `func` where its download works and
 * carries on where it does not. The project's optional dependency (the version its lockfile pins)
 * and its allowScripts go into an empty folder and are installed the way `npm ci` installs them;
 * the install must succeed either way, and must really have tried: either the package is there
 * with its downloaded binary (and the sandbox would pick it), or its install script ran and
 * failed (here: no network beyond the npm registry) and npm dropped the package. An optional
 * dependency npm skips without trying (engines that exclude this Node, or an install script
 * that is not allowed to run) fails the test, because then nobody ever gets `func` from it.
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

interface Manifest {
  readonly optionalDependencies?: Record<string, string>;
  readonly allowScripts?: Record<string, boolean>;
}
interface LockEntry {
  readonly version: string;
  readonly engines?: Record<string, string>;
}

function npm(args: readonly string[], cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(NPM, args, { cwd, timeout: 120_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}\n${stderr}` });
    });
  });
}

test('npm installs the optional Core Tools where their download works and still succeeds where it fails', { timeout: 180_000 }, async (t) => {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Manifest;
  assert.ok(manifest.optionalDependencies?.[CORE_TOOLS], `${CORE_TOOLS} is not an optional dependency`);
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const locked = lock.packages[`node_modules/${CORE_TOOLS}`];
  assert.ok(locked, `package-lock.json has no ${CORE_TOOLS}`);

  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-core-tools-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'core-tools-probe', version: '1.0.0', private: true, optionalDependencies: { [CORE_TOOLS]: locked.version }, ...(manifest.allowScripts ? { allowScripts: manifest.allowScripts } : {}) }, null, 2),
  );
  const started = Date.now();
  const install = await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=verbose'], dir);
  t.diagnostic(`npm install of ${CORE_TOOLS}@${locked.version}: exit ${install.code} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(install.code, 0, install.output.slice(-4000));

  const packageDir = path.join(dir, 'node_modules', CORE_TOOLS);
  const binary = path.join(packageDir, 'bin', process.platform === 'win32' ? 'func.exe' : 'func');
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
