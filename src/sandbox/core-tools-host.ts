/**
 * The Functions app under Azure Functions Core Tools (`func start`), for users who have them:
 * the packaged app (dist/functions-app from build/functions-app.mjs: host.json, a package.json
 * whose main is one bundle, main.js, proto/) is copied to a temporary folder with a generated
 * local.settings.json, so func runs what a deployment runs and the user's own
 * local.settings.json is never touched.
 */
import { cpSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { startHelperProcess, waitUntilReady } from './helper-process';
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
  const func = startHelperProcess(options.funcBinary, ['start', '--port', String(port)], {
    cwd: appDir,
    env: { ...process.env, ...options.settings },
    scratchDir: appDir,
    tailChars: 8000,
    onOutput: (chunk) => {
      for (const line of chunk.split('\n')) if (line.trim()) log(`func: ${line.trim()}`);
    },
  });
  const close = () => func.close();
  const url = `http://127.0.0.1:${port}`;
  // Ready when the host answers its status endpoint (func serves /admin/host/status).
  await waitUntilReady(func, {
    name: 'func start',
    ready: async () => (await fetch(`${url}/admin/host/status`).then((r) => r.status, () => 0)) === 200,
    timeoutMs: options.timeoutMs ?? 120_000,
    notReady: `did not answer on ${url} in time`,
    pollMs: 250,
  });
  return {
    url,
    async invoke(name) {
      const response = await fetch(`${url}/admin/functions/${encodeURIComponent(name)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"input":null}' });
      if (response.status >= 300) throw new Error(`func refused to run ${name}: ${response.status} ${await response.text()}`);
    },
    close,
  };
}
