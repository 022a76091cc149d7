/**
 * Every `vmss-mesh` subcommand parses its flags through one parseArgsOrUsage (src/cli/command.ts):
 * a flag node:util's parseArgs refuses is a usage error — its message after the command's name,
 * a pointer to that command's --help, nothing on stdout, exit 2 — never an "error:" with exit 1.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ROOT, runCliInProcess } from '../helpers/cli-run';

/** Commands that take positional arguments: parseArgs' message for an unknown flag then says how to pass one. */
const TAKES_POSITIONALS = new Set(['events explain', 'reconcile', 'sandbox']);
const unknownFlag = (command: string) => `Unknown option '--bogus'${TAKES_POSITIONALS.has(command) ? `. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- "--bogus"` : ''}`;
const NO_POSITIONALS = "Unexpected argument 'extra'. This command does not take positional arguments";

/** Per command, besides `--bogus`: a string flag without its value, a boolean flag given one, a positional where none is taken. */
const CASES: Readonly<Record<string, readonly (readonly [args: readonly string[], message: string])[]>> = {
  'bootstrap envoy': [[['--relay'], "Option '--relay <value>' argument missing"]],
  'bootstrap grpc': [[['--zone'], "Option '--zone <value>' argument missing"]],
  chaos: [[['--seed'], "Option '--seed <value>' argument missing"], [['extra'], NO_POSITIONALS]],
  'deadletter replay': [[['--container'], "Option '-c, --container <value>' argument missing"]],
  demo: [[['--port'], "Option '--port <value>' argument missing"], [['--fast=1'], "Option '--fast' does not take an argument"]],
  'events explain': [[['--subscription'], "Option '-s, --subscription <value>' argument missing"]],
  host: [[['--port'], "Option '-p, --port <value>' argument missing"], [['-x'], "Unknown option '-x'"], [['extra'], NO_POSITIONALS]],
  reconcile: [[['--settings'], "Option '--settings <value>' argument missing"]],
  relay: [[['--listen'], "Option '--listen <value>' argument missing"], [['--push-disabled=yes'], "Option '--push-disabled' does not take an argument"]],
  sandbox: [[['status', '--to'], "Option '--to <value>' argument missing"]],
  scenario: [[['--fast=1'], "Option '--fast' does not take an argument"], [['extra'], NO_POSITIONALS]],
};

const run = (args: readonly string[]) => runCliInProcess(args, { env: {}, cwd: ROOT });

describe('vmss-mesh: a flag parseArgs refuses is a usage error in every command', () => {
  test('the table covers every command `vmss-mesh --help` lists', async () => {
    const help = await run(['--help']);
    const listed = [...help.stdout.matchAll(/^ {2}(\S+(?: [a-z]+)?) {2,}/gm)].map((m) => m[1]);
    assert.ok(listed.length > 0, help.stdout);
    assert.deepEqual(listed, Object.keys(CASES));
  });

  for (const [command, cases] of Object.entries(CASES)) {
    for (const [args, message] of [[['--bogus'], unknownFlag(command)] as const, ...cases]) {
      test(`${command} ${args.join(' ')}`, async () => {
        const result = await run([...command.split(' '), ...args]);
        assert.deepEqual(result, { code: 2, stdout: '', stderr: `vmss-mesh ${command}: ${message}\nRun \`vmss-mesh ${command} --help\` for usage.\n` });
      });
    }
  }
});
