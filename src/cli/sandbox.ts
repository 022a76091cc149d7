/**
 * `vmss-mesh sandbox status|scale|fail|heal|event-chaos`: looks at and acts on the running
 * sandbox through its control server (the same API the status page's buttons use).
 */
import { parseArgs } from 'node:util';
import { MAX_SANDBOX_CAPACITY, parseSandboxAction } from '../sandbox/control/action-schema';
import { fetchSandboxState, followSandboxState, sendSandboxAction, SandboxUnreachableError } from '../sandbox/control/control-client';
import { resolveSandboxUrl, SANDBOX_URL_SETTING } from '../sandbox/control/discovery';
import type { SandboxAction } from '../sandbox/sandbox-state';
import { renderStatusLines, TerminalView, type TerminalOutput } from '../sandbox/terminal-view';
import { errorMessage, InvalidInputError } from '../shared/errors';
import { EXIT, UsageError, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh sandbox <command> [options]

Looks at and acts on the running sandbox (\`npm start\`), like the buttons of its status page.

Commands:
  status [--json] [--watch]   Print the whole state: ARM instances, Consul checks, relay clients and
                              versions, traffic. --json for scripts; --watch keeps it updating.
  scale <set> <n>             Set the capacity of scale set <set> to <n> (0–${MAX_SANDBOX_CAPACITY}).
  fail <instance>             Make an instance fail its application health probe.
  heal <instance>             Make it healthy again.
  event-chaos on|off          Deliver Event Grid events duplicated and out of order (on) or as sent (off).

Options:
      --url URL   The sandbox's control server. Default: ${SANDBOX_URL_SETTING}, then the file
                  .vmss-mesh/sandbox.json the sandbox writes in the directory it was started from.
      --json      (status) Print JSON.
      --watch     (status) Redraw the table as the sandbox changes (plain change lines when not a
                  terminal) until Ctrl-C.
  -h, --help      Show this help.

Exit codes: 0 done, 1 no running sandbox or the sandbox refused the action, 2 usage error.
`;

interface Parsed {
  readonly command: string | undefined;
  readonly operands: string[];
  readonly url: string | undefined;
  readonly json: boolean;
  readonly watch: boolean;
  readonly help: boolean;
}

function parse(args: string[]): Parsed {
  let result;
  try {
    result = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { url: { type: 'string' }, json: { type: 'boolean' }, watch: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
  const [command, ...operands] = result.positionals;
  return { command, operands, url: result.values.url, json: result.values.json ?? false, watch: result.values.watch ?? false, help: result.values.help ?? false };
}

function operandsFor(parsed: Pick<Parsed, 'command' | 'operands'>, names: readonly string[]): string[] {
  if (parsed.operands.length !== names.length) {
    const form = `sandbox ${parsed.command ?? ''} ${names.map((n) => `<${n}>`).join(' ')}`.trim();
    throw new UsageError(`expected ${form}, got ${parsed.operands.length} argument${parsed.operands.length === 1 ? '' : 's'}`);
  }
  return parsed.operands;
}

/** The action a command line asks for; argument mistakes are usage errors (exit 2). */
export function actionOf(parsed: Pick<Parsed, 'command' | 'operands'>): SandboxAction {
  let action: unknown;
  switch (parsed.command) {
    case 'scale': {
      const [scaleSet, count] = operandsFor(parsed, ['set', 'n']);
      if (!/^\d+$/.test(count ?? '')) throw new UsageError(`<n> must be a whole number 0–${MAX_SANDBOX_CAPACITY}, got ${JSON.stringify(count)}`);
      action = { action: 'scale', scaleSet, capacity: Number(count) };
      break;
    }
    case 'fail':
    case 'heal': {
      const [instance] = operandsFor(parsed, ['instance']);
      action = { action: parsed.command, instance };
      break;
    }
    case 'event-chaos': {
      const [mode] = operandsFor(parsed, ['on|off']);
      if (mode !== 'on' && mode !== 'off') throw new UsageError(`event-chaos takes on or off, got ${JSON.stringify(mode)}`);
      action = { action: 'event-chaos', enabled: mode === 'on' };
      break;
    }
    default:
      throw new UsageError(parsed.command === undefined ? 'missing command (status, scale, fail, heal or event-chaos)' : `unknown command ${JSON.stringify(parsed.command)} (status, scale, fail, heal or event-chaos)`);
  }
  try {
    return parseSandboxAction(action);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new UsageError(error.message);
    throw error;
  }
}

async function sandboxUrl(parsed: Parsed, io: CliIo): Promise<string> {
  const found = await resolveSandboxUrl({ ...(parsed.url !== undefined ? { flag: parsed.url } : {}), env: io.env, cwd: io.cwd });
  if (!found) throw new SandboxUnreachableError(undefined);
  return found.url;
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const parsed = parse(args);
  if (parsed.help) {
    io.stdout.write(USAGE);
    return EXIT.ok;
  }
  if (parsed.command !== 'status' && (parsed.json || parsed.watch)) throw new UsageError('--json and --watch belong to `sandbox status`');
  if (parsed.command === 'status') {
    operandsFor(parsed, []);
    if (parsed.json && parsed.watch) throw new UsageError('--json and --watch cannot be combined');
    const url = await sandboxUrl(parsed, io);
    if (parsed.watch) return watch(url, io);
    const state = await fetchSandboxState(url);
    if (parsed.json) io.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
    else {
      const out = io.stdout as TerminalOutput;
      const color = out.isTTY === true && io.env.NO_COLOR === undefined;
      io.stdout.write(`${renderStatusLines(state, { width: out.columns ?? 120, timelineLines: 10, color }).join('\n')}\n`);
    }
    return EXIT.ok;
  }
  const action = actionOf(parsed);
  const url = await sandboxUrl(parsed, io);
  const reply = await sendSandboxAction(url, action);
  if (reply.ok) {
    io.stdout.write(`${reply.message}\n`);
    return EXIT.ok;
  }
  io.stderr.write(`vmss-mesh sandbox ${parsed.command}: ${reply.status >= 500 ? 'failed' : 'refused'}: ${reply.message}\n`);
  return EXIT.failure;
}

/** Follows the sandbox's event stream until SIGINT/SIGTERM (exit 0) or the sandbox goes away (exit 1). */
async function watch(url: string, io: CliIo): Promise<number> {
  const view = new TerminalView(io.stdout as TerminalOutput, { color: io.env.NO_COLOR === undefined });
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await followSandboxState(url, (state) => view.update(state), stop.signal);
    return EXIT.ok;
  } catch (error) {
    if (!(error instanceof SandboxUnreachableError)) throw error;
    view.print(`the sandbox at ${url} stopped answering (${error.reason ?? 'no answer'})`);
    return EXIT.failure;
  } finally {
    view.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
