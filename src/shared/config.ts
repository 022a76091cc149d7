/**
 * Every setting the app reads, in one place (environment variables are read nowhere else).
 * `loadConfig(env)` turns raw strings into a fully-filled, validated `AppConfig` or throws a
 * `ConfigError` naming the setting. The README's settings table and local.settings.sample.json
 * document the same names; `SETTINGS` is the list tests check them against.
 */
import { z } from 'zod';
import { ConfigError } from './errors';

export interface ScopeConfig {
  /** Lower-case subscription IDs; empty means "any" (only allowed for offline tools). */
  readonly subscriptions: readonly string[];
  /** Lower-case resource group names; empty means every resource group of the subscriptions. */
  readonly resourceGroups: readonly string[];
}

export interface ConsulConfig {
  /** Base URL, e.g. `http://127.0.0.1:8500`. */
  readonly url: URL;
  readonly token?: string;
  readonly datacenter?: string;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  readonly tlsServerName?: string;
  readonly insecureSkipVerify: boolean;
}

export interface RelayTarget {
  /** `host:port` of a relay's push API (gRPC). */
  readonly address: string;
}

export interface AppConfig {
  readonly scope: ScopeConfig;
  readonly arm: {
    readonly endpoint: string;
    /** Static bearer token (ARM emulator, local testing). Unset → DefaultAzureCredential. */
    readonly staticToken?: string;
    /** Managed identity / workload identity client id for DefaultAzureCredential. */
    readonly clientId?: string;
    /** Extra CA (PEM file path) to trust for the ARM endpoint. */
    readonly caFile?: string;
  };
  readonly consul: ConsulConfig;
  readonly kvPrefix: string;
  readonly txnBatchSize: number;
  readonly maxRemovalShare: number;
  readonly tombstoneTtlMs: number;
  readonly reconcileSchedule: string;
  /** How long one Event Grid event / webhook call waits for its reconcile before it is acknowledged as queued. */
  readonly hintDeadlineMs: number;
  readonly relay: {
    readonly targets: readonly RelayTarget[];
    readonly token?: string;
    readonly tls: boolean;
    readonly timeoutMs: number;
  };
  readonly logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
}

/** Name, default and meaning of every setting; README and local.settings.sample.json mirror this. */
export const SETTINGS = {
  VMSS_MESH_SUBSCRIPTIONS: { default: '', doc: 'Comma-separated subscription IDs whose scale sets may join the mesh (required by the app).' },
  VMSS_MESH_RESOURCE_GROUPS: { default: '', doc: 'Comma-separated resource groups to limit the scope to; empty = all resource groups.' },
  VMSS_MESH_ARM_ENDPOINT: { default: 'https://management.azure.com', doc: 'Azure Resource Manager endpoint (the sandbox points it at the ARM emulator).' },
  VMSS_MESH_ARM_TOKEN: { default: '', doc: 'Static ARM bearer token for the emulator; empty = DefaultAzureCredential (managed identity in Azure).' },
  VMSS_MESH_ARM_CA_FILE: { default: '', doc: 'Extra PEM CA to trust for the ARM endpoint (the ARM emulator\'s CA); empty = system CAs.' },
  AZURE_CLIENT_ID: { default: '', doc: 'Client ID of a user-assigned managed identity, read by DefaultAzureCredential.' },
  CONSUL_HTTP_ADDR: { default: 'http://127.0.0.1:8500', doc: 'Consul HTTP API address (`host:port` or URL; https:// enables TLS).' },
  CONSUL_HTTP_TOKEN: { default: '', doc: 'Consul ACL token (sent as X-Consul-Token).' },
  CONSUL_DATACENTER: { default: '', doc: 'Consul datacenter; empty = the agent\'s own.' },
  CONSUL_CACERT: { default: '', doc: 'PEM file of the CA that signs Consul\'s certificate.' },
  CONSUL_CLIENT_CERT: { default: '', doc: 'PEM client certificate for mutual TLS with Consul.' },
  CONSUL_CLIENT_KEY: { default: '', doc: 'PEM private key for CONSUL_CLIENT_CERT.' },
  CONSUL_TLS_SERVER_NAME: { default: '', doc: 'Server name to verify in Consul\'s certificate.' },
  CONSUL_HTTP_SSL_VERIFY: { default: 'true', doc: 'Set to false to skip TLS verification (testing only).' },
  VMSS_MESH_KV_PREFIX: { default: 'vmss-mesh', doc: 'Consul KV prefix for per-scale-set markers and tombstones.' },
  VMSS_MESH_TXN_BATCH_SIZE: { default: '64', doc: 'Operations per Consul transaction (64 for Consul < 1.x with the old limit, up to 128).' },
  VMSS_MESH_MAX_REMOVAL_SHARE: { default: '0.5', doc: 'Largest share of a service\'s instances removed in one run when ARM could not answer whether they are gone (each removal is first asked about with a GET).' },
  VMSS_MESH_TOMBSTONE_TTL_SECONDS: { default: '600', doc: 'How long a removed instance is remembered so a stale listing cannot bring it back.' },
  VMSS_MESH_RECONCILE_SCHEDULE: { default: '0 */5 * * * *', doc: 'NCRONTAB (6 fields) of the full reconcile timer.' },
  VMSS_MESH_DELIVERY_DEADLINE_SECONDS: { default: '20', doc: 'Longest an Event Grid event or autoscale webhook call waits for its reconcile (1–25 s, under Event Grid\'s 30 s timeout); after it the reconcile, already queued, is acknowledged and finishes on its own.' },
  VMSS_MESH_RELAY_ADDRESSES: { default: '', doc: 'Comma-separated `host:port` push endpoints of the xDS relays; empty = no push (relays watch Consul).' },
  VMSS_MESH_RELAY_TOKEN: { default: '', doc: 'Shared token the relays require on pushes.' },
  VMSS_MESH_RELAY_TLS: { default: 'false', doc: 'Use TLS (system CAs) for pushes to the relays.' },
  VMSS_MESH_RELAY_TIMEOUT_MS: { default: '2000', doc: 'Deadline of one push call.' },
  VMSS_MESH_LOG_LEVEL: { default: 'info', doc: 'trace, debug, info, warn or error.' },
} as const satisfies Record<string, { default: string; doc: string }>;

