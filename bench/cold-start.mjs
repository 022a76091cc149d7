// Cold start of the Functions app, unbundled vs packaged (`npm run bench:cold`, which builds first):
//
//   node bench/cold-start.mjs [--runs 7]
//
// - unbundled: the sources compiled by tsc (tsconfig.build.json's options) into a temporary folder
//   whose node_modules is the repository's, entry src/functions/index.js: what a deployment of
//   `dist/` plus `npm ci --omit=dev` loads.
// - bundle: dist/functions-app/main.js, as `npm run package` ships it.
//
// Each figure is taken in fresh `node` processes (bench/cold-load.js: `@azure/functions-core`
// stubbed as the worker provides it, then the entry required and timed), the variants taking
// turns so that other load on the machine hits both alike. "first invocation" is the `status`
// function's first call: it builds the app's runtime (ARM clients, Consul registry, push client)
// from the settings below, then fails fast on the unreachable Consul address (503).
// Four rows: the unbundled entry as it was before the runtime was deferred to the first
// invocation (src/functions/app-runtime-cache.ts; the runtime's modules are required with the entry, as its
// imports did), the unbundled entry as it is now, the bundle, and the bundle with
// APPLICATIONINSIGHTS_CONNECTION_STRING set (AZURE_MONITOR below: the first invocation also loads
// azure-monitor.js and starts the distro; the process ends before any export).
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeResults } from './results.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const LOADER = path.join(ROOT, 'bench/cold-load.js');
const APP_DIR = path.join(ROOT, 'dist/functions-app');
const APP_ZIP = path.join(ROOT, 'dist/functions-app.zip');
const GOAL = { loadMs: 150, ratio: 4, zipBytes: 5 * 1024 * 1024 };
/** App settings the runtime is built from (as in Azure, minus secrets); Consul and the relay are unreachable on purpose. */
const SETTINGS = {
  VMSS_MESH_SUBSCRIPTIONS: '00000000-0000-0000-0000-000000000001',
  VMSS_MESH_RESOURCE_GROUPS: 'mesh-rg',
  CONSUL_HTTP_ADDR: 'http://127.0.0.1:9',
  VMSS_MESH_RELAY_ADDRESSES: '127.0.0.1:9',
  VMSS_MESH_RELAY_TOKEN: 'bench',
  VMSS_MESH_LOG_LEVEL: 'warn',
};

/** Azure Monitor on, as in Azure Functions (the distro's resource detection needs no metadata probe); nothing is exported before the process ends. */
const AZURE_MONITOR = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://127.0.0.1:9/',
  APPLICATIONINSIGHTS_STATSBEAT_DISABLED: 'true',
  WEBSITE_SITE_NAME: 'vmss-mesh-cold-start',
  FUNCTIONS_EXTENSION_VERSION: '~4',
};

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 5) throw new TypeError(`--runs must be a whole number ≥ 5, got ${values.runs}`);
if (!existsSync(path.join(APP_DIR, 'main.js')) || !existsSync(APP_ZIP)) {
  throw new Error(`${path.relative(ROOT, APP_DIR)}/main.js or ${path.relative(ROOT, APP_ZIP)} is missing: run \`npm run package\` first (\`npm run bench:cold\` does)`);
}

/**
 * The unbundled app: tsc's output (tsconfig.build.json's options) of the functions entry and every
 * module it reaches, with the repository's node_modules and proto/ beside it. Only that graph is
 * compiled (quicker than all of src/, and other modules' type errors do not stop the bench); tsc
 * emits even when it reports type errors, so only a missing entry stops the bench.
 */
