/**
 * The Functions app under Azure Functions Core Tools (`func start`), for users who have them:
 * the packaged app (dist/functions-app from build/functions-app.mjs: host.json, a package.json
 * whose main is one bundle, main.js, proto/) is copied to a temporary folder with a generated
 * local.settings.json, so func runs what a deployment runs and the user's own
 * local.settings.json is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import type { FunctionsHost } from './functions-host/functions-host';
import { packagedApp } from './functions-worker/packaged-app';

/** What the packaged app must hold for func (see build/functions-app.mjs). */
const PACKAGED_APP_FILES = ['host.json', 'package.json', 'main.js'];

/**
 * The packaged app func stages: packagedApp()'s folder, which in a checkout is first brought up
 * to date with the sources (once per process), so func never runs a bundle older than them.
 */
function packagedFunctionsApp(log: (line: string) => void): string {
  const packaged = packagedApp(__dirname);
  if (packaged.warning) log(packaged.warning);
  const missing = PACKAGED_APP_FILES.filter((file) => !existsSync(path.join(packaged.directory, file)));
  if (missing.length > 0) throw new Error(`the packaged Functions app ${packaged.directory} lacks ${missing.join(', ')}: run npm run package in the vmss-mesh checkout`);
  return packaged.directory;
}

export interface FuncHostOptions {
  readonly funcBinary: string;
  /** App settings (local.settings.json `Values`). */
  readonly settings: Readonly<Record<string, string>>;
  /** 0 = a free port. */
  readonly port: number;
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
  /** The packaged app to stage (default: packagedApp()'s, brought up to date in a checkout). */
  readonly appDir?: string;
}

export async function startFuncHost(options: FuncHostOptions): Promise<FunctionsHost> {
  const log = options.log ?? (() => undefined);
  const packaged = options.appDir ?? packagedFunctionsApp(log);
  const appDir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-func-'));
  // A copy, not links: func and the worker see one self-contained folder, as after a zip deploy.
  cpSync(packaged, appDir, { recursive: true });
  writeFileSync(
    path.join(appDir, 'local.settings.json'),
    JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...options.settings } }, null, 2),
  );
  const port = options.port || (await freePort());
  // The settings in func's environment too: func lets a variable already set there win over
  // local.settings.json, so a shell's own (say CONSUL_HTTP_ADDR) would otherwise reach the app.
  const child: ChildProcess = spawn(options.funcBinary, ['start', '--port', String(port)], { cwd: appDir, env: { ...process.env, ...options.settings }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const onData = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8000);
    for (const line of chunk.toString().split('\n')) if (line.trim()) log(`func: ${line.trim()}`);
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(appDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  // Ready when the host answers its status endpoint (func serves /admin/host/status).
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`func start exited (${child.exitCode}): ${output}`);
    }
    const status = await fetch(`${url}/admin/host/status`).then((r) => r.status, () => 0);
    if (status === 200) break;
    if (Date.now() > deadline) {
      await close();
      throw new Error(`func start did not answer on ${url} in time: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    async invoke(name) {
      const response = await fetch(`${url}/admin/functions/${encodeURIComponent(name)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":null}' });
      if (response.status >= 300) throw new Error(`func refused to run ${name}: ${response.status} ${await response.text()}`);
    },
    close,
  };
}
