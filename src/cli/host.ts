/**
 * `vmss-mesh host`: the Functions app without Azure Functions Core Tools. Serves the routes
 * `func start` serves, runs the timer, and reads the app settings from the environment.
 */
import { loadConfig } from '../shared/config';
import { triggerOf } from '../sandbox/functions-worker/bindings';
import { startFunctionsHost } from '../sandbox/functions-host/functions-host';
import { EXIT, parseArgsOrUsage, UsageError, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh host [options]

Runs the packaged Functions app (dist/functions-app, built by \`npm run build\`) locally, as the
Azure Functions Node.js worker loads it, and serves the routes of \`func start\` from the
functions it registers:
  POST /runtime/webhooks/eventgrid?functionName=vmssEvents   Event Grid deliveries (aeg-event-type header)
  POST /api/autoscaleWebhook                                 Azure Monitor autoscale webhook
  GET  /api/status                                           what the mesh holds
  POST /admin/functions/reconcileTimer                       run the full reconcile now (body {} or {"input": ...})
and runs reconcileTimer on VMSS_MESH_RECONCILE_SCHEDULE. Settings come from the environment
(see README "Settings"); VMSS_MESH_SUBSCRIPTIONS is required.

Options:
  -p, --port N       Port (default 7071, as func start).
      --app DIR      The Functions app folder (default: the packaged app, dist/functions-app).
      --host ADDR    Address to bind (default 127.0.0.1).
      --no-timers    Do not run the timer on its schedule.
  -h, --help         Show this help.
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgsOrUsage({
    args,
    options: { port: { type: 'string', short: 'p' }, host: { type: 'string' }, app: { type: 'string' }, 'no-timers': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: false,
  });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const port = values.port === undefined ? 7071 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, got ${JSON.stringify(values.port)}`);
  // Fail fast on bad settings, before anything listens.
  loadConfig(io.env);
  const host = await startFunctionsHost({ ...(values.app ? { appDirectory: values.app } : {}), env: io.env, port, host: values.host ?? '127.0.0.1', runTimers: !values['no-timers'] });
  io.stdout.write(`vmss-mesh Functions host listening on ${host.url} (app: ${host.app.entryPoint})\n`);
  for (const fn of host.app.functions) {
    const trigger = triggerOf(fn.metadata);
    const name = fn.metadata.name ?? '';
    const type = trigger.type.toLowerCase();
    if (type === 'eventgridtrigger') io.stdout.write(`  ${name}: POST ${host.url}/runtime/webhooks/eventgrid?functionName=${name}\n`);
    else if (type === 'timertrigger') io.stdout.write(`  ${name}: timer ${String(trigger.schedule)}${values['no-timers'] ? ' (not running: --no-timers)' : ''}; run now: POST ${host.url}/admin/functions/${name}\n`);
  }
  for (const route of host.routes) io.stdout.write(`  ${route.functionName}: ${route.methods.join(',')} ${host.url}${route.path} (authLevel ${route.authLevel}; keys are not checked locally)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  io.stdout.write('stopping…\n');
  await host.close();
  return EXIT.ok;
}
