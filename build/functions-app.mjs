// Builds the deployable Functions app (`npm run package`, and part of `npm run build`):
//
//   dist/functions-app/       host.json; package.json (main: main.js, no dependencies); main.js,
//                             the esbuild bundle of src/functions/index.ts (all our code, plus the
//                             npm packages registering the functions needs); vendor.js, every
//                             other npm package, which main.js requires when the first invocation
//                             builds the app's runtime (src/functions/app-runtime-cache.ts); azure-monitor.js,
//                             Azure Monitor's OpenTelemetry distro, required only when
//                             APPLICATIONINSIGHTS_CONNECTION_STRING is set (src/functions/telemetry);
//                             their linked source maps; and the files the code reads at run time
//                             (proto/vmss_mesh/relay/v1/push.proto, found by packageFile()).
//   dist/functions-app.zip    the same files, host.json at the root: zip deploy and
//                             `func azure functionapp publish` from the folder both take it as is.
//
// Why two files: a bundle's load time is mostly V8 scanning its text (about 30 ms per MB here,
// whether or not the code runs), and the ARM SDKs, identity and gRPC are 80 % of the bytes. In one
// 3.2 MB file the worker's load of the app took 140 ms, more than the unbundled entry with the
// same deferred runtime; with vendor.js apart, main.js is 0.6 MB. No module is in both files (the
// build fails otherwise), so there is one instance of each, as in a single bundle.
//
// Why a third file: the distro (with the OpenTelemetry SDK and its exporters) is as big as vendor.js
// and most apps run without it; in vendor.js it would add ~100 ms to every first invocation. The
// packages it shares with vendor.js at the same version (@opentelemetry/api above all: one global
// registry of providers) come from vendor.js; the rest of its dependencies are its own copy.
//
// `@azure/functions-core` stays external: the Functions Node worker injects it at run time.
// Minified (half the bytes to scan); the linked maps give readable stack traces with node
// --enable-source-maps (languageWorkers__node__arguments in Azure) and carry no sources content
// (the sources are in the repository); nothing reads them unless that flag is on.
//
// Deterministic: the same sources give the same bytes (no timestamps; zip entries sorted, with a
// fixed date). Fast: when no input of the last build changed (size and mtime of every file the
// bundles were made from, this script, package.json and the copied files) nothing is rebuilt.
// An input saved while a build runs is not taken as built: the inputs are checked against the
// build's start time, and if one changed since, no stamp is written (the next run builds again).
//
// Concurrent runs into the same folder (npm test starts several test processes, each of which may
// bring the package up to date) take turns: a build holds DIR/functions-app.lock (its pid; a lock
// whose process is gone is taken over), and a run that waited finds the package up to date.
// Temporary files of another live build are never removed, so even two builds that do overlap
// both end with the same complete package.
//
//   node build/functions-app.mjs [--out DIR] [--force] [--analyze]
//     --out DIR   write DIR/functions-app/ and DIR/functions-app.zip (default: dist)
//     --force     rebuild even when the last build is up to date
//     --analyze   print each bundle's largest inputs, per npm package
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = fileURLToPath(import.meta.url);
const ENTRY = 'src/functions/index.ts';
/** Files the app reads at run time, copied to the same relative paths (see src/shared/package-files.ts). */
const RUNTIME_FILES = ['proto/vmss_mesh/relay/v1/push.proto'];
/** The module the Functions worker provides; everything else is in main.js or vendor.js. */
const EXTERNAL = ['@azure/functions-core'];
/** Zip entries' date: fixed, so the same files give the same zip (DOS dates start in 1980). */
const ZIP_DATE = new Date(Date.UTC(1980, 0, 1, 12));
/**
 * An input whose mtime is later than the build's start minus this is taken as changed during the
 * build (file systems with coarse timestamps round mtimes down by up to 2 s).
 */
const MTIME_SLACK_MS = 2000;
/** How long a run waits for another build of the same folder before giving up. */
const LOCK_WAIT_MS = 10 * 60_000;
/**
 * Files a user keeps in the package folder that the build leaves alone and never packs: Core
 * Tools' `func start` in dist/functions-app reads its settings from local.settings.json there.
 */