function compileUnbundled() {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-cold-'));
  const started = performance.now();
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  cpSync(path.join(ROOT, 'proto'), path.join(dir, 'proto'), { recursive: true });
  // The package root, where packageFile() looks for proto/ (as in the repository and the package).
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'vmss-mesh-cold-start', private: true, type: 'commonjs' }));
  const tsconfig = path.join(dir, 'tsconfig.cold-start.json');
  writeFileSync(tsconfig, JSON.stringify({ extends: path.join(ROOT, 'tsconfig.build.json'), compilerOptions: { outDir: dir, sourceMap: false }, files: [path.join(ROOT, 'src/functions/index.ts')], include: [] }));
  const tsc = spawnSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd: ROOT, encoding: 'utf8' });
  const entry = path.join(dir, 'src/functions/index.js');
  if (!existsSync(entry)) throw new Error(`tsc wrote no ${path.relative(dir, entry)}:\n${tsc.stdout}${tsc.stderr}`);
  if (tsc.status !== 0) console.warn(`tsc reported errors (its output is used all the same):\n${tsc.stdout.split('\n').slice(0, 5).join('\n')}`);
  return { dir, entry, compileMs: performance.now() - started };
}

/** One fresh process; resolves with cold-load.js's report. */
function coldLoad(args, extraEnv = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOADER, ...args], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '', ...SETTINGS, ...extraEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`node ${path.relative(ROOT, LOADER)} ${args.join(' ')} exited with ${code}:\n${err}`));
      const report = JSON.parse(out.trim().split('\n').pop());
      if (report.functions.length !== 4) return reject(new Error(`${args[0]} registered ${report.functions.join(', ') || 'nothing'}, expected 4 functions`));
      if (report.firstInvocationStatus !== undefined && report.firstInvocationStatus !== 503) {
        return reject(new Error(`${args[0]}: the first status call answered ${report.firstInvocationStatus}, expected 503 (Consul unreachable)`));
      }
      resolve(report);
    });
  });
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
  const middle = sorted.length / 2;
  const median = sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, p90: at(0.9), min: sorted[0] };
}

function folderBytes(dir) {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath ?? entry.path, entry.name)).size;
  }
  return total;
}

const ms = (n) => `${n.toFixed(0)} ms`;
const mib = (n) => `${(n / 1024 / 1024).toFixed(2)} MiB`;
const triple = (s) => `${ms(s.median).padStart(7)} ${ms(s.p90).padStart(7)} ${ms(s.min).padStart(7)}`;

