/**
 * The Functions app under Azure Functions Core Tools (`func start`), for users who have them:
 * the compiled app (npm run build) is staged in a temporary app folder with a generated
 * local.settings.json, so the user's own local.settings.json is never touched.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import type { FunctionsHost } from './functions-host/functions-host';

const ROOT = path.resolve(__dirname, '../..');


export interface FuncHostOptions {
  readonly funcBinary: string;
  /** App settings (local.settings.json `Values`). */
  readonly settings: Readonly<Record<string, string>>;
  /** 0 = a free port. */
  readonly port: number;
  readonly log?: (line: string) => void;
  readonly timeoutMs?: number;
}

export async function startFuncHost(options: FuncHostOptions): Promise<FunctionsHost> {
  const log = options.log ?? (() => undefined);
  if (!existsSync(path.join(ROOT, 'dist/src/functions/index.js'))) {
    log('building the app for func start (npm run build)…');
    const build = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed: ${build.stderr || build.stdout}`);
  }
  const appDir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-func-'));
  for (const file of ['host.json', 'package.json']) cpSync(path.join(ROOT, file), path.join(appDir, file));
  for (const dir of ['dist', 'node_modules']) symlinkSync(path.join(ROOT, dir), path.join(appDir, dir), 'dir');
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
