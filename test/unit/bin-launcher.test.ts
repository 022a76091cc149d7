/**
 * bin/vmss-mesh.js runs the compiled CLI (dist/cli/vmss-mesh.js) and never TypeScript: without
 * the compiled file it says what to do (a checkout: `npm run build`; an installed package: it is
 * incomplete) and exits 2 instead of failing with a stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

const BIN = path.resolve(__dirname, '../../bin/vmss-mesh.js');

function layout(t: { after(fn: () => void): void }, files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-bin-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, 'bin'));
  copyFileSync(BIN, path.join(root, 'bin', 'vmss-mesh.js'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  return root;
}

function runBin(root: string, args: string[] = ['--help']) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // the test runner's --import tsx must not help the bin
  return spawnSync(process.execPath, [path.join(root, 'bin', 'vmss-mesh.js'), ...args], { cwd: root, encoding: 'utf8', env });
}

test('a checkout without the compiled CLI is told to run npm run build', (t) => {
  const root = layout(t, { 'src/cli/main.ts': 'export {};\n' });
  const result = runBin(root);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^vmss-mesh: the compiled CLI \(dist\/cli\/vmss-mesh\.js\) is missing: run `npm run build` in .+ first \(npm start and npm test build it\)\.\n$/);
  assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
});

test('an installed package without it says the installation is incomplete', (t) => {
  const root = layout(t, {});
  const result = runBin(root);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /is missing: this installation is incomplete; reinstall the package\.\n$/);
});

test('the compiled CLI is what runs, with the arguments and exit code passed through', (t) => {
  const root = layout(t, {
    'dist/cli/vmss-mesh.js': "exports.runCli = async (args) => { process.stdout.write('compiled ' + JSON.stringify(args)); return 3; };\n",
    'src/cli/main.ts': 'throw new Error("the TypeScript sources must not run");\n',
  });
  const result = runBin(root, ['events', 'explain', '-']);
  assert.equal(result.stdout, 'compiled ["events","explain","-"]');
  assert.equal(result.status, 3);
});
