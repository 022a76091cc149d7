import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { packageFile, packageRoot } from '../../src/shared/package-files';

test('packageFile reads the package root, never a stray copy between the code and the root', (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-pkg-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  writeFileSync(path.join(root, 'package.json'), '{}');
  mkdirSync(path.join(root, 'proto/x'), { recursive: true });
  writeFileSync(path.join(root, 'proto/x/a.proto'), 'root');
  // An old build left dist/proto/x/a.proto next to the compiled code in dist/cli.
  mkdirSync(path.join(root, 'dist/cli'), { recursive: true });
  mkdirSync(path.join(root, 'dist/proto/x'), { recursive: true });
  writeFileSync(path.join(root, 'dist/proto/x/a.proto'), 'stale');
  const from = path.join(root, 'dist/cli');
  assert.equal(packageRoot(from), root);
  assert.equal(packageFile('proto/x/a.proto', from), path.join(root, 'proto/x/a.proto'));
  // A packaged app is its own root: its package.json sits next to its bundle and its proto/.
  writeFileSync(path.join(root, 'dist/package.json'), '{}');
  assert.equal(packageFile('proto/x/a.proto', path.join(root, 'dist/cli')), path.join(root, 'dist/proto/x/a.proto'));
  assert.throws(() => packageFile('proto/x/missing.proto', from), /proto\/x\/missing\.proto is missing from the package at /);
});
