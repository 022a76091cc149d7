/**
 * `vmss-mesh sandbox status|scale|fail|fail-half|heal|event-chaos|rollout`: looks at and acts on
 * the running sandbox through its control server (the same API the status page's buttons use).
 */
import { MAX_SANDBOX_CAPACITY, parseSandboxAction } from '../sandbox/control/action-schema';
import { fetchSandboxState, followSandboxState, sendSandboxAction, SandboxUnreachableError } from '../sandbox/control/control-client';
import { resolveSandboxUrl, SANDBOX_URL_SETTING } from '../sandbox/control/discovery';
import { DEFAULT_HOLD_CALLS, parseSteps } from '../sandbox/rollout-request';
import type { SandboxAction, SandboxState } from '../sandbox/sandbox-state';
import { renderStatusLines, TerminalView, type TerminalOutput } from '../sandbox/terminal-view';
import { errorMessage, InvalidInputError } from '../shared/errors';
import { EXIT, parseArgsOrUsage, UsageError, type CliIo } from './command';

const USAGE = `Usage: vmss-mesh sandbox <command> [options]

Looks at and acts on the running sandbox (\`npm start\`), like the buttons of its status page.

Commands:
  status [--json] [--watch]   Print the whole state: ARM instances, Consul checks, relay clients and
                              versions, traffic. --json for scripts; --watch keeps it updating.
  scale <set> <n>             Set the capacity of scale set <set> to <n> (0–${MAX_SANDBOX_CAPACITY}).
  fail <instance>             Make an instance fail its application health probe.
  fail-half <instance>        Make an instance fail every other gRPC call with UNAVAILABLE (its health
                              probe stays Healthy: what retries are for).
  heal <instance>             Make it healthy again (ends fail and fail-half).
  event-chaos on|off          Deliver Event Grid events duplicated and out of order (on) or as sent (off).
  rollout <service|set> --to <new set|image> --steps 10,50,100 [--hold-calls N]
                              Blue/green: create a second scale set for the service (same tags and
                              capacity, vmss-mesh-weight=0), wait until its instances are registered
                              and serving, shift the weight step by step (ARM tag writes: the same
                              path as a scale-out), then retire the old scale set (weight 0, no call
                              reaches it, deleted). Prints each step: weights, time from the tag
                              write to the clients having them, measured shares, failed calls.

Options:
      --url URL   The sandbox's control server. Default: ${SANDBOX_URL_SETTING}, then the file
                  .vmss-mesh/sandbox.json the sandbox writes in the directory it was started from.
      --json      (status) Print JSON.
      --watch     (status) Redraw the table as the sandbox changes (plain change lines when not a
                  terminal) until Ctrl-C.
      --to X      (rollout) The new scale set's name, or an image reference (with ":" or "/", e.g.
                  Canonical:ubuntu-24_04-lts:server:latest; the new set is then named <set>-v2, …).
      --steps L   (rollout) The new scale set's share after each step, in percent: increasing,
                  1–100, ending at 100.
      --hold-calls N  (rollout) Calls of the sandbox's traffic counted at each step before the next
                  (default ${DEFAULT_HOLD_CALLS}); 0 = move on as soon as the clients have the weights.
  -h, --help      Show this help.

Exit codes: 0 done, 1 no running sandbox, the sandbox refused the action or the rollout failed,
2 usage error.
`;

const COMMAND_LIST = 'status, scale, fail, fail-half, heal, event-chaos or rollout';

interface Parsed {
  readonly command: string | undefined;
  readonly operands: string[];
  readonly url: string | undefined;
  readonly json: boolean;
  readonly watch: boolean;
  readonly help: boolean;
  readonly to: string | undefined;
  readonly steps: string | undefined;
  readonly holdCalls: string | undefined;
}

function parse(args: string[]): Parsed {
  const result = parseArgsOrUsage({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      json: { type: 'boolean' },
      watch: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      to: { type: 'string' },
      steps: { type: 'string' },
      'hold-calls': { type: 'string' },
    },
  });
  const [command, ...operands] = result.positionals;
  const v = result.values;
  return { command, operands, url: v.url, json: v.json ?? false, watch: v.watch ?? false, help: v.help ?? false, to: v.to, steps: v.steps, holdCalls: v['hold-calls'] };
}

