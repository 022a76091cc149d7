/**
 * The real Azurite (npm) as AzureWebJobsStorage for the local Functions app: blob, queue and
 * table services on 127.0.0.1, free ports, a temporary folder, stopped with the sandbox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
/** Azurite's published development account (not a secret). */
const DEV_ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  readonly blobUrl: string;
  readonly queueUrl: string;
  readonly tableUrl: string;
  /** For AzureWebJobsStorage. */
  readonly connectionString: string;
  /** Process id of the Azurite process. */
  readonly pid: number;
  close(): Promise<void>;
}

/** Starts Azurite, or resolves to null (with the reason) when the package is not installed. */
export async function startAzurite(): Promise<Azurite | { readonly unavailable: string }> {
  let main: string;
  try {
    main = require.resolve('azurite/dist/src/azurite.js');
  } catch {
    return { unavailable: 'the azurite package is not installed (npm ci installs it; production installs skip it)' };
  }
  const location = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-azurite-'));
  const args = ['--blobHost', '127.0.0.1', '--blobPort', '0', '--queueHost', '127.0.0.1', '--queuePort', '0', '--tableHost', '127.0.0.1', '--tablePort', '0', '--location', location, '--skipApiVersionCheck', '--disableTelemetry'];
  // Azurite runs behind a two-line guard: it exits when its stdin (a pipe from this process)
  // closes, so a sandbox that is killed outright (SIGKILL, a crash) leaves no Azurite behind.
  const guard = `process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume(); process.argv.splice(1, 0, ${JSON.stringify(main)}); require(${JSON.stringify(main)});`;
  const child: ChildProcess = spawn(process.execPath, ['-e', guard, '--', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    // Closing its stdin is what stops the guarded Azurite (the pipe also keeps it alive until then);
    // one that does not stop (wedged starting up, say) is killed.
    if (child.exitCode === null && child.signalCode === null) {
      child.stdin?.end();
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => (timer = setTimeout(() => resolve(void child.kill('SIGKILL')), STOP_GRACE_MS)));
      await Promise.race([exited, killed]);
      clearTimeout(timer);
    }
    await exited;
    rmSync(location, { recursive: true, force: true });
  };
  try {
    const urls = await new Promise<Record<'blob' | 'queue' | 'table', string>>((resolve, reject) => {
      let seen = '';
      const found: Partial<Record<'blob' | 'queue' | 'table', string>> = {};
      const onData = (chunk: Buffer) => {
        seen += chunk.toString();
        for (const kind of ['blob', 'queue', 'table'] as const) {
          const match = new RegExp(`${kind} service is successfully listening at (http://127\\.0\\.0\\.1:\\d+)`, 'i').exec(seen);
          if (match?.[1]) found[kind] = match[1];
        }
        if (found.blob && found.queue && found.table) resolve(found as Record<'blob' | 'queue' | 'table', string>);
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => reject(new Error(`azurite exited (${code}) before listening: ${seen.slice(-500)}`)));
      setTimeout(() => reject(new Error(`azurite did not listen within ${START_TIMEOUT_MS / 1000} s: ${seen.slice(-500)}`)), START_TIMEOUT_MS).unref();
    });
    return {
      pid: child.pid!,
      blobUrl: urls.blob,
      queueUrl: urls.queue,
      tableUrl: urls.table,
      connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};BlobEndpoint=${urls.blob}/${DEV_ACCOUNT};QueueEndpoint=${urls.queue}/${DEV_ACCOUNT};TableEndpoint=${urls.table}/${DEV_ACCOUNT};`,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
