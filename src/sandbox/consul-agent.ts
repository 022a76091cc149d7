/**
 * A real `consul agent -dev` for the sandbox when a `consul` binary is on the PATH: every port on
 * 127.0.0.1 and free, DNS and gRPC off, a temporary data directory, stopped with the sandbox.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { startHelperProcess, waitUntilReady } from './helper-process';

export interface ConsulAgent {
  readonly url: string;
  close(): Promise<void>;
}

export async function startConsulAgent(binary: string, timeoutMs = 30_000): Promise<ConsulAgent> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'vmss-mesh-consul-'));
  const [http, serfLan, serfWan, server] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const agent = startHelperProcess(
    binary,
    ['agent', '-dev', '-bind=127.0.0.1', '-client=127.0.0.1', `-data-dir=${dataDir}`, `-http-port=${http}`, `-serf-lan-port=${serfLan}`, `-serf-wan-port=${serfWan}`, `-server-port=${server}`, '-dns-port=-1', '-grpc-port=-1'],
    { scratchDir: dataDir, tailChars: 4000 },
  );
  const url = `http://127.0.0.1:${http}`;
  // Ready once a leader is elected (a dev agent elects itself within a second or two).
  await waitUntilReady(agent, {
    name: 'consul agent -dev',
    ready: async () => {
      const leader = await fetch(`${url}/v1/status/leader`).then((r) => (r.ok ? r.json() : ''), () => '');
      return typeof leader === 'string' && leader.length > 2;
    },
    timeoutMs,
    notReady: `elected no leader within ${timeoutMs} ms`,
    pollMs: 200,
  });
  return { url, close: () => agent.close() };
}