const { dir, entry: unbundledEntry, compileMs } = compileUnbundled();
try {
  // Before the deferral the entry's imports reached these (through app-runtime-cache.ts and reconcileTimer.ts).
  const eagerModules = ['src/functions/app-runtime.js', 'src/shared/config.js'].map((m) => path.join(dir, m));
  const bundleEntry = path.join(APP_DIR, 'main.js');
  const samples = { eager: [], unbundled: [], bundle: [], monitor: [] };
  for (let i = 0; i < runs; i++) {
    samples.eager.push(await coldLoad([unbundledEntry, ...eagerModules.flatMap((m) => ['--also', m]), '--invoke']));
    samples.unbundled.push(await coldLoad([unbundledEntry, '--invoke']));
    samples.bundle.push(await coldLoad([bundleEntry, '--invoke']));
    samples.monitor.push(await coldLoad([bundleEntry, '--invoke'], AZURE_MONITOR));
  }
  const figures = (name) => ({
    load: stats(samples[name].map((r) => r.loadMs)),
    invoke: stats(samples[name].map((r) => r.firstInvocationMs)),
    total: stats(samples[name].map((r) => r.loadMs + r.firstInvocationMs)),
  });
  const rows = [
    ['unbundled, as before (eager)', figures('eager')],
    ['unbundled, runtime deferred', figures('unbundled')],
    ['bundle (dist/functions-app)', figures('bundle')],
    ['bundle + Azure Monitor', figures('monitor')],
  ];
  const bundle = figures('bundle');
  const times = (name, key) => `${(figures(name)[key].median / bundle[key].median).toFixed(1)}x`;
  const zipBytes = statSync(APP_ZIP).size;
  const bundleFiles = readdirSync(APP_DIR).filter((f) => f.endsWith('.js'));

  console.log(`Functions app cold start, ${runs} fresh node processes per row (load average ${loadavg()[0].toFixed(1)}; tsc took ${ms(compileMs)})`);
  console.log(`  ${''.padEnd(30)} ${'load (registration)'.padEnd(26)}${'first invocation'.padEnd(26)}load + first invocation`);
  console.log(`  ${''.padEnd(30)} ${`${'median'.padStart(7)} ${'p90'.padStart(7)} ${'min'.padStart(7)}   `.repeat(3).trimEnd()}`);
  for (const [name, f] of rows) console.log(`  ${name.padEnd(30)} ${triple(f.load)}   ${triple(f.invoke)}   ${triple(f.total)}`);
  console.log(`  bundle faster by:              load ${times('eager', 'load')} (as before), ${times('unbundled', 'load')} (runtime deferred); load + first invocation ${times('eager', 'total')}, ${times('unbundled', 'total')}`);
  console.log(`  package:                       ${path.relative(ROOT, APP_DIR)}/ ${mib(folderBytes(APP_DIR))} (${bundleFiles.map((f) => `${f} ${mib(statSync(path.join(APP_DIR, f)).size)}`).join(', ')}), ${path.relative(ROOT, APP_ZIP)} ${mib(zipBytes)}`);
  // What each bundle holds (build/functions-app.mjs --analyze has the full list): main.js is read at load, vendor.js by the first invocation.
  const stamp = path.join(ROOT, 'dist/functions-app.inputs.json');
  if (existsSync(stamp)) {
    for (const [file, { bytes, perPackage }] of Object.entries(JSON.parse(readFileSync(stamp, 'utf8')).analysis ?? {})) {
      const top = Object.entries(perPackage).sort((a, b) => b[1] - a[1]).slice(0, 4);
      console.log(`  ${`${file} holds:`.padEnd(30)} ${top.map(([name, n]) => `${name} ${((n / bytes) * 100).toFixed(0)} %`).join(', ')} of ${mib(bytes)}`);
    }
  }
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  const ratio = figures('eager').load.median / bundle.load.median;
  console.log(
    `  goals:                         bundle load ≤ ${GOAL.loadMs} ms ${verdict(bundle.load.median <= GOAL.loadMs)}; ≥ ${GOAL.ratio}x faster than the unbundled entry as before ${verdict(ratio >= GOAL.ratio)}; zip ≤ ${mib(GOAL.zipBytes)} ${verdict(zipBytes <= GOAL.zipBytes)}`,
  );
  const met = (ok) => (ok ? 'met' : 'missed');
  writeResults('cold', [
    {
      figure: 'Functions app load (registration), packaged bundle',
      goal: `≤ ${GOAL.loadMs} ms median`,
      measured: `${ms(bundle.load.median)} median (p90 ${ms(bundle.load.p90)}) of ${runs} fresh processes`,
      verdict: met(bundle.load.median <= GOAL.loadMs),
      value: bundle.load.median,
      unit: 'ms',
    },
    {
      figure: 'Bundle load vs the unbundled entry as before',
      goal: `≥ ${GOAL.ratio}x faster`,
      measured: `${ratio.toFixed(1)}x (${ms(figures('eager').load.median)} vs ${ms(bundle.load.median)}); vs unbundled with the runtime deferred ${times('unbundled', 'load')}`,
      verdict: met(ratio >= GOAL.ratio),
      value: ratio,
      unit: 'x',
    },
    {
      figure: 'Load + first invocation, bundle',
      goal: '-',
      measured: `${ms(bundle.total.median)} median (unbundled as before ${ms(figures('eager').total.median)})`,
      verdict: 'info',
      value: bundle.total.median,
      unit: 'ms',
    },
    {
      figure: 'First invocation, bundle with APPLICATIONINSIGHTS_CONNECTION_STRING (loads azure-monitor.js)',
      goal: '-',
      measured: `${ms(figures('monitor').invoke.median)} median vs ${ms(bundle.invoke.median)} without (+${ms(figures('monitor').invoke.median - bundle.invoke.median)}); load ${ms(figures('monitor').load.median)}`,
      verdict: 'info',
      value: figures('monitor').invoke.median - bundle.invoke.median,
      unit: 'ms',
    },
    {
      figure: 'Functions package size (zip)',
      goal: `≤ ${mib(GOAL.zipBytes)}`,
      measured: `${mib(zipBytes)} zipped, ${mib(folderBytes(APP_DIR))} unzipped`,
      verdict: met(zipBytes <= GOAL.zipBytes),
      value: zipBytes,
      unit: 'bytes',
    },
  ], path.join(ROOT, 'bench/results'));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