export type SettingName = keyof typeof SETTINGS;
export type Env = Readonly<Record<string, string | undefined>>;

const csv = (value: string): string[] =>
  value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

function read(env: Env, name: SettingName): string {
  const raw = env[name];
  return raw === undefined || raw.trim() === '' ? SETTINGS[name].default : raw.trim();
}

function parseSetting<T>(env: Env, name: SettingName, schema: z.ZodType<T>): T {
  const raw = read(env, name);
  const result = schema.safeParse(raw);
  if (!result.success) {
    const why = result.error.issues.map((i) => i.message).join('; ');
    throw new ConfigError(`invalid value ${JSON.stringify(raw)}: ${why}`, name);
  }
  return result.data;
}

/** Consul accepts `host:port` as well as a URL in CONSUL_HTTP_ADDR; we do too. */
export function parseConsulAddress(raw: string): URL {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new ConfigError(`not a host:port or URL: ${JSON.stringify(raw)}`, 'CONSUL_HTTP_ADDR');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`scheme must be http or https, got ${url.protocol}`, 'CONSUL_HTTP_ADDR');
  }
  return url;
}

const optional = (value: string): string | undefined => (value === '' ? undefined : value);

/**
 * Reads the app's settings. `requireScope` is true for the Functions app (it must know which
 * subscriptions to reconcile) and false for offline tools such as `events explain`.
 */
export function loadConfig(env: Env, options: { requireScope?: boolean } = {}): AppConfig {
  const subscriptions = csv(read(env, 'VMSS_MESH_SUBSCRIPTIONS'));
  if (options.requireScope !== false && subscriptions.length === 0) {
    throw new ConfigError('at least one subscription ID is required', 'VMSS_MESH_SUBSCRIPTIONS');
  }
  const armEndpoint = parseSetting(env, 'VMSS_MESH_ARM_ENDPOINT', z.url({ protocol: /^https$/ }).transform((u) => u.replace(/\/+$/, '')));
  const relayAddresses = csv(read(env, 'VMSS_MESH_RELAY_ADDRESSES'));
  for (const address of relayAddresses) {
    if (!/^[^\s:]+:\d{1,5}$/.test(address) && !/^\[[0-9a-f:]+\]:\d{1,5}$/.test(address)) {
      throw new ConfigError(`expected host:port, got ${JSON.stringify(address)}`, 'VMSS_MESH_RELAY_ADDRESSES');
    }
  }
  return {
    scope: { subscriptions, resourceGroups: csv(read(env, 'VMSS_MESH_RESOURCE_GROUPS')) },
    arm: {
      endpoint: armEndpoint,
      staticToken: optional(read(env, 'VMSS_MESH_ARM_TOKEN')),
      clientId: optional(read(env, 'AZURE_CLIENT_ID')),
      caFile: optional(read(env, 'VMSS_MESH_ARM_CA_FILE')),
    },
    consul: {
      url: parseConsulAddress(read(env, 'CONSUL_HTTP_ADDR')),
      token: optional(read(env, 'CONSUL_HTTP_TOKEN')),
      datacenter: optional(read(env, 'CONSUL_DATACENTER')),
      caFile: optional(read(env, 'CONSUL_CACERT')),
      certFile: optional(read(env, 'CONSUL_CLIENT_CERT')),
      keyFile: optional(read(env, 'CONSUL_CLIENT_KEY')),
      tlsServerName: optional(read(env, 'CONSUL_TLS_SERVER_NAME')),
      insecureSkipVerify: !parseSetting(env, 'CONSUL_HTTP_SSL_VERIFY', bool),
    },
    kvPrefix: parseSetting(env, 'VMSS_MESH_KV_PREFIX', z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, 'a KV path without leading or trailing slash')),
    txnBatchSize: parseSetting(env, 'VMSS_MESH_TXN_BATCH_SIZE', intIn(8, 128)),
    maxRemovalShare: parseSetting(env, 'VMSS_MESH_MAX_REMOVAL_SHARE', z.coerce.number().gt(0).max(1)),
    tombstoneTtlMs: parseSetting(env, 'VMSS_MESH_TOMBSTONE_TTL_SECONDS', intIn(0, 86_400)) * 1000,
    reconcileSchedule: parseSetting(env, 'VMSS_MESH_RECONCILE_SCHEDULE', z.string().refine((s) => s.split(/\s+/).length === 6, 'NCRONTAB needs 6 fields (second minute hour day month weekday)')),
    hintDeadlineMs: parseSetting(env, 'VMSS_MESH_DELIVERY_DEADLINE_SECONDS', intIn(1, 25)) * 1000,
    relay: {
      targets: relayAddresses.map((address) => ({ address })),
      token: optional(read(env, 'VMSS_MESH_RELAY_TOKEN')),
      tls: parseSetting(env, 'VMSS_MESH_RELAY_TLS', bool),
      timeoutMs: parseSetting(env, 'VMSS_MESH_RELAY_TIMEOUT_MS', intIn(50, 60_000)),
    },
    logLevel: parseSetting(env, 'VMSS_MESH_LOG_LEVEL', z.enum(['trace', 'debug', 'info', 'warn', 'error'])),
  };
}