function operandsFor(parsed: Pick<Parsed, 'command' | 'operands'>, names: readonly string[]): string[] {
  if (parsed.operands.length !== names.length) {
    const form = `sandbox ${parsed.command ?? ''} ${names.map((n) => `<${n}>`).join(' ')}`.trim();
    throw new UsageError(`expected ${form}, got ${parsed.operands.length} argument${parsed.operands.length === 1 ? '' : 's'}`);
  }
  return parsed.operands;
}

/** The action a command line asks for; argument mistakes are usage errors (exit 2). */
export function actionOf(parsed: Pick<Parsed, 'command' | 'operands'> & Partial<Pick<Parsed, 'to' | 'steps' | 'holdCalls'>>): SandboxAction {
  if (parsed.command !== 'rollout' && (parsed.to !== undefined || parsed.steps !== undefined || parsed.holdCalls !== undefined)) throw new UsageError('--to, --steps and --hold-calls belong to `sandbox rollout`');
  let action: unknown;
  switch (parsed.command) {
    case 'scale': {
      const [scaleSet, count] = operandsFor(parsed, ['set', 'n']);
      if (!/^\d+$/.test(count ?? '')) throw new UsageError(`<n> must be a whole number 0–${MAX_SANDBOX_CAPACITY}, got ${JSON.stringify(count)}`);
      action = { action: 'scale', scaleSet, capacity: Number(count) };
      break;
    }
    case 'fail':
    case 'fail-half':
    case 'heal': {
      const [instance] = operandsFor(parsed, ['instance']);
      action = { action: parsed.command, instance };
      break;
    }
    case 'rollout': {
      const [service] = operandsFor(parsed, ['service|set']);
      if (parsed.to === undefined) throw new UsageError('rollout needs --to <new scale set name or image reference>');
      if (parsed.steps === undefined) throw new UsageError('rollout needs --steps, e.g. --steps 10,50,100');
      let steps: number[];
      try {
        steps = parseSteps(parsed.steps);
      } catch (error) {
        throw new UsageError(errorMessage(error));
      }
      if (parsed.holdCalls !== undefined && !/^\d+$/.test(parsed.holdCalls)) throw new UsageError(`--hold-calls must be a whole number, got ${JSON.stringify(parsed.holdCalls)}`);
      action = { action: 'rollout', service, to: parsed.to, steps, ...(parsed.holdCalls === undefined ? {} : { holdCalls: Number(parsed.holdCalls) }) };
      break;
    }
    case 'event-chaos': {
      const [mode] = operandsFor(parsed, ['on|off']);
      if (mode !== 'on' && mode !== 'off') throw new UsageError(`event-chaos takes on or off, got ${JSON.stringify(mode)}`);
      action = { action: 'event-chaos', enabled: mode === 'on' };
      break;
    }
    default:
      throw new UsageError(parsed.command === undefined ? `missing command (${COMMAND_LIST})` : `unknown command ${JSON.stringify(parsed.command)} (${COMMAND_LIST})`);
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
    return action.action === 'rollout' ? followRollout(url, io) : EXIT.ok;
  }
  io.stderr.write(`vmss-mesh sandbox ${parsed.command}: ${reply.status >= 500 ? 'failed' : 'refused'}: ${reply.message}\n`);
  return EXIT.failure;
}

/**
 * Prints the rollout's progress lines as the sandbox pushes them, until it is done (exit 0) or
 * failed (exit 1). Ctrl-C stops following; the rollout goes on in the sandbox.
 */
async function followRollout(url: string, io: CliIo): Promise<number> {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let id: number | undefined;
  let printed = 0;
  let outcome: number | undefined;
  const onState = (state: SandboxState) => {
    const rollout = state.rollout;
    if (!rollout || outcome !== undefined) return;
    // The rollout this command started is the running one (the sandbox runs one at a time).
    id ??= rollout.id;
    if (rollout.id !== id) return;
    for (const line of rollout.lines.slice(printed)) io.stdout.write(`  ${line}\n`);
    printed = rollout.lines.length;
    if (rollout.phase === 'done' || rollout.phase === 'failed') {
      outcome = rollout.phase === 'done' ? EXIT.ok : EXIT.failure;
      stop.abort();
    }
  };
  try {
    await followSandboxState(url, onState, stop.signal);
    if (outcome === undefined) io.stderr.write('stopped following; the rollout goes on in the sandbox (vmss-mesh sandbox status shows it)\n');
    return outcome ?? EXIT.ok;
  } catch (error) {
    if (!(error instanceof SandboxUnreachableError)) throw error;
    io.stderr.write(`the sandbox at ${url} stopped answering during the rollout (${error.reason ?? 'no answer'})\n`);
    return EXIT.failure;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
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
