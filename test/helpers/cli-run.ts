/** Running `vmss-mesh` from tests: in this process through runCli, or as the installed launcher in a child process. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli/main';

/** The repository root (where bin/ and dist/ are). */
export const ROOT = path.resolve(__dirname, '../..');
/** The installed command's launcher (runs dist/cli/vmss-mesh.js, written by `npm run build`). */
export const BIN = path.join(ROOT, 'bin', 'vmss-mesh.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `vmss-mesh <args>` in this process, its output captured; stdin is empty. */
export async function runCliInProcess(args: readonly string[], options: { env: Record<string, string>; cwd: string }): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  const code = await runCli([...args], { stdin: new PassThrough(), stdout, stderr, env: options.env, cwd: options.cwd });
  return { code, stdout: out, stderr: err };
}

/**
 * `node bin/vmss-mesh.js <args>` in a child process (asynchronously, so servers in this process can
 * answer it). `env` is the child's whole environment (the parent's when left out); with `stdin` the
 * child reads that text, else its stdin is closed.
 */
export function spawnCli(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const spawnOptions = { cwd: options.cwd ?? ROOT, ...(options.env ? { env: options.env } : {}) };
    const child =
      options.stdin === undefined
        ? spawn(process.execPath, [BIN, ...args], { ...spawnOptions, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, [BIN, ...args], { ...spawnOptions, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
  });
}
