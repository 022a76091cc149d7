/**
 * The README's folder map, kept true: what each folder of src/ may import. Reads every module's
 * import specifiers (static `from '…'`, `import('…')`, `require('…')`) and resolves the relative ones.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';

const SRC = join(__dirname, '..', '..', 'src');
const FOLDERS = ['shared', 'relay', 'functions', 'sandbox', 'cli'] as const;
type Folder = (typeof FOLDERS)[number];

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? modules(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g;

/** Every import of `folder`'s modules: the src folder a relative one lands in, or the package name. */
function importsOf(folder: Folder): Array<{ file: string; target: string }> {
  return modules(join(SRC, folder)).flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(SPECIFIER)].map((m) => {
      const spec = m[1]!;
      const target = spec.startsWith('.') ? relative(SRC, resolve(dirname(file), spec)).split(sep)[0]! : spec;
      return { file: relative(SRC, file), target };
    }),
  );
}

const ALLOWED_SRC: Record<Folder, readonly Folder[]> = {
  shared: ['shared'],
  relay: ['relay', 'shared'],
  functions: ['functions', 'shared', 'relay'],
  sandbox: ['sandbox', 'shared', 'relay', 'functions'],
  cli: FOLDERS,
};

test('each folder of src/ imports only the folders the README allows', () => {
  for (const folder of FOLDERS) {
    const wrong = importsOf(folder).filter((i) => (FOLDERS as readonly string[]).includes(i.target) && !ALLOWED_SRC[folder].includes(i.target as Folder));
    assert.deepEqual(wrong, [], `${folder} imports what it may not`);
  }
});

test('src/shared knows nothing of Functions or gRPC types; the functions layer only the relay push client', () => {
  const foreign = importsOf('shared').filter((i) => /^@azure\/functions|^@grpc\/|^@opentelemetry\//.test(i.target));
  assert.deepEqual(foreign, []);
  const relayFromFunctions = importsOf('functions').filter((i) => i.target === 'relay');
  assert.ok(relayFromFunctions.length > 0, 'the scan sees the push client import (a scan that finds nothing proves nothing)');
  const files = modules(join(SRC, 'functions')).filter((f) => /from '\.\.\/relay\/(?!push\/push-client')/.test(readFileSync(f, 'utf8')));
  assert.deepEqual(files.map((f) => relative(SRC, f)), []);
});
