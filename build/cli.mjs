// Compiles the `vmss-mesh` command (src/cli/main.ts and everything it reaches in src/) into one
// CommonJS file, dist/cli/vmss-mesh.js, that bin/vmss-mesh.js runs: nothing compiles TypeScript
// at run time. npm packages stay external (the installed production dependencies are used, and
// run-time path tricks such as the grpc-js-xds work-arounds' hook on its module files still see
// the library's own files). Subcommands stay lazy: esbuild turns each `require('./x')` into a
// module initialised on first use. No source maps or timestamps: the same sources give the same
// bytes. Runs at every `npm test` and `npm start` (about 0.3 s); the file is replaced by a rename,
// so a process starting the CLI meanwhile reads either the old or the new one, never half a file.
import { build } from 'esbuild';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/cli');
/**
 * What the old tsc build (outDir dist, rootDir .) and its proto copy left in dist/: nothing reads
 * them any more, and stale compiled sources or protos next to dist/cli only mislead.
 */
const OLD_BUILD_LEFTOVERS = ['dist/src', 'dist/proto', 'dist/test', 'dist/bench'];

const result = await build({
  absWorkingDir: root,
  entryPoints: { 'vmss-mesh': 'src/cli/main.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
  write: false,
});
mkdirSync(outdir, { recursive: true });
for (const leftover of OLD_BUILD_LEFTOVERS) rmSync(path.join(root, leftover), { recursive: true, force: true });
for (const file of result.outputFiles) {
  const partial = `${file.path}.${process.pid}.partial`;
  writeFileSync(partial, file.contents);
  renameSync(partial, file.path);
}
const bytes = result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0);
// On stderr: a diagnostic, so it never mixes with what a caller parses (npm pack --json runs this as prepack).
if (process.env.VMSS_MESH_BUILD_QUIET !== '1') console.error(`dist/cli/vmss-mesh.js: ${(bytes / 1024).toFixed(0)} KB from ${Object.keys(result.metafile.inputs).length} source files`);
