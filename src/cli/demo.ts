/**
 * `vmss-mesh demo` (what `npm start` runs): the whole local sandbox, a live terminal view, and the
 * status page / control API that `vmss-mesh sandbox …` talks to. Runs until Ctrl-C.
 */
import path from 'node:path';
import { startControlServer } from '../sandbox/control/control-server';
import { removeSettingsFile, settingsPath, writeSettingsFile } from '../sandbox/control/discovery';
import { startSandbox } from '../sandbox/sandbox';
import type { SandboxState } from '../sandbox/sandbox-state';
import { TerminalView } from '../sandbox/terminal-view';
import { EXIT, parseArgsOrUsage, UsageError, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh demo [options]

Starts the local sandbox on 127.0.0.1: the HTTPS ARM emulator with a Uniform and a Flexible mesh
scale set, Event Grid deliveries of every ARM operation, Azurite, Consul (a real "consul agent
-dev" when the binary is on the PATH, else the Consul API double), the
Functions app in its local host, the xDS relay, one HTTP + gRPC backend per instance on the
instance's own loopback address, and steady traffic from a real proxyless gRPC client.
A live table shows ARM, Consul, relay and traffic; the status page shows the same with buttons.
Act on it from another terminal: vmss-mesh sandbox scale|fail|heal|event-chaos|status.

Options:
      --port N       Port of the status page / control API (default 7080).
      --fast         Short lifecycle timings (create 0.3 s, drain 1 s, timer every second).
      --free-ports   Let every part pick a free port (default: Functions 7071, relay 18000/18001).
      --no-autoscale Do not run the simulated autoscale rule (CPU from served traffic; out above
                     75 %, in below 25 %, 30 s cooldown; posts the autoscale webhook).
  -h, --help         Show this help.
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgsOrUsage({ args, options: { port: { type: 'string' }, fast: { type: 'boolean' }, 'free-ports': { type: 'boolean' }, 'no-autoscale': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const port = values.port === undefined ? 7080 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, got ${JSON.stringify(values.port)}`);
  const write = (text: string) => void io.stdout.write(text);
  write('starting the vmss-mesh sandbox (nothing from Azure is used)…\n');
  const sandbox = await startSandbox({
    log: (line) => write(`  ${line}\n`),
    autoscaleIntervalMs: values['no-autoscale'] ? 0 : 5000,
    ...(values['free-ports'] ? { hostPort: 0, relayPort: 0, relayAdminPort: 0 } : {}),
    ...(values.fast ? { createDelayMs: 300, drainMs: 1000, timerSchedule: '* * * * * *' } : {}),
  });
  let pageUrl = '';
  const control = await startControlServer({
    state: (): SandboxState => withPage(sandbox.state(), pageUrl),
    act: (action) => sandbox.act(action),
    onChange: (listener) => sandbox.onChange(listener),
    port,
    discoveryDir: io.cwd,
  }).catch(async (error: unknown) => {
    await sandbox.close();
    throw error;
  });
  pageUrl = control.url;
  // The app's settings beside sandbox.json, so `vmss-mesh reconcile --settings` runs against this sandbox.
  const appSettings = sandbox.world.settings;
  const settingsFile = await writeSettingsFile(io.cwd, appSettings).catch((error: unknown) => {
    write(`  could not write ${settingsPath(io.cwd)}: ${error instanceof Error ? error.message : String(error)}\n`);
    return undefined;
  });
  const endpoints = sandbox.state().endpoints;
  write(`  ARM emulator:   ${endpoints.armEmulator}  (HTTPS)\n`);
  write(`  Functions host: ${endpoints.functionsHost}  (routes of func start; status: ${endpoints.functionsHost}/api/status)\n`);
  write(`  xDS relay:      ${endpoints.relayXds}  (admin ${endpoints.relayAdmin})\n`);
  write(`  status page:    ${control.url}\n`);
  if (settingsFile) write(`  app settings:   ${path.relative(io.cwd, settingsFile)}  (npx vmss-mesh reconcile --all --dry-run --settings ${path.relative(io.cwd, settingsFile)})\n`);
  write(`  try: npx vmss-mesh sandbox scale orders 5   |   npx vmss-mesh sandbox status --json\n\n`);

  const view = new TerminalView(process.stdout);
  const stopWatching = sandbox.onChange(() => view.update(withPage(sandbox.state(), control.url)));
  view.update(withPage(sandbox.state(), control.url));
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  stopWatching();
  view.close();
  write('\nstopping the sandbox…\n');
  await control.close();
  if (settingsFile) await removeSettingsFile(io.cwd, appSettings).catch(() => undefined);
  await sandbox.close();
  return EXIT.ok;
}

function withPage(state: SandboxState, url: string): SandboxState {
  return { ...state, endpoints: { ...state.endpoints, statusPage: url } };
}
