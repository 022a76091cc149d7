/**
 * The relay's resource limits: what one client, one connection or one stream may cost the gRPC
 * server (xDS and push API share it). Their settings join RELAY_SETTINGS (relay-config.ts), so
 * they have an environment variable, a flag and a row in docs/relay.md like every other setting.
 * A limit that is hit ends the call with RESOURCE_EXHAUSTED and a message naming the setting, and
 * counts in `vmss_mesh_relay_limit_hits_total{limit}`.
 */
import { z } from 'zod';

const MiB = 1024 * 1024;
/** grpc-js and HTTP/2 use signed 32-bit sizes and counts. */
const INT32 = 2 ** 31 - 1;

const intIn = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every limit once: its field in RelayLimits, its setting, flag, default, meaning and valid range. */
const LIMITS = {
  maxReceiveMessageBytes: {
    setting: 'VMSS_MESH_RELAY_MAX_RECEIVE_MESSAGE_BYTES',
    default: String(4 * MiB),
    flag: 'max-receive-message-bytes',
    doc: 'Largest message the gRPC server accepts (xDS requests, pushes); a larger one ends its call with RESOURCE_EXHAUSTED before it is read.',
    schema: intIn(1024, INT32),
  },
  maxNodeBytes: {
    setting: 'VMSS_MESH_RELAY_MAX_NODE_BYTES',
    default: '16384',
    flag: 'max-node-bytes',
    doc: 'Largest node an ADS stream keeps: only node.id, node.cluster, node.user_agent_name and metadata.vmss_mesh_profile are kept (the rest is dropped when decoded); a stream whose kept fields are larger is refused with RESOURCE_EXHAUSTED.',
    schema: intIn(256, 64 * MiB),
  },
  maxSubscriptionBytes: {
    setting: 'VMSS_MESH_RELAY_MAX_SUBSCRIPTION_BYTES',
    default: String(MiB),
    flag: 'max-subscription-bytes',
    doc: 'Most bytes of resource names (and Delta initial versions) one ADS stream may hold subscribed; a stream that asks for more ends with RESOURCE_EXHAUSTED.',
    schema: intIn(1024, 1024 * MiB),
  },
  maxStreamsPerConnection: {
    setting: 'VMSS_MESH_RELAY_MAX_STREAMS_PER_CONNECTION',
    default: '100',
    flag: 'max-streams-per-connection',
    doc: 'Concurrent calls on one HTTP/2 connection (grpc.max_concurrent_streams, announced to clients: they queue further calls).',
    schema: intIn(1, INT32),
  },
  maxStreams: {
    setting: 'VMSS_MESH_RELAY_MAX_STREAMS',
    default: '10000',
    flag: 'max-streams',
    doc: 'Concurrent ADS streams in total; more are refused with RESOURCE_EXHAUSTED (push calls do not count).',
    schema: intIn(1, INT32),
  },
  maxConnectionsPerPeer: {
    setting: 'VMSS_MESH_RELAY_MAX_CONNECTIONS_PER_PEER',
    default: '64',
    flag: 'max-connections-per-peer',
    doc: 'Concurrent connections from one client IP address; calls on a connection beyond it are refused with RESOURCE_EXHAUSTED and the connection is closed.',
    schema: intIn(1, INT32),
  },
  keepaliveTimeMs: {
    setting: 'VMSS_MESH_RELAY_KEEPALIVE_TIME_MS',
    default: '60000',
    flag: 'keepalive-time-ms',
    doc: 'The server pings each connection this often (grpc.keepalive_time_ms) to find clients that are gone.',
    schema: intIn(1000, INT32),
  },
  keepaliveTimeoutMs: {
    setting: 'VMSS_MESH_RELAY_KEEPALIVE_TIMEOUT_MS',
    default: '20000',
    flag: 'keepalive-timeout-ms',
    doc: 'A connection whose ping is not answered within this time is closed (grpc.keepalive_timeout_ms).',
    schema: intIn(100, INT32),
  },
  maxConnectionIdleMs: {
    setting: 'VMSS_MESH_RELAY_MAX_CONNECTION_IDLE_MS',
    default: '300000',
    flag: 'max-connection-idle-ms',
    doc: 'A connection without any open call for this long is closed with GOAWAY (grpc.max_connection_idle_ms).',
    schema: intIn(100, INT32),
  },
} as const;

type LimitKey = keyof typeof LIMITS;

export type RelayLimits = { readonly [K in LimitKey]: number };

export type LimitSettingName = (typeof LIMITS)[LimitKey]['setting'];

/** The settings as RELAY_SETTINGS lists them: by name, with flag, default and meaning. */
export const LIMIT_SETTINGS = Object.fromEntries(
  Object.values(LIMITS).map((limit) => [limit.setting, { default: limit.default, flag: limit.flag, doc: limit.doc }]),
) as { readonly [K in LimitKey as (typeof LIMITS)[K]['setting']]: { readonly default: (typeof LIMITS)[K]['default']; readonly flag: (typeof LIMITS)[K]['flag']; readonly doc: string } };

/** The setting behind each limit, for messages that name it. */
export const LIMIT_SETTING = Object.fromEntries(Object.entries(LIMITS).map(([key, limit]) => [key, limit.setting])) as {
  readonly [K in LimitKey]: (typeof LIMITS)[K]['setting'];
};

/** Fills RelayLimits with `parse` (relay-config's: reads a setting, validates it, names it in errors). */
export function parseLimits(parse: <T>(name: LimitSettingName, schema: z.ZodType<T>) => T): RelayLimits {
  return Object.fromEntries(Object.entries(LIMITS).map(([key, limit]) => [key, parse(limit.setting, limit.schema)])) as RelayLimits;
}

/** Defaults of every limit (tests and embedders that do not go through loadRelayConfig). */
export const DEFAULT_LIMITS: RelayLimits = parseLimits((name, schema) => schema.parse(LIMIT_SETTINGS[name].default));

/** Label values of `limit_hits_total`: which limit a refused or ended call hit. */
export type LimitName = 'max_node' | 'max_subscription' | 'max_streams' | 'connections_per_peer';
