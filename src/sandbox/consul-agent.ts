/**
 * A real `consul agent -dev` for the sandbox when a `consul` binary is on the PATH: every port on
 * 127.0.0.1 and free, DNS and gRPC off, a temporary data directory, stopped with the sandbox.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';

export interface ConsulAgent {
  readonly url: string;
  close(): Promise<void>;
}

export async function startConsulAgent(binary: string, timeoutMs = 30_000): Promise<ConsulAgent> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-consul-'));
  const [http, serfLan, serfWan, server] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const child: ChildProcess = spawn(
    binary,
    ['agent', '-dev', '-bind=127.0.0.1', '-client=127.0.0.1', `-data-dir=${dataDir}`, `-http-port=${http}`, `-serf-lan-port=${serfLan}`, `-serf-wan-port=${serfWan}`, `-server-port=${server}`, '-dns-port=-1', '-grpc-port=-1'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr?.on('data', (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dataDir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${http}`;
  const deadline = Date.now() + timeoutMs;
  // Ready once a leader is elected (a dev agent elects itself within a second or two).
  for (;;) {
    if (child.exitCode !== null) {
      await close();
      throw new Error(`consul agent -dev exited (${child.exitCode}): ${output}`);
    }
    const leader = await fetch(`${url}/v1/status/leader`).then((r) => (r.ok ? r.json() : ''), () => '');
    if (typeof leader === 'string' && leader.length > 2) return { url, close };
    if (Date.now() > deadline) {
      await close();
      throw new Error(`consul agent -dev elected no leader within ${timeoutMs} ms: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