const USER_FILES = new Set(['local.settings.json']);
/** writeAtomically's temporary files: `<name>.<pid>.tmp`. */
const TEMPORARY = /\.(\d+)\.tmp$/;

const { values: options } = parseArgs({
  options: {
    out: { type: 'string', default: 'dist' },
    force: { type: 'boolean', default: false },
    analyze: { type: 'boolean', default: false },
  },
});
const quiet = process.env.VMSS_MESH_BUILD_QUIET === '1';
const outRoot = path.resolve(ROOT, options.out);
const appDir = path.join(outRoot, 'functions-app');
const zipFile = path.join(outRoot, 'functions-app.zip');
// Kept beside the package, not in it: what the last build read (for the up-to-date check and --analyze).
const stampFile = path.join(outRoot, 'functions-app.inputs.json');
const lockFile = path.join(outRoot, 'functions-app.lock');

const started = performance.now();
const rootPackage = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

/** Size and mtime of each file, or null for a missing one. */
function fingerprint(files) {
  return Object.fromEntries(
    files.map((file) => {
      try {
        const s = statSync(path.resolve(ROOT, file));
        return [file, `${s.size}:${s.mtimeMs}`];
      } catch {
        return [file, null];
      }
    }),
  );
}

function sameFingerprint(recorded) {
  const now = fingerprint(Object.keys(recorded));
  return Object.entries(recorded).every(([file, value]) => now[file] === value);
}

function processAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** The package folder's top-level names, without a build's temporary files and the user's files. */
function outputNames() {
  return readdirSync(appDir)
    .filter((name) => !TEMPORARY.test(name) && !USER_FILES.has(name))
    .sort();
}

function upToDate() {
  if (options.force || !existsSync(stampFile) || !existsSync(zipFile)) return false;
  try {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    const outputs = outputNames();
    return JSON.stringify(outputs) === JSON.stringify(stamp.outputs) && sameFingerprint(stamp.inputs) && sameFingerprint(stamp.written);
  } catch {
    return false;
  }
}

/** Writes `file` by rename, so a reader never sees half a file (tests may load the app while a build runs). */
function writeAtomically(file, bytes) {
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, file);
}

function kib(bytes) {
  return `${(bytes / 1024).toFixed(0)} KiB`;
}

/** Bytes per npm package (our sources as one) in each bundle: what --analyze prints. */
function analysisOf(metafile) {
  const files = {};
  for (const [file, output] of Object.entries(metafile.outputs)) {
    if (file.endsWith('.map')) continue;
    const perPackage = {};
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      if (bytesInOutput === 0) continue;
      const name = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? (input.startsWith('src/') ? '(our sources)' : input);
      perPackage[name] = (perPackage[name] ?? 0) + bytesInOutput;
    }
    files[path.basename(file)] = { bytes: output.bytes, perPackage };
  }
  return files;
}

function printAnalysis(analysis) {
  for (const [file, { bytes: total, perPackage }] of Object.entries(analysis)) {
    console.log(`${file}: ${kib(total)}, by package (minified bytes):`);
    for (const [name, bytes] of Object.entries(perPackage).sort((a, b) => b[1] - a[1]).slice(0, 12)) {
      console.log(`  ${kib(bytes).padStart(9)}  ${((bytes / total) * 100).toFixed(1).padStart(5)} %  ${name}`);
    }
  }
}

if (upToDate()) {
  if (options.analyze) printAnalysis(JSON.parse(readFileSync(stampFile, 'utf8')).analysis);
  if (!quiet) console.error(`${path.relative(ROOT, appDir)}/ and ${path.basename(zipFile)} up to date (${(performance.now() - started).toFixed(0)} ms)`);
  process.exit(0);
}

/**
 * Takes the build lock of this output folder, waiting while another live process holds it. A lock
 * left by a process that is gone is removed and taken. Released when this process exits.
 */
