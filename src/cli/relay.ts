/**
 * `vmss-mesh relay [options]`: runs the xDS relay until SIGINT or SIGTERM, then shuts down
 * gracefully (clients keep their configuration). Every option mirrors a setting of
 * src/relay/relay-config.ts; flags win over the environment. Logs (JSON, pino) go to stderr.
 */
import pino from 'pino';
import { loadRelayConfig, RELAY_SETTINGS, type RelayFlags, type RelaySettingName } from '../relay/relay-config';
import { startRelay } from '../relay/relay';
import { EXIT, parseArgsOrUsage, type CliIo } from './command';

type OptionSpec = { type: 'string' | 'boolean' };

const SETTING_BY_FLAG = new Map<string, RelaySettingName>(Object.entries(RELAY_SETTINGS).map(([name, spec]) => [spec.flag, name as RelaySettingName]));

function usage(): string {
  const rows = Object.entries(RELAY_SETTINGS).map(([name, spec]) => {
    const flag = `--${spec.flag}${'boolean' in spec ? '' : ' VALUE'}`;
    const fallback = spec.default === '' ? '' : ` Default: ${spec.default}.`;
    return `  ${flag.padEnd(30)} ${spec.doc}${fallback}\n  ${''.padEnd(30)} (${name})`;
  });
  return [
    'Usage: vmss-mesh relay [options]',
    '',
    'Runs the xDS relay: ADS (SotW and Delta) and the push API on one gRPC port, fed by pushes and',
    'a Consul watch; admin HTTP (/healthz, /readyz, /metrics, /debug/config_dump, /debug/clients).',
    'Stops gracefully on SIGINT or SIGTERM. Every option can also be set by its environment variable.',
    '',
    'Options:',
    ...rows,
    `  ${'-h, --help'.padEnd(30)} Show this help.`,
    '',
    'Exit codes: 0 stopped by a signal, 1 failed to start, 2 usage or configuration error.',
    '',
  ].join('\n');
}

/** Flags → setting values (booleans become "true"). */
export function relayFlags(args: string[]): { help: boolean; flags: RelayFlags } {
  const options: Record<string, OptionSpec> = { help: { type: 'boolean' } };
  for (const spec of Object.values(RELAY_SETTINGS)) options[spec.flag] = { type: 'boolean' in spec ? 'boolean' : 'string' };
  const values: Record<string, string | boolean | undefined> = parseArgsOrUsage({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }).values;
  const flags: Partial<Record<RelaySettingName, string>> = {};
  for (const [flag, value] of Object.entries(values)) {
    const name = SETTING_BY_FLAG.get(flag);
    if (name && value !== undefined) flags[name] = typeof value === 'boolean' ? String(value) : value;
  }
  return { help: values.help === true, flags };
}

export async function run(args: string[], io: CliIo): Promise<number> {
  const { help, flags } = relayFlags(args);
  if (help) {
    io.stdout.write(usage());
    return EXIT.ok;
  }
  const config = loadRelayConfig(io.env, flags);
  const log = pino({ level: config.logLevel, name: 'vmss-mesh-relay' }, io.stderr);
  const relay = await startRelay(config, { log });
  io.stdout.write(`vmss-mesh relay: xDS and push API on ${relay.xdsAddress}, admin on ${relay.adminUrl}\n`);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    const stop = (s: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(s);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  log.info({ signal }, 'stopping');
  await relay.close();
  return EXIT.ok;
}
