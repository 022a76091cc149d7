/**
 * The `vmss-mesh` command: a table of subcommands and a dispatcher. Adding a subcommand is one
 * line in COMMANDS; its module exports `run(args, io)` and is loaded only when used, so a quick
 * `events explain` never pays for the relay's gRPC stack.
 *
 * Exit codes (`EXIT`): 0 success, 1 failure (bad input, unreachable dependency), 2 usage or
 * configuration error; `reconcile` adds 3 for "changes planned or applied" (its --help).
 */
import { ConfigError, errorMessage, InvalidInputError } from '../shared/errors';
import { EXIT, UsageError, type CliIo, type CommandModule } from './command';

export { EXIT, UsageError, type CliIo, type CommandModule, type CommandRun } from './command';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => CommandModule;
}

// `require` rather than `import()`: the compiled CLI (build/cli.mjs, one esbuild bundle) keeps each
// required module lazy, initialised on first use; and when the sources run under tsx (tests,
// `npm run vmss-mesh`) a dynamic import would go through Node's ESM loader, which cannot resolve
// extensionless TypeScript paths.
const lazy = (summary: string, load: () => unknown): CommandEntry => ({ summary, load: () => load() as CommandModule });

/** Subcommand words → module. Keep sorted; one line each. */
const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  'bootstrap envoy': lazy('Print an Envoy bootstrap that takes its configuration from a relay over ADS (--delta or --sotw)', () => ({ run: require('./bootstrap').runEnvoy })),
  'bootstrap grpc': lazy('Print a GRPC_XDS_BOOTSTRAP document for proxyless gRPC clients of a relay', () => ({ run: require('./bootstrap').runGrpc })),
  chaos: lazy('Run the seeded chaos soak over the sandbox and print its table by fault class (what npm run chaos runs)', () => require('./chaos')),
  'deadletter replay': lazy('Replay the events Event Grid dead-lettered to a blob container through the vmssEvents function', () => require('./deadletter')),
  demo: lazy('Run the whole local sandbox (what npm start runs): live table, status page, control API', () => require('./demo')),
  'events explain': lazy('Explain what the app would do with an Event Grid delivery or autoscale webhook body', () => require('./events-explain')),
  host: lazy('Run the Functions app locally (the routes of `func start`) with settings from the environment', () => require('./host')),
  reconcile: lazy('Reconcile the given scale sets (or --all) as the app does, from a terminal; --dry-run prints the plan and writes nothing', () => require('./reconcile')),
  relay: lazy('Run the xDS relay: ADS (SotW and Delta) and the push API, fed by pushes and a Consul watch', () => require('./relay')),
  sandbox: lazy('Look at and act on the running sandbox: status [--json], scale <set> <n>, fail|fail-half|heal <instance>, event-chaos on|off, rollout <service> --to <set|image> --steps 10,50,100', () => require('./sandbox')),
  scenario: lazy('Run the scripted sandbox story and print its report (what npm run scenario runs)', () => require('./scenario')),
};

function findCommand(args: readonly string[]): { name: string; entry: CommandEntry; rest: string[] } | undefined {
  let best: { name: string; entry: CommandEntry; rest: string[] } | undefined;
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const words = name.split(' ');
    if (words.every((word, i) => args[i] === word) && (!best || words.length > best.name.split(' ').length)) {
      best = { name, entry, rest: args.slice(words.length) };
    }
  }
  return best;
}

function helpText(prefix?: string): string {
  const names = Object.keys(COMMANDS).filter((name) => !prefix || name.startsWith(`${prefix} `));
  const width = Math.max(...names.map((name) => name.length));
  const lines = names.map((name) => `  ${name.padEnd(width)}  ${COMMANDS[name]?.summary ?? ''}`);
  return ['Usage: vmss-mesh <command> [options]', '', 'Commands:', ...lines, '', 'Run `vmss-mesh <command> --help` for the options of a command.', ''].join('\n');
}

export async function runCli(args: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const full: CliIo = {
    stdin: io.stdin ?? process.stdin,
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
  };
  if (args.length === 0 || args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    full.stdout.write(helpText());
    return args.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const found = findCommand(args);
  if (!found) {
    const group = Object.keys(COMMANDS).some((name) => name.startsWith(`${args[0]} `)) ? args[0] : undefined;
    full.stderr.write(group ? `vmss-mesh: unknown or missing subcommand of ${JSON.stringify(group)}\n\n${helpText(group)}` : `vmss-mesh: unknown command ${JSON.stringify(args[0])}\n\n${helpText()}`);
    return EXIT.usage;
  }
  try {
    return await found.entry.load().run(found.rest, full);
  } catch (error) {
    if (error instanceof UsageError) {
      full.stderr.write(`vmss-mesh ${found.name}: ${error.message}\nRun \`vmss-mesh ${found.name} --help\` for usage.\n`);
      return EXIT.usage;
    }
    if (error instanceof ConfigError) {
      full.stderr.write(`vmss-mesh ${found.name}: configuration error: ${error.message}\n`);
      return EXIT.usage;
    }
    const kind = error instanceof InvalidInputError ? 'invalid input' : 'error';
    full.stderr.write(`vmss-mesh ${found.name}: ${kind}: ${errorMessage(error)}\n`);
    return EXIT.failure;
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
