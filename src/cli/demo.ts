/** `vmss-mesh demo` (what `npm start` runs): the local world and its scale-out / scale-in story. */
import { parseArgs } from 'node:util';
import { runQuickstart } from '../sandbox/quickstart';
import { EXIT, UsageError, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh demo [options]

Starts the local world on 127.0.0.1 (HTTPS ARM emulator, Consul API double, the Functions app in
its local host), then scales a Uniform and a Flexible scale set out and in through ARM, lets an
instance fail and heal, and shows after each step what Consul holds. Keeps running afterwards
(the timer reconciles every 5 s) until Ctrl-C.

Options:
      --once         Exit after the story (exit code 1 if a step did not converge).
  -p, --port N       Port of the Functions host (default 7071; 0 = any free port).
      --fast         Short lifecycle timings (instances create in 0.2 s, drain in 0.5 s).
  -h, --help         Show this help.
`;

export async function run(args: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args, options: { once: { type: 'boolean' }, port: { type: 'string', short: 'p' }, fast: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  const port = values.port === undefined ? 7071 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, got ${JSON.stringify(values.port)}`);
  const write = (text: string) => void io.stdout.write(text);
  const run = await runQuickstart({
    write,
    hostPort: port,
    ...(values.fast ? { createDelayMs: 200, drainMs: 500, timerSchedule: '* * * * * *' } : {}),
  });
  write(`story done: ${run.steps.length} steps, ${run.steps.reduce((s, x) => s + x.ms, 0)} ms in all\n`);
  if (!values.once) {
    write(`still running — try: curl ${run.world.host.url}/api/status   (Ctrl-C stops everything)\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
  }
  await run.world.close();
  return EXIT.ok;
}
