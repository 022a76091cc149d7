// Compiles the `vmss-mesh` command (src/cli/main.ts and everything it reaches in src/) into one
// CommonJS file, dist/cli/vmss-mesh.js, that bin/vmss-mesh.js runs: nothing compiles TypeScript
// at run time. npm packages stay external (the installed production dependencies are used, and
// run-time path tricks such as the grpc-js-xds work-arounds' hook on its module files still see
// the library's own files). Subcommands stay lazy: esbuild turns each `require('./x')` into a
// module initialised on first use. No source maps or timestamps: the same sources give the same
// bytes. Runs at every `npm test` and `npm start` (about 0.2 s).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outdir = path.join(root, 'dist/cli');

rmSync(outdir, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: { 'vmss-mesh': 'src/cli/main.ts' },
  outdir,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  packages: 'external',
  // `require.main === module` in main.ts must stay false when bin/vmss-mesh.js requires the bundle.
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const bytes = Object.values(result.metafile.outputs).reduce((sum, output) => sum + output.bytes, 0);
if (process.env.VMSS_MESH_BUILD_QUIET !== '1') console.log(`dist/cli/vmss-mesh.js: ${(bytes / 1024).toFixed(0)} KB from ${Object.keys(result.metafile.inputs).length} source files`);
