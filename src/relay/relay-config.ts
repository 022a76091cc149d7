/**
 * Every setting of the xDS relay, in one place: its environment variable, its command-line flag
 * (`vmss-mesh relay --flag`), its default and what it means. `loadRelayConfig(env, flags)` turns
 * them into a fully-filled `RelayConfig` or throws a ConfigError naming the setting. Flags win over
 * the environment. Consul settings use the app's own names and parser (src/shared/config.ts), so
 * the relay and the Functions app are pointed at Consul the same way.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { loadConfig, type ConsulConfig, type Env } from '../shared/config';
import { ConfigError } from '../shared/errors';
import { parseGatewayRoutes } from './inputs/gateway-routes-setting';
import { PUSH_OVERLAY_SETTINGS, parsePushOverlay } from './inputs/push-settings';
import { LIMIT_SETTINGS, parseLimits, type RelayLimits } from './limits/limit-settings';
import type { GatewayRoute } from './mesh-state';

interface SettingSpec {
  readonly default: string;
  /** Long flag of `vmss-mesh relay`; booleans are bare flags (`--only-passing` = true). */
  readonly flag: string;
  readonly boolean?: true;
  readonly doc: string;
}

/** Name, flag, default and meaning of every relay setting; docs/relay.md mirrors this table. */
export const RELAY_SETTINGS = {
  VMSS_MESH_RELAY_LISTEN: { default: '0.0.0.0:18000', flag: 'listen', doc: 'host:port of the gRPC server that serves xDS (ADS) and the push API; port 0 picks a free port.' },
  VMSS_MESH_RELAY_ADMIN_LISTEN: { default: '127.0.0.1:18001', flag: 'admin-listen', doc: 'host:port of the admin HTTP server (/healthz, /readyz, /metrics, /debug/*); keep it on loopback.' },
  VMSS_MESH_RELAY_TOKEN: { default: '', flag: 'token', doc: 'Bearer token every push must carry (the Functions app sends the same setting). Required unless push is disabled.' },
  VMSS_MESH_RELAY_PUSH_DISABLED: { default: 'false', flag: 'push-disabled', boolean: true, doc: 'Serve no push API; the relay follows Consul only.' },
  ...PUSH_OVERLAY_SETTINGS,
  CONSUL_HTTP_ADDR: { default: 'http://127.0.0.1:8500', flag: 'consul-addr', doc: 'Consul HTTP API address (`host:port` or URL; https:// enables TLS).' },
  CONSUL_HTTP_TOKEN: { default: '', flag: 'consul-token', doc: 'Consul ACL token (needs read on our nodes and services).' },
  CONSUL_DATACENTER: { default: '', flag: 'consul-datacenter', doc: "Consul datacenter; empty = the agent's own." },
  CONSUL_CACERT: { default: '', flag: 'consul-cacert', doc: "PEM file of the CA that signs Consul's certificate." },
  CONSUL_CLIENT_CERT: { default: '', flag: 'consul-client-cert', doc: 'PEM client certificate for mutual TLS with Consul.' },
  CONSUL_CLIENT_KEY: { default: '', flag: 'consul-client-key', doc: 'PEM private key for CONSUL_CLIENT_CERT.' },
  CONSUL_TLS_SERVER_NAME: { default: '', flag: 'consul-tls-server-name', doc: "Server name to verify in Consul's certificate." },
  CONSUL_HTTP_SSL_VERIFY: { default: 'true', flag: 'consul-ssl-verify', doc: 'Set to false to skip TLS verification (testing only).' },
  VMSS_MESH_RELAY_COALESCE_MS: { default: '50', flag: 'coalesce-ms', doc: 'Least time between two published versions: a lone change (pushes, Consul) is published at once; changes arriving within this window after a publish become one new version at its end.' },
  VMSS_MESH_RELAY_MIN_SEND_INTERVAL_MS: { default: '20', flag: 'min-send-interval-ms', doc: 'Least time between two snapshot versions sent to one stream; versions published sooner are coalesced (requests are still answered at once).' },
  VMSS_MESH_GATEWAY_PORT: { default: '8080', flag: 'gateway-port', doc: "Port of the Envoy gateway's HTTP listener." },
  VMSS_MESH_GATEWAY_ROUTES: { default: '', flag: 'gateway-routes', doc: 'Gateway routing rules `[HOST]/PATH=SERVICE,...` (per host the longest matching prefix wins); empty = `/` to the only service.' },
  VMSS_MESH_RELAY_ONLY_PASSING: { default: 'false', flag: 'only-passing', boolean: true, doc: 'Treat endpoints whose checks warn as unhealthy (default: warning counts as healthy).' },
  VMSS_MESH_RELAY_WATCH_WAIT_SECONDS: { default: '300', flag: 'watch-wait-seconds', doc: "Longest wait of one Consul blocking query (Consul's `wait`, at most 600)." },
  VMSS_MESH_RELAY_WATCH_MIN_INTERVAL_MS: { default: '200', flag: 'watch-min-interval-ms', doc: 'Least time between two Consul queries of one watch loop (blocking queries can return without a change).' },
  VMSS_MESH_RELAY_WATCH_MAX_BACKOFF_MS: { default: '30000', flag: 'watch-max-backoff-ms', doc: 'Longest pause after repeated Consul errors (backoff starts at 250 ms and doubles).' },
  VMSS_MESH_RELAY_SHUTDOWN_GRACE_MS: { default: '5000', flag: 'shutdown-grace-ms', doc: 'On shutdown, open xDS streams end at once (clients keep their last configuration); in-flight push calls get this long to finish.' },
  ...LIMIT_SETTINGS,
  VMSS_MESH_LOG_LEVEL: { default: 'info', flag: 'log-level', doc: 'trace, debug, info, warn or error.' },
} as const satisfies Record<string, SettingSpec>;

