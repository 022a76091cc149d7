/**
 * Child process of functions-telemetry-distro.test.ts: the local host serving the packaged app with
 * APPLICATIONINSIGHTS_CONNECTION_STRING set, in a process of its own (the distro registers the
 * process's global OpenTelemetry providers, and the ingestion server's CA is trusted through
 * NODE_EXTRA_CA_CERTS, read only at a process's start). Exercises the app, closes the host (the
 * worker's shutdown flushes the metrics) and, when the process ends, prints one JSON line: the
 * answers, and every host a socket of this process connected to.
 */
import net from 'node:net';
import { startFunctionsHost } from '../../src/sandbox/functions-host/functions-host';

const connectedTo: string[] = [];
const originalConnect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function connect(this: net.Socket, ...args: unknown[]) {
  // net.connect() and http(s) agents call it with Node's normalized arguments: [[options, callback]].
  const first: unknown = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
  const options = typeof first === 'object' && first !== null ? (first as { host?: string; path?: string }) : undefined;
  if (options?.path === undefined) connectedTo.push(String(options ? (options.host ?? 'localhost') : typeof args[1] === 'string' ? args[1] : 'localhost'));
  return (originalConnect as (...a: unknown[]) => net.Socket).apply(this, args);
} as typeof net.Socket.prototype.connect;

interface ChildInput {
  readonly appDirectory: string;
  readonly env: Record<string, string>;
  readonly autoscaleBody: string;
}

const input = JSON.parse(process.env.TELEMETRY_CHILD_INPUT ?? '{}') as ChildInput;
const answers: Record<string, number | string> = {};
process.on('exit', () => process.stdout.write(`${JSON.stringify({ answers, connectedTo })}\n`));

void (async () => {
  const host = await startFunctionsHost({ appDirectory: input.appDirectory, env: input.env, port: 0, runTimers: false, log: () => undefined });
  const status = await fetch(`${host.url}/api/status`);
  answers.status = status.status;
  await status.body?.cancel();
  const autoscale = await fetch(`${host.url}/api/autoscaleWebhook`, { method: 'POST', body: input.autoscaleBody });
  answers.autoscale = autoscale.status;
  await autoscale.body?.cancel();
  const metrics = await fetch(`${host.url}/metrics`);
  answers.metrics = metrics.status;
  answers.metricsText = await metrics.text();
  await host.close();
  answers.closed = 1;
})();
