/**
 * Fuzz of `vmss-mesh bootstrap envoy|grpc` option parsing (src/cli/bootstrap.ts), called in-process
 * with random argument lists: every run prints a bootstrap that reflects the options given, or
 * throws UsageError / ConfigError with a message (exit 2 with a pointer to --help). Nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { runEnvoy, runGrpc } from '../../src/cli/bootstrap';
import { UsageError, type CliIo } from '../../src/cli/command';
import { ConfigError } from '../../src/shared/errors';
import { fuzz } from '../helpers/fuzz-runs';

/** A CliIo whose stdout is collected synchronously (bootstrap writes once, then returns). */
function captureIo(): { io: CliIo; output: () => string } {
  let text = '';
  const stdout = new PassThrough();
  stdout.write = ((chunk: string | Uint8Array) => ((text += String(chunk)), true)) as typeof stdout.write;
  const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {} } as unknown as CliIo;
  return { io, output: () => text };
}

const flag = fc.constantFrom('--relay', '--xds-address', '--node-id', '--cluster', '--node-cluster', '--zone', '--region', '--admin-address', '--delta', '--sotw', '-h', '--help', '--', '-', '--unknown', '--relay=', '-x');
const address = fc.oneof(
  fc.constantFrom('127.0.0.1:18000', 'relay:18000', 'relay.mesh.internal:443', '[::1]:18000', '[fe80::1]:1', 'relay:0', 'relay:65536', 'relay', ':18000', '[::1', '[relay]:1', '10.0.0.1:99999', ' 127.0.0.1:1 ', 'a_b:1', '-a:1'),
  fc.tuple(fc.oneof(fc.ipV4(), fc.domain()), fc.integer({ min: -1, max: 70000 })).map(([h, p]) => `${h}:${p}`),
  fc.ipV6().map((h) => `[${h}]:${18000}`),
);
const value = fc.oneof(address, fc.constantFrom('', ' ', 'gw-1', '1', '2', 'westeurope', '--sotw', '=x'), fc.string({ maxLength: 16 }));
const args: fc.Arbitrary<string[]> = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.tuple(flag, value).map(([f, v]) => [f, v]) },
    { weight: 2, arbitrary: fc.tuple(flag, value).map(([f, v]) => [`${f}=${v}`]) },
    { weight: 1, arbitrary: flag.map((f) => [f]) },
    { weight: 1, arbitrary: value.map((v) => [v]) },
  ),
  { maxLength: 5 },
).map((groups) => groups.flat());

/** The last value given to any of `names` in `argv` (as parseArgs reads it), or undefined. */
function lastValue(argv: readonly string[], names: readonly string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (a === '--') break;
    for (const name of names) {
      if (a === name && i + 1 < argv.length) found = argv[i + 1];
      else if (a.startsWith(`${name}=`)) found = a.slice(name.length + 1);
    }
  }
  return found;
}

async function runOnce(kind: 'envoy' | 'grpc', argv: string[]): Promise<void> {
  const { io, output } = captureIo();
  let code: number;
  try {
    code = await (kind === 'envoy' ? runEnvoy(argv, io) : runGrpc(argv, io));
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof ConfigError)) throw new Error(`threw ${String(error)} for ${JSON.stringify(argv)}`, { cause: error });
    assert.ok(error.message.trim().length > 0, 'an error with a message');
    assert.equal(output(), '', 'nothing printed before the error');
    return;
  }
  assert.equal(code, 0);
  if (argv.some((a) => a === '-h' || a === '--help') && output().startsWith('Usage:')) return;
  const document = JSON.parse(output()) as { node: { id: string; cluster: string; locality?: { zone?: string } } };
  const nodeId = lastValue(argv, ['--node-id']);
  if (nodeId !== undefined) assert.equal(document.node.id, nodeId.trim(), 'node.id is the --node-id given');
  const cluster = lastValue(argv, ['--cluster', '--node-cluster']);
  if (cluster !== undefined) assert.equal(document.node.cluster, cluster.trim());
  const zone = lastValue(argv, ['--zone']);
  if (zone !== undefined && zone.trim() !== '') assert.equal(document.node.locality?.zone, zone.trim());
}

test('fuzz: bootstrap envoy|grpc options print a matching bootstrap or fail with UsageError / ConfigError', async (t) => {
  await fuzz(
    t,
    'bootstrap options',
    10000,
    fc.asyncProperty(fc.boolean(), args, async (envoy, argv) => runOnce(envoy ? 'envoy' : 'grpc', argv)),
  );
});