async function acquireLock() {
  mkdirSync(outRoot, { recursive: true });
  const deadline = Date.now() + LOCK_WAIT_MS;
  let waited = false;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, `${process.pid}\n`);
      closeSync(fd);
      const release = () => rmSync(lockFile, { force: true });
      process.once('exit', release);
      for (const signal of ['SIGINT', 'SIGTERM']) {
        process.once(signal, () => {
          release();
          process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
        });
      }
      return waited;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    } catch {
      continue; // released meanwhile
    }
    // An empty file: its holder is between creating and writing it.
    if (Number.isInteger(holder) && holder > 0 && !processAlive(holder)) {
      rmSync(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another build of ${appDir} (pid ${holder}, ${lockFile}) did not finish within ${LOCK_WAIT_MS / 1000} s`);
    if (!waited && !quiet) console.error(`waiting for another build of ${path.relative(ROOT, appDir) || '.'}/ (pid ${holder})…`);
    waited = true;
    await sleep(100);
  }
}

if (await acquireLock()) {
  // Another build finished meanwhile: usually there is nothing left to do.
  if (upToDate()) {
    if (options.analyze) printAnalysis(JSON.parse(readFileSync(stampFile, 'utf8')).analysis);
    if (!quiet) console.error(`${path.relative(ROOT, appDir)}/ and ${path.basename(zipFile)} up to date, built by another process (${(performance.now() - started).toFixed(0)} ms)`);
    process.exit(0);
  }
}
// Inputs whose mtime is after this were saved while the build read them (see the stamp below).
const buildStartedAt = Date.now();

// Loaded only for a build: the up-to-date path stays a few stat calls.
const [{ build }, { zipSync }] = await Promise.all([import('esbuild'), import('fflate')]);

/**
 * npm packages the functions need when they register (at load): they stay in main.js. Every other
 * package our sources import goes to vendor.js, which main.js requires only when a module that
 * imports it is first initialised (the app runtime, built by the first invocation).
 */
const LOAD_TIME_PACKAGES = new Set(['@azure/functions', 'zod']);
const VENDOR_FILE = 'vendor.js';
/** Packages that get a chunk of their own, required only where our code requires them (lazily). */
const OWN_CHUNKS = new Map([['@azure/monitor-opentelemetry', 'azure-monitor.js']]);

const common = {
  absWorkingDir: ROOT,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: EXTERNAL,
  minify: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // Licence notices of the bundled packages stay, gathered at the end of each file.
  legalComments: 'eof',
  write: false,
  metafile: true,
  logLevel: 'warning',
};

const packageName = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
const isBare = (specifier) => !/^(\.|\/|node:)/.test(specifier) && !EXTERNAL.includes(specifier) && !isBuiltin(specifier);

/**
 * main.js: every module of ours, plus LOAD_TIME_PACKAGES. An import of any other package from our
 * sources becomes `require('./vendor.js')[specifier]`: esbuild still initialises the importing
 * module lazily when it is reached through a lazy `require` (src/functions/app-runtime-cache.ts), so loading
 * main.js never reads vendor.js.
 */
const deferred = new Set();
const deferToVendor = {
  name: 'defer-to-vendor',
  setup(b) {
    b.onResolve({ filter: /.*/, namespace: 'vendor' }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: /.*/, namespace: 'chunk' }, (args) => ({ path: args.path, external: true }));
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (!isBare(args.path) || args.importer.includes(`${path.sep}node_modules${path.sep}`) || LOAD_TIME_PACKAGES.has(packageName(args.path))) return undefined;
      if (OWN_CHUNKS.has(args.path)) return { path: args.path, namespace: 'chunk' };
      deferred.add(args.path);
      return { path: args.path, namespace: 'vendor' };
    });
    b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`./${VENDOR_FILE}`)}).packages[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
    b.onLoad({ filter: /.*/, namespace: 'chunk' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(`./${OWN_CHUNKS.get(args.path)}`)});`, loader: 'js' }));
  },
};
const main = await build({ ...common, entryPoints: { main: ENTRY }, outdir: appDir, plugins: [deferToVendor] });