export type RelaySettingName = keyof typeof RELAY_SETTINGS;

export interface ListenAddress {
  /** IP literal or host name, without brackets. */
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
}

export type PushSettings = { readonly enabled: true; readonly token: string } | { readonly enabled: false };

export interface RelayConfig {
  /** gRPC server: ADS (SotW and Delta) and the push API. */
  readonly listen: ListenAddress;
  readonly admin: ListenAddress;
  readonly push: PushSettings;
  /** How pushes stand in for Consul until it confirms them (src/relay/inputs/push-settings.ts). */
  readonly pushOverlay: { readonly maxIndexAhead: number; readonly overlayTtlMs: number };
  readonly consul: ConsulConfig;
  readonly coalesceMs: number;
  readonly minSendIntervalMs: number;
  readonly gateway: { readonly port: number; readonly routes: readonly GatewayRoute[] };
  readonly onlyPassing: boolean;
  readonly watch: { readonly waitSeconds: number; readonly minIntervalMs: number; readonly maxBackoffMs: number };
  readonly shutdownGraceMs: number;
  /** What one client, connection or stream may cost (src/relay/limits/limit-settings.ts). */
  readonly limits: RelayLimits;
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

/** Flag values by setting name (the CLI fills this from its arguments); they win over `env`. */
export type RelayFlags = Readonly<Partial<Record<RelaySettingName, string>>>;

const CONSUL_SETTINGS = [
  'CONSUL_HTTP_ADDR',
  'CONSUL_HTTP_TOKEN',
  'CONSUL_DATACENTER',
  'CONSUL_CACERT',
  'CONSUL_CLIENT_CERT',
  'CONSUL_CLIENT_KEY',
  'CONSUL_TLS_SERVER_NAME',
  'CONSUL_HTTP_SSL_VERIFY',
  'VMSS_MESH_LOG_LEVEL',
] as const satisfies readonly RelaySettingName[];

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

export function loadRelayConfig(env: Env, flags: RelayFlags = {}): RelayConfig {
  const read = (name: RelaySettingName): string => {
    const raw = flags[name] ?? env[name];
    return raw === undefined || raw.trim() === '' ? RELAY_SETTINGS[name].default : raw.trim();
  };
  const parse = <T>(name: RelaySettingName, schema: z.ZodType<T>): T => {
    const raw = read(name);
    const result = schema.safeParse(raw);
    if (!result.success) throw new ConfigError(`invalid value ${JSON.stringify(raw)}: ${result.error.issues.map((i) => i.message).join('; ')}`, name);
    return result.data;
  };

  // The app's parser on the Consul settings alone: one parser for CONSUL_*, and nothing else of
  // the app's settings (ARM, scope, …) can fail the relay's start.
  const shared = loadConfig(Object.fromEntries(CONSUL_SETTINGS.map((name) => [name, read(name)])), { requireScope: false });

  const pushDisabled = parse('VMSS_MESH_RELAY_PUSH_DISABLED', bool);
  const token = read('VMSS_MESH_RELAY_TOKEN');
  if (!pushDisabled && token === '') {
    throw new ConfigError('a push token is required (or disable the push API with VMSS_MESH_RELAY_PUSH_DISABLED=true / --push-disabled)', 'VMSS_MESH_RELAY_TOKEN');
  }
  const listen = parseListenAddress(read('VMSS_MESH_RELAY_LISTEN'), 'VMSS_MESH_RELAY_LISTEN');
  const admin = parseListenAddress(read('VMSS_MESH_RELAY_ADMIN_LISTEN'), 'VMSS_MESH_RELAY_ADMIN_LISTEN');
  if (listen.port !== 0 && listen.port === admin.port && sameHost(listen.host, admin.host)) {
    throw new ConfigError(`the admin server cannot share port ${admin.port} with the gRPC server`, 'VMSS_MESH_RELAY_ADMIN_LISTEN');
  }
  return {
    listen,
    admin,
    push: pushDisabled ? { enabled: false } : { enabled: true, token },
    pushOverlay: parsePushOverlay(parse),
    consul: shared.consul,
    coalesceMs: parse('VMSS_MESH_RELAY_COALESCE_MS', intIn(0, 5_000)),
    minSendIntervalMs: parse('VMSS_MESH_RELAY_MIN_SEND_INTERVAL_MS', intIn(0, 10_000)),
    gateway: {
      port: parse('VMSS_MESH_GATEWAY_PORT', intIn(1, 65_535)),
      routes: parseGatewayRoutes(read('VMSS_MESH_GATEWAY_ROUTES')),
    },
    onlyPassing: parse('VMSS_MESH_RELAY_ONLY_PASSING', bool),
    watch: {
      waitSeconds: parse('VMSS_MESH_RELAY_WATCH_WAIT_SECONDS', intIn(1, 600)),
      minIntervalMs: parse('VMSS_MESH_RELAY_WATCH_MIN_INTERVAL_MS', intIn(0, 60_000)),
      maxBackoffMs: parse('VMSS_MESH_RELAY_WATCH_MAX_BACKOFF_MS', intIn(250, 600_000)),
    },
    shutdownGraceMs: parse('VMSS_MESH_RELAY_SHUTDOWN_GRACE_MS', intIn(0, 600_000)),
    limits: parseLimits(parse),
    logLevel: shared.logLevel,
  };
}

/** `host:port` or `[ipv6]:port`; the host is an IP literal or a DNS name. */
export function parseListenAddress(raw: string, setting: string): ListenAddress {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(raw) ?? /^([^\s:[\]]+):(\d{1,5})$/.exec(raw);
  const host = m?.[1];
  const port = Number(m?.[2]);
  if (!m || !host || !(port >= 0 && port <= 65_535)) throw new ConfigError(`expected host:port or [ipv6]:port with a port from 0 to 65535, got ${JSON.stringify(raw)}`, setting);
  if (raw.startsWith('[') && isIP(host) !== 6) throw new ConfigError(`${JSON.stringify(host)} is not an IPv6 address`, setting);
  if (!isIP(host) && !/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    throw new ConfigError(`${JSON.stringify(host)} is not an IP address or host name`, setting);
  }
  return { host, port };
}

/** `host:port` as gRPC and URLs want it (IPv6 in brackets). */
export function formatHostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function sameHost(a: string, b: string): boolean {
  const any = (h: string) => h === '0.0.0.0' || h === '::';
  return a === b || any(a) || any(b);
}
