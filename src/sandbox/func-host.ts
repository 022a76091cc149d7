/**
 * The Functions app under Azure Functions Core Tools (`func start`), for users who have them:
 * the packaged app (dist/functions-app from build/functions-app.mjs: host.json, a package.json
 * whose main is one bundle, main.js, proto/) is copied to a temporary folder with a generated
 * local.settings.json, so func runs what a deployment runs and the user's own
 * local.settings.json is never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import type { FunctionsHost } from './functions-host/functions-host';

/** What the packaged app must hold for func (see build/functions-app.mjs). */
const PACKAGED_APP_FILES = ['host.json', 'package.json', 'main.js'];

/**
 * The packaged Functions app's folder: dist/functions-app in the nearest folder upwards from
 * `from` that has one. In a checkout without it, build/functions-app.mjs makes it first.
 */
export function packagedFunctionsApp(from: string = __dirname, log: (line: string) => void = () => undefined): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const app = path.join(dir, 'dist', 'functions-app');
    if (PACKAGED_APP_FILES.every((file) => existsSync(path.join(app, file)))) return app;
    const script = path.join(dir, 'build', 'functions-app.mjs');
    if (existsSync(script)) {
      log('packaging the Functions app for func start (node build/functions-app.mjs)…');
      const build = spawnSync(process.execPath, [script], { cwd: dir, encoding: 'utf8' });
      if (build.status !== 0) throw new Error(`node build/functions-app.mjs failed: ${build.stderr || build.stdout}`);
      if (PACKAGED_APP_FILES.every((file) => existsSync(path.join(app, file)))) return app;
      throw new Error(`node build/functions-app.mjs did not write ${app}`);
    }
    if (path.dirname(dir) === dir) throw new Error(`the packaged Functions app (dist/functions-app) is not found above ${from}: run npm run build in the vmss-mesh checkout`);
  }
}

export interface FuncHostOptions {
  readonly funcBinary: string;
  /** App settings (local.settings.json `Values`). */
  readonly settings: Readonly<Record<string, string>>;
  /** 0 = a free port. */
  readonly port: number;
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
  /** The packaged app to stage (default: packagedFunctionsApp()). */
  readonly appDir?: string;
}

export async function startFuncHost(options: FuncHostOptions): Promise<FunctionsHost> {
  const log = options.log ?? (() => undefined);
  const packaged = options.appDir ?? packagedFunctionsApp(__dirname, log);
  const appDir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-func-'));
  // A copy, not links: func and the worker see one self-contained folder, as after a zip deploy.
  cpSync(packaged, appDir, { recursive: true });
  writeFileSync(
    path.join(appDir, 'local.settings.json'),
    JSON.stringify({ IsEncrypted: false, Values: { FUNCTIONS_WORKER_RUNTIME: 'node', AzureWebJobsStorage: 'UseDevelopmentStorage=true', ...options.settings } }, null, 2),
  );
  const port = options.port || (await freePort());
  const child: ChildProcess = spawn(options.funcBinary, ['start', '--port', String(port)], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] });
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