/**
 * vendor.js: the deferred packages, imported as ES modules (so esbuild takes their ESM builds, as
 * it does for the same imports in one bundle), each handed over as a module object marked
 * `__esModule`: main.js's import helpers then read named and default exports exactly as they
 * would from the package itself.
 */
const specifiers = [...deferred].sort();
const vendorEntry = [
  ...specifiers.map((s, i) => `import * as p${i} from ${JSON.stringify(s)};`),
  'const asModule = (namespace) => Object.defineProperty({ ...namespace }, "__esModule", { value: true });',
  `export const packages = { ${specifiers.map((s, i) => `${JSON.stringify(s)}: asModule(p${i})`).join(', ')} };`,
].join('\n');
const vendor = await build({
  ...common,
  stdin: { contents: vendorEntry, resolveDir: ROOT, sourcefile: 'vendor-entry.js', loader: 'js' },
  outfile: path.join(appDir, VENDOR_FILE),
});

/**
 * The own chunks: each package bundled with its dependencies, except the packages vendor.js hands
 * over that resolve to the very package folder vendor.js bundled (same version): those are taken from
 * vendor.js, so the process has one instance of each (vendor.js is loaded by then: the chunks are
 * required by the runtime's modules). Other shared dependencies are the chunk's own copy.
 */
const packageRootOf = (file) => file.match(/^(.*[\\/]node_modules[\\/](?:@[^\\/]+[\\/])?[^\\/]+)/)?.[1];
const vendorPackageRoots = new Set(Object.keys(vendor.metafile.inputs).map((input) => packageRootOf(path.resolve(ROOT, input))).filter(Boolean));
const fromVendor = {
  name: 'from-vendor',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.pluginData === 'from-vendor' || !deferred.has(args.path)) return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'from-vendor' });
      if (resolved.errors.length > 0 || !vendorPackageRoots.has(packageRootOf(resolved.path))) return undefined;
      return { path: args.path, namespace: 'vendor' };
    });
    b.onResolve({ filter: /.*/, namespace: 'vendor' }, (args) => ({ path: args.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'vendor' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`./${VENDOR_FILE}`)}).packages[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }));
  },
};
const chunks = await Promise.all(
  [...OWN_CHUNKS].map(([specifier, file]) =>
    build({
      ...common,
      // Required, not imported: the packages' CommonJS builds (their ES builds read import.meta.url,
      // which a CommonJS bundle does not have).
      stdin: { contents: `module.exports = require(${JSON.stringify(specifier)});`, resolveDir: ROOT, sourcefile: `${file}-entry.js`, loader: 'js' },
      outfile: path.join(appDir, file),
      plugins: [fromVendor],
    }),
  ),
);

// One copy of each package between main.js and vendor.js: a file in both bundles would be two
// module instances (two classes for one name, two states), which a single bundle never has. An own
// chunk may not share a file with main.js either (main.js's packages are its at load).
const packageFilesOf = (metafile) => Object.keys(metafile.inputs).filter((input) => input.includes('node_modules/'));
const inMain = new Set(packageFilesOf(main.metafile));
const twice = packageFilesOf(vendor.metafile).filter((input) => inMain.has(input));
if (twice.length > 0) {
  throw new Error(`these files are in both main.js and ${VENDOR_FILE}; add their package to LOAD_TIME_PACKAGES or stop importing it from the load-time modules:\n  ${twice.slice(0, 10).join('\n  ')}`);
}
for (const chunk of chunks) {
  const shared = packageFilesOf(chunk.metafile).filter((input) => inMain.has(input));
  if (shared.length > 0) throw new Error(`these files are in both main.js and ${path.basename(chunk.outputFiles[0].path)}:\n  ${shared.slice(0, 10).join('\n  ')}`);
}
const bundles = [main, vendor, ...chunks];
const result = {
  outputFiles: bundles.flatMap((b) => b.outputFiles),
  metafile: { inputs: Object.assign({}, ...bundles.map((b) => b.metafile.inputs).reverse()), outputs: Object.assign({}, ...bundles.map((b) => b.metafile.outputs)) },
};

