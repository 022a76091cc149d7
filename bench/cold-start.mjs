// Cold start of the Functions app, unbundled vs packaged (`npm run bench:cold`, which builds first):
//
//   node bench/cold-start.mjs [--runs 7]
//
// - unbundled: the sources compiled by tsc (tsconfig.build.json) into a temporary folder whose
//   node_modules is the repository's, entry src/functions/index.js: what a deployment of `dist/`
//   plus `npm ci --omit=dev` loads.
// - bundle: dist/functions-app/main.js, as `npm run package` ships it.
//
// Each figure is taken in fresh `node` processes (bench/cold-load.js: `@azure/functions-core`
// stubbed as the worker provides it, then the entry required and timed), the variants taking
// turns so that other load on the machine hits both alike. "first invocation" is the `status`
// function's first call: it builds the app's runtime (ARM clients, Consul registry, push client)
// from the settings below, then fails fast on the unreachable Consul address (503). "unbundled,
// runtime loaded eagerly" also requires the runtime's modules with the entry, as the entry did
// before they were deferred to the first invocation (src/functions/runtime.ts).
import { execFileSync, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

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

const { values } = parseArgs({ options: { runs: { type: 'string', default: '7' } } });
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 5) throw new TypeError(`--runs must be a whole number ≥ 5, got ${values.runs}`);
if (!existsSync(path.join(APP_DIR, 'main.js')) || !existsSync(APP_ZIP)) {
  throw new Error(`${path.relative(ROOT, APP_DIR)}/main.js or ${path.relative(ROOT, APP_ZIP)} is missing: run \`npm run package\` first (\`npm run bench:cold\` does)`);
}

/** The unbundled app: tsc's output of src/, with the repository's node_modules and proto/ beside it. */
function compileUnbundled() {
  const dir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-cold-'));
  const started = performance.now();
  execFileSync(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', dir], { cwd: ROOT, stdio: 'inherit' });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  cpSync(path.join(ROOT, 'proto'), path.join(dir, 'proto'), { recursive: true });
  return { dir, compileMs: performance.now() - started };
}

/** One fresh process; resolves with cold-load.js's report. */
function coldLoad(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOADER, ...args], {
      cwd: tmpdir(),
      env: { PATH: process.env.PATH ?? '', ...SETTINGS },
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

const { dir, compileMs } = compileUnbundled();
try {
  const unbundledEntry = path.join(dir, 'src/functions/index.js');
  // Before the deferral the entry's imports reached these (through runtime.ts and reconcileTimer.ts).
  const eagerModules = ['src/functions/app-runtime.js', 'src/shared/config.js'].map((m) => path.join(dir, m));
  const bundleEntry = path.join(APP_DIR, 'main.js');
  const samples = { unbundled: [], bundle: [], eager: [] };
  for (let i = 0; i < runs; i++) {
    samples.unbundled.push(await coldLoad([unbundledEntry, '--invoke']));
    samples.bundle.push(await coldLoad([bundleEntry, '--invoke']));
    samples.eager.push(await coldLoad([unbundledEntry, ...eagerModules.flatMap((m) => ['--also', m])]));
  }
  const load = (name) => stats(samples[name].map((r) => r.loadMs));
  const invoke = (name) => stats(samples[name].map((r) => r.firstInvocationMs));
  const total = (name) => stats(samples[name].map((r) => r.loadMs + r.firstInvocationMs));
  const rows = [
    ['unbundled (tsc + node_modules)', load('unbundled'), invoke('unbundled'), total('unbundled')],
    ['bundle (dist/functions-app)', load('bundle'), invoke('bundle'), total('bundle')],
  ];
  const eager = load('eager');
  const ratio = load('unbundled').median / load('bundle').median;
  const eagerRatio = eager.median / load('bundle').median;
  const totalRatio = total('unbundled').median / total('bundle').median;
  const zipBytes = statSync(APP_ZIP).size;
  const bundleFiles = readdirSync(APP_DIR).filter((f) => f.endsWith('.js'));

  console.log(`Functions app cold start: ${runs} fresh node processes per row (median / p90 / min); tsc took ${ms(compileMs)}`);
  console.log(`  ${''.padEnd(34)} ${'load (registration)'.padEnd(24)} ${'first invocation'.padEnd(24)} load + first invocation`);
  for (const [name, a, b, c] of rows) console.log(`  ${name.padEnd(34)} ${triple(a)}  ${triple(b)}  ${triple(c)}`);
  console.log(`  ${'unbundled, runtime loaded eagerly'.padEnd(34)} ${triple(eager)}  (the entry before the runtime was deferred)`);
  console.log(`  bundle load faster by:          ${ratio.toFixed(1)}x than the unbundled entry, ${eagerRatio.toFixed(1)}x than the eager one; load + first invocation ${totalRatio.toFixed(1)}x`);
  console.log(`  package:                        ${path.relative(ROOT, APP_DIR)}/ ${mib(folderBytes(APP_DIR))} (${bundleFiles.map((f) => `${f} ${mib(statSync(path.join(APP_DIR, f)).size)}`).join(', ')}), ${path.relative(ROOT, APP_ZIP)} ${mib(zipBytes)}`);
  const verdict = (ok) => (ok ? 'met' : 'MISSED');
  console.log(
    `  goals:                          load ≤ ${GOAL.loadMs} ms ${verdict(load('bundle').median <= GOAL.loadMs)}, ≥ ${GOAL.ratio}x the eager unbundled entry ${verdict(eagerRatio >= GOAL.ratio)}, zip ≤ ${mib(GOAL.zipBytes)} ${verdict(zipBytes <= GOAL.zipBytes)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
