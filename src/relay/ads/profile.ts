/**
 * Which set of resources (profile) a client gets, decided once per stream from the node of its
 * first request. The first rule that matches wins:
 *
 *   1. `node.metadata.vmss_mesh_profile` = "envoy-gateway" or "proxyless-grpc": that profile.
 *      Any other value is a configuration mistake and the stream is refused (INVALID_ARGUMENT),
 *      rather than silently serving the wrong resources. `vmss-mesh bootstrap` writes this field.
 *   2. `node.user_agent_name` = "envoy" (what every Envoy build sends): envoy-gateway.
 *   3. `node.user_agent_name` starting with "gRPC" (grpc-js-xds sends "gRPC Node Pure JS",
 *      grpc-go "gRPC Go", grpc-java "gRPC Java"): proxyless-grpc.
 *   4. `node.cluster` containing "gateway" (any case): envoy-gateway.
 *   5. Otherwise proxyless-grpc.
 */
import { InvalidInputError } from '../../shared/errors';
import type { ClientProfile } from '../xds/client-profile';
import type { NodeIdentity } from './ads-requests';

export const PROFILE_METADATA_KEY = 'vmss_mesh_profile';

const PROFILES: readonly ClientProfile[] = ['envoy-gateway', 'proxyless-grpc'];

function isProfile(value: unknown): value is ClientProfile {
  return typeof value === 'string' && (PROFILES as readonly string[]).includes(value);
}

/** The profile for a node; throws InvalidInputError for an unknown `vmss_mesh_profile`. */
export function profileOfNode(node: NodeIdentity): ClientProfile {
  const explicit = node.metadata[PROFILE_METADATA_KEY];
  if (explicit !== undefined) {
    if (isProfile(explicit)) return explicit;
    throw new InvalidInputError(
      `expected one of ${PROFILES.join(', ')}, got ${JSON.stringify(explicit)}`,
      `node.metadata.${PROFILE_METADATA_KEY}`,
    );
  }
  const agent = node.userAgentName.trim();
  if (agent.toLowerCase() === 'envoy') return 'envoy-gateway';
  if (/^grpc\b/i.test(agent)) return 'proxyless-grpc';
  if (node.cluster.toLowerCase().includes('gateway')) return 'envoy-gateway';
  return 'proxyless-grpc';
}