const appPackage = {
  name: `${rootPackage.name}-functions-app`,
  version: rootPackage.version,
  description: `${rootPackage.name}'s Azure Functions app, bundled (made by build/functions-app.mjs; no dependencies to install)`,
  private: true,
  type: 'commonjs',
  main: 'main.js',
};

/** Relative path (posix) → bytes: the whole package. */
const files = new Map([
  ['host.json', readFileSync(path.join(ROOT, 'host.json'))],
  ['package.json', Buffer.from(`${JSON.stringify(appPackage, null, 2)}\n`)],
]);
for (const output of result.outputFiles) files.set(path.relative(appDir, output.path).split(path.sep).join('/'), Buffer.from(output.contents));
for (const file of RUNTIME_FILES) files.set(file, readFileSync(path.join(ROOT, file)));
const names = [...files.keys()].sort();

// The folder: every file written by rename, then anything a previous build left removed.
mkdirSync(appDir, { recursive: true });
for (const name of names) {
  const target = path.join(appDir, name);
  mkdirSync(path.dirname(target), { recursive: true });
  writeAtomically(target, files.get(name));
}
const keep = new Set(names.flatMap((name) => name.split('/').map((_, i, parts) => parts.slice(0, i + 1).join('/'))));
const removeExtra = (dir, prefix) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    // A live process's temporary file is its write in progress (only a build that ignored the lock, or a reader-side copy, has one here).
    const temporaryOf = TEMPORARY.exec(entry.name);
    if (temporaryOf && Number(temporaryOf[1]) !== process.pid && processAlive(Number(temporaryOf[1]))) continue;
    if (USER_FILES.has(relative)) continue;
    if (!keep.has(relative)) rmSync(path.join(dir, entry.name), { recursive: true, force: true });
    else if (entry.isDirectory()) removeExtra(path.join(dir, entry.name), relative);
  }
};
removeExtra(appDir, '');

// The zip: the same files at the same paths, host.json at the root (no USER_FILES: not in `names`).
const zip = zipSync(Object.fromEntries(names.map((name) => [name, [files.get(name), { level: 6, mtime: ZIP_DATE }]])));
writeAtomically(zipFile, zip);

const sourceFiles = Object.keys(result.metafile.inputs).filter((input) => existsSync(path.join(ROOT, input)));
const inputs = [...sourceFiles, path.relative(ROOT, SCRIPT), 'package.json', 'host.json', ...RUNTIME_FILES];
const written = [...names.map((name) => path.relative(ROOT, path.join(appDir, name))), path.relative(ROOT, zipFile)];
// The stamp says "these inputs are built": not true of an input saved after the build started (the
// bundle may hold its old text), so then there is no stamp and the next run builds again.
const changedDuringBuild = inputs.filter((file) => {
  try {
    return statSync(path.join(ROOT, file)).mtimeMs > buildStartedAt - MTIME_SLACK_MS;
  } catch {
    return true;
  }
});
if (changedDuringBuild.length > 0) {
  rmSync(stampFile, { force: true });
  if (!quiet) console.error(`changed while building, so the next build runs again: ${changedDuringBuild.slice(0, 5).join(', ')}${changedDuringBuild.length > 5 ? ', …' : ''}`);
} else {
  writeAtomically(stampFile, JSON.stringify({ outputs: outputNames(), inputs: fingerprint(inputs), written: fingerprint(written), analysis: analysisOf(result.metafile) }));
}

if (options.analyze) printAnalysis(analysisOf(result.metafile));
if (!quiet) {
  // Status lines go to stderr (diagnostics); only --analyze, asked for, prints to stdout.
  const folderBytes = names.reduce((sum, name) => sum + files.get(name).length, 0);
  const sizes = names.map((name) => `${name} ${kib(files.get(name).length)}`).join(', ');
  const digest = createHash('sha256').update(zip).digest('hex').slice(0, 12);
  console.error(
    `${path.relative(ROOT, appDir) || '.'}/: ${kib(folderBytes)} (${sizes}); ${path.relative(ROOT, zipFile)}: ${kib(zip.length)} sha256 ${digest}…; ` +
      `${sourceFiles.length} source files in ${(performance.now() - started).toFixed(0)} ms`,
  );
}
