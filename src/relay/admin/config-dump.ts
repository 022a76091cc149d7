/**
 * `/debug/config_dump`: the resources the relay currently serves, per client profile, decoded from
 * the very bytes the streams send (snapshot-json.ts), so what you read is what clients get.
 */
import { snapshotToJson, type SnapshotJson } from '../snapshot/snapshot-json';
import { CLIENT_PROFILES } from '../snapshot/snapshot-store';
import type { SnapshotSource } from '../snapshot/snapshot-types';
import type { ClientProfile } from '../xds/client-profile';

export interface ConfigDump {
  /** False until the first complete state from Consul is loaded (clients are not answered before). */
  readonly ready: boolean;
  readonly profiles: Readonly<Record<ClientProfile, SnapshotJson>>;
}

export function configDump(source: Pick<SnapshotSource, 'current' | 'ready'>): ConfigDump {
  const profiles = {} as Record<ClientProfile, SnapshotJson>;
  for (const profile of CLIENT_PROFILES) profiles[profile] = snapshotToJson(source.current(profile));
  return { ready: source.ready(), profiles };
}
